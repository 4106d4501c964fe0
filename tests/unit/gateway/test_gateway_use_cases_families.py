"""Families through the gateway area with fakes: roles, customer binding, seats, lists and errors."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import families_pb2 as fam
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import CustomerScopeViolation, FamilyNotFound, RolePermissionMissing
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.families import Families
from azotte_platform import context, convert
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound, remote
from tests.unit.gateway.fakes import NOW, TENANT, FakeLifecycle, caller

SEATS = 3
GROUP = "sub-fam"


class FakeGroups:
    """Entitlement's group RPCs for one family of `owner` (3 seats, the owner's included)."""

    def __init__(self) -> None:
        self.members: dict[str, ent.GroupMember] = {}
        self.invites: dict[str, ent.GroupInvite] = {}
        self.on_hold = False

    def _pending(self) -> int:
        return sum(1 for i in self.invites.values() if i.state == ent.GROUP_INVITE_STATE_PENDING)

    def _group(self) -> ent.Group:
        return ent.Group(
            group_id=GROUP,
            owner_customer_id="owner",
            subscription_id=GROUP,
            seat_limit=0 if self.on_hold else SEATS,
            seats_used=1 + len(self.members),
            pending_invite_count=self._pending(),
        )

    async def ListGroups(self, request: ent.ListGroupsRequest) -> ent.ListGroupsResponse:
        mine = context.require_tenant() == TENANT.id and request.owner_customer_id == "owner"
        return ent.ListGroupsResponse(groups=[self._group()] if mine else [])

    async def ListGroupMembers(self, request: ent.ListGroupMembersRequest) -> ent.ListGroupMembersResponse:
        reason = ent.ACCESS_REASON_ON_HOLD if self.on_hold else ent.ACCESS_REASON_UNSPECIFIED
        access = [ent.FeatureAccess(feature_key="hd", allowed=not self.on_hold, reason=reason)]
        members = [
            ent.GroupMember(customer_id=m.customer_id, join_time=m.join_time, access=access)
            for m in self.members.values()
        ]
        return ent.ListGroupMembersResponse(members=members, owner_customer_id="owner", seat_limit=SEATS)

    async def CreateGroupInvite(self, request: ent.CreateGroupInviteRequest) -> ent.CreateGroupInviteResponse:
        if 1 + len(self.members) + self._pending() >= SEATS:
            raise remote(FailedPrecondition, "all seats are taken", "SEAT_LIMIT_REACHED", {}, [])
        code = f"code-{len(self.invites) + 1}"
        now = convert.timestamp(NOW + timedelta(minutes=len(self.invites)))
        invite = ent.GroupInvite(
            code=code,
            group_id=request.group_id,
            create_time=now,
            expire_time=request.expire_time if request.HasField("expire_time") else now,
            state=ent.GROUP_INVITE_STATE_PENDING,
        )
        self.invites[code] = invite
        return ent.CreateGroupInviteResponse(invite=invite)

    async def ListGroupInvites(self, request: ent.ListGroupInvitesRequest) -> ent.ListGroupInvitesResponse:
        return ent.ListGroupInvitesResponse(invites=list(self.invites.values()))

    async def RevokeGroupInvite(self, request: ent.RevokeGroupInviteRequest) -> ent.RevokeGroupInviteResponse:
        invite = self.invites.pop(request.code, None)
        if invite is None:
            raise remote(NotFound, "no such invite", "INVITE_NOT_FOUND", {}, [])
        return ent.RevokeGroupInviteResponse(invite=invite)

    async def AcceptGroupInvite(self, request: ent.AcceptGroupInviteRequest) -> ent.AcceptGroupInviteResponse:
        invite = self.invites[request.code]
        invite.state = ent.GROUP_INVITE_STATE_ACCEPTED
        invite.accepted_customer_id = request.customer_id
        joined = Timestamp()
        joined.FromSeconds(1_000 + len(self.members))
        member = ent.GroupMember(customer_id=request.customer_id, join_time=joined, invite_code=request.code)
        self.members[request.customer_id] = member
        return ent.AcceptGroupInviteResponse(group_id=GROUP, member=member)

    async def RemoveGroupMember(self, request: ent.RemoveGroupMemberRequest) -> ent.RemoveGroupMemberResponse:
        member = self.members.pop(request.customer_id, None)
        if member is None:
            raise remote(NotFound, "not a member", "NOT_A_MEMBER", {}, [])
        return ent.RemoveGroupMemberResponse(member=member)


class World:
    def __init__(self) -> None:
        self.lifecycle = FakeLifecycle(iter(range(1, 1000)))
        for customer in ("owner", "kid", "partner", "aunt", "loner"):
            self.lifecycle.add_customer(customer)
        self.groups = FakeGroups()
        peers = cast(Peers, type("P", (), {"lifecycle": self.lifecycle, "entitlement": self.groups})())
        self.families = Families(peers, KnownCustomers(peers, max_customers=100))

    async def invite(self, who: Caller, owner: str = "owner", request_id: str = "i") -> fam.CreateFamilyInviteResponse:
        with context.tenant_scope(who.principal.tenant_id):
            request = fam.CreateFamilyInviteRequest(request_id=request_id, customer_id=owner)
            return await self.families.create_family_invite(who, request)

    async def accept(self, who: Caller, code: str, customer: str) -> fam.AcceptFamilyInviteResponse:
        with context.tenant_scope(who.principal.tenant_id):
            request = fam.AcceptFamilyInviteRequest(request_id="a", code=code, customer_id=customer)
            return await self.families.accept_family_invite(who, request)

    async def members(self, who: Caller, **fields: object) -> fam.ListFamilyMembersResponse:
        with context.tenant_scope(who.principal.tenant_id):
            request = fam.ListFamilyMembersRequest(customer_id="owner", **fields)  # type: ignore[arg-type]
            return await self.families.list_family_members(who, request)


def bound(customer: str) -> Caller:
    """A publishable key bound to `customer` by a customer token."""
    device = caller(Role.PUBLISHABLE)
    return Caller(device.principal.acting_for(customer), device.tenant)


@pytest.fixture
def world() -> World:
    return World()


async def test_owner_invites_two_then_the_seat_limit_is_a_clear_refusal(world: World) -> None:
    owner = bound("owner")
    first = (await world.invite(owner, request_id="1")).invite
    second = (await world.invite(owner, request_id="2")).invite

    with pytest.raises(FailedPrecondition) as refused:
        await world.invite(owner, request_id="3")
    assert refused.value.reason == "SEAT_LIMIT_REACHED"

    joined = await world.accept(bound("kid"), first.code, "kid")
    await world.accept(caller(Role.OPERATOR), second.code, "partner")
    assert (joined.family.seat_limit, joined.family.seats_used, joined.family.seats_available) == (3, 2, 0)
    listed = await world.members(owner)
    assert [m.customer_id for m in listed.members] == ["kid", "partner"]
    assert all(m.access[0].allowed for m in listed.members)
    assert (listed.family.seats_used, listed.family.pending_invite_count) == (3, 0)


async def test_members_on_hold_are_listed_with_the_denial(world: World) -> None:
    code = (await world.invite(caller(Role.OPERATOR))).invite.code
    await world.accept(caller(Role.OPERATOR), code, "kid")
    world.groups.on_hold = True

    listed = await world.members(caller(Role.VIEWER))

    assert [(a.allowed, a.denial_reason) for a in listed.members[0].access] == [
        (False, gw.ACCESS_DENIAL_REASON_ON_HOLD)
    ]
    assert listed.family.seat_limit == 0


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        (caller(Role.VIEWER), RolePermissionMissing),
        (caller(Role.PUBLISHABLE), CustomerScopeViolation),  # unbound: acts for nobody
        (bound("kid"), CustomerScopeViolation),  # bound to someone else than the owner
    ],
)
async def test_who_may_not_invite(world: World, who: Caller, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        await world.invite(who)
    assert world.groups.invites == {}


async def test_a_bound_key_accepts_only_for_its_own_customer_and_cannot_remove(world: World) -> None:
    code = (await world.invite(bound("owner"))).invite.code

    with pytest.raises(CustomerScopeViolation):
        await world.accept(bound("kid"), code, "partner")
    with pytest.raises(CustomerScopeViolation):
        await world.accept(caller(Role.PUBLISHABLE), code, "partner")
    with context.tenant_scope(TENANT.id), pytest.raises(RolePermissionMissing):
        request = fam.RemoveFamilyMemberRequest(request_id="r", customer_id="owner", member_customer_id="kid")
        await world.families.remove_family_member(bound("owner"), request)
    assert world.groups.members == {}


async def test_remove_revoke_and_unknown_owners(world: World) -> None:
    operator = caller(Role.OPERATOR)
    kept = (await world.invite(operator, request_id="1")).invite.code
    dropped = (await world.invite(operator, request_id="2")).invite.code
    await world.accept(operator, kept, "kid")

    with context.tenant_scope(TENANT.id):
        revoke = fam.RevokeFamilyInviteRequest(request_id="r", customer_id="owner", code=dropped)
        assert (await world.families.revoke_family_invite(operator, revoke)).invite.code == dropped
        remove = fam.RemoveFamilyMemberRequest(request_id="m", customer_id="owner", member_customer_id="kid")
        assert (await world.families.remove_family_member(operator, remove)).member.customer_id == "kid"
        with pytest.raises(FamilyNotFound):
            await world.families.get_family(operator, fam.GetFamilyRequest(customer_id="loner"))
        with pytest.raises(NotFound):
            await world.families.get_family(operator, fam.GetFamilyRequest(customer_id="stranger"))
        with pytest.raises(InvalidArgument) as missing:
            await world.families.create_family_invite(operator, fam.CreateFamilyInviteRequest(customer_id="owner"))
    assert missing.value.violations[0].field == "request_id"


async def test_lists_filter_order_and_page_with_bound_tokens(world: World) -> None:
    operator = caller(Role.OPERATOR)
    for n, customer in enumerate(("kid", "partner")):
        code = (await world.invite(operator, request_id=str(n))).invite.code
        await world.accept(operator, code, customer)

    newest_first = await world.members(operator, order_by="join_time desc", page_size=1)
    assert [m.customer_id for m in newest_first.members] == ["partner"]
    rest = await world.members(
        operator, order_by="join_time desc", page_size=1, page_token=newest_first.next_page_token
    )
    assert [m.customer_id for m in rest.members] == ["kid"] and rest.next_page_token == ""
    only = await world.members(operator, filter='customer_id = "kid"')
    assert [m.customer_id for m in only.members] == ["kid"]

    with pytest.raises(InvalidArgument) as other_query:
        await world.members(operator, order_by="customer_id", page_token=newest_first.next_page_token)
    assert other_query.value.violations[0].field == "page_token"
    with pytest.raises(InvalidArgument) as bad_filter:
        await world.members(operator, filter="plan = x")
    assert bad_filter.value.violations[0].field == "filter"
    with pytest.raises(InvalidArgument) as bad_time:
        await world.members(operator, filter="join_time > yesterday")
    assert bad_time.value.violations[0].field == "filter"

    with context.tenant_scope(TENANT.id):
        accepted = await world.families.list_family_invites(
            operator, fam.ListFamilyInvitesRequest(customer_id="owner", filter="state = ACCEPTED")
        )
    assert {i.accepted_customer_id for i in accepted.invites} == {"kid", "partner"}
