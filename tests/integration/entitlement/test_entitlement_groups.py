"""Families: seat limit under concurrent claims, invites, and members following the owner's subscription."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from tests.helpers import eventually
from tests.integration.entitlement.conftest import Replica, World, subscription, violated_fields

GROUP = "sub-family"  # a group is identified by the owner's subscription id
OWNER = "owner-1"


async def family(world: World, replica: Replica) -> None:
    await world.publish_lifecycle("subscription.activated", subscription(GROUP, OWNER, plan_id="family"))

    async def group_exists() -> bool:
        try:
            listed = await replica.stub.ListGroupMembers(
                pb.ListGroupMembersRequest(group_id=GROUP), metadata=world.metadata()
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            return False
        return listed.seat_limit == 4

    await eventually(group_exists)


async def add(
    world: World, replica: Replica, customer: str, request_id: str | None = None
) -> pb.AddGroupMemberResponse:
    request = pb.AddGroupMemberRequest(request_id=request_id or f"add-{customer}", group_id=GROUP, customer_id=customer)
    response: pb.AddGroupMemberResponse = await replica.stub.AddGroupMember(request, metadata=world.metadata())
    return response


async def test_concurrent_claims_never_exceed_the_seat_limit(world: World, replica: Replica) -> None:
    await family(world, replica)

    outcomes = await asyncio.gather(*(add(world, replica, f"member-{i}") for i in range(10)), return_exceptions=True)

    joined = [o for o in outcomes if isinstance(o, pb.AddGroupMemberResponse)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(joined) == 3
    assert {e.code() for e in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    listed = await replica.stub.ListGroupMembers(pb.ListGroupMembersRequest(group_id=GROUP), metadata=world.metadata())
    assert (listed.seats_used, listed.seat_limit, listed.owner_customer_id) == (4, 4, OWNER)
    members = sorted(m.customer_id for m in listed.members)
    assert members == sorted(r.member.customer_id for r in joined)
    for member in members:
        answer = await world.check(replica, member, "hd_streaming")
        assert answer.allowed
        assert [(s.source, s.source_ref) for s in answer.sources] == [(pb.GRANT_SOURCE_GROUP, GROUP)]
        assert not (await world.check(replica, member, "family_seats")).allowed


async def test_members_lose_access_with_the_owner_and_get_it_back(world: World, replica: Replica) -> None:
    await family(world, replica)
    await add(world, replica, "kid")
    assert (await world.check(replica, "kid", "hd_streaming")).allowed

    await world.publish_lifecycle(
        "subscription.on_hold",
        subscription(GROUP, OWNER, plan_id="family", state=subscription_state_pb2.SUBSCRIPTION_STATE_ON_HOLD),
    )

    async def kid_reason(reason: int) -> bool:
        return (await world.check(replica, "kid", "hd_streaming")).reason == reason

    await eventually(lambda: kid_reason(pb.ACCESS_REASON_ON_HOLD))
    assert (await world.check(replica, OWNER, "hd_streaming")).reason == pb.ACCESS_REASON_ON_HOLD

    await world.publish_lifecycle("subscription.recovered", subscription(GROUP, OWNER, plan_id="family"))
    await eventually(lambda: kid_reason(pb.ACCESS_REASON_UNSPECIFIED))


async def test_invite_codes_are_single_use_and_removal_takes_access_away(world: World, replica: Replica) -> None:
    await family(world, replica)
    invite = (
        await replica.stub.CreateGroupInvite(
            pb.CreateGroupInviteRequest(request_id="invite-1", group_id=GROUP), metadata=world.metadata()
        )
    ).invite

    accepted = await replica.stub.AcceptGroupInvite(
        pb.AcceptGroupInviteRequest(request_id="accept-1", code=invite.code, customer_id="cousin"),
        metadata=world.metadata(),
    )
    assert (accepted.group_id, accepted.member.invite_code) == (GROUP, invite.code)
    assert (await world.check(replica, "cousin", "hd_streaming")).allowed
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await replica.stub.AcceptGroupInvite(
            pb.AcceptGroupInviteRequest(request_id="accept-2", code=invite.code, customer_id="stranger"),
            metadata=world.metadata(),
        )
    assert reused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    await replica.stub.RemoveGroupMember(
        pb.RemoveGroupMemberRequest(request_id="remove-1", group_id=GROUP, customer_id="cousin"),
        metadata=world.metadata(),
    )

    assert (await world.check(replica, "cousin", "hd_streaming")).reason == pb.ACCESS_REASON_NO_GRANT


async def test_adding_a_member_is_idempotent_by_request_id(world: World, replica: Replica) -> None:
    await family(world, replica)

    first = await add(world, replica, "niece", request_id="same")
    again = await add(world, replica, "niece", request_id="same")

    assert first == again
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await add(world, replica, "nephew", request_id="same")
    assert reused.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await replica.stub.AddGroupMember(
            pb.AddGroupMemberRequest(request_id="no-customer", group_id=GROUP), metadata=world.metadata()
        )
    assert violated_fields(missing.value) == ["customer_id"]


async def test_pending_invites_hold_seats_until_revoked_and_owners_find_their_groups(
    world: World, replica: Replica
) -> None:
    await family(world, replica)  # 4 seats: the owner and three others
    metadata = world.metadata()
    codes = [
        (
            await replica.stub.CreateGroupInvite(
                pb.CreateGroupInviteRequest(request_id=f"hold-{n}", group_id=GROUP), metadata=metadata
            )
        ).invite.code
        for n in range(3)
    ]
    with pytest.raises(grpc.aio.AioRpcError) as full:
        await replica.stub.CreateGroupInvite(
            pb.CreateGroupInviteRequest(request_id="hold-3", group_id=GROUP), metadata=metadata
        )
    assert full.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    owned = await replica.stub.ListGroups(pb.ListGroupsRequest(owner_customer_id=OWNER), metadata=metadata)
    assert [(g.group_id, g.seat_limit, g.seats_used, g.pending_invite_count) for g in owned.groups] == [
        (GROUP, 4, 1, 3)
    ]

    revoked = await replica.stub.RevokeGroupInvite(
        pb.RevokeGroupInviteRequest(request_id="revoke-0", group_id=GROUP, code=codes[0]), metadata=metadata
    )
    assert revoked.invite.state == pb.GROUP_INVITE_STATE_PENDING
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await replica.stub.AcceptGroupInvite(
            pb.AcceptGroupInviteRequest(request_id="accept-revoked", code=codes[0], customer_id="kid"),
            metadata=metadata,
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    await replica.stub.AcceptGroupInvite(
        pb.AcceptGroupInviteRequest(request_id="accept-kept", code=codes[1], customer_id="kid"), metadata=metadata
    )
    invites = await replica.stub.ListGroupInvites(pb.ListGroupInvitesRequest(group_id=GROUP), metadata=metadata)
    assert sorted((i.code, i.state, i.accepted_customer_id) for i in invites.invites) == sorted(
        [(codes[1], pb.GROUP_INVITE_STATE_ACCEPTED, "kid"), (codes[2], pb.GROUP_INVITE_STATE_PENDING, "")]
    )
    listed = await replica.stub.ListGroupMembers(pb.ListGroupMembersRequest(group_id=GROUP), metadata=metadata)
    assert {(a.feature_key, a.allowed) for a in listed.members[0].access} == {("hd_streaming", True)}
