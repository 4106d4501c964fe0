"""Families through the gateway: seats, invites, members and their access, over REST and gRPC, and the role matrix."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import families_pb2 as fam
from azotte.gateway.v1 import families_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

SEATS = 3  # family_monthly in docs/examples/ott-catalog.yaml: the owner and two members


@dataclass
class Family:
    tenant: TenantApi
    owner: str
    others: list[str]


async def new_family(tenant: TenantApi, *, others: int = 3) -> Family:
    owner = await tenant.customer()
    bought = await tenant.checkout(owner, plan="family_monthly")
    assert bought.status_code == 200, bought.text
    return Family(tenant, owner, [await tenant.customer() for _ in range(others)])


def rid() -> dict[str, str]:
    return {"request_id": uuid.uuid4().hex}


async def invite(tenant: TenantApi, owner: str, *, key: str | None = None) -> Any:
    return await tenant.call("POST", f"/v1/customers/{owner}/family/invites", json=rid(), key=key)


async def accept(tenant: TenantApi, code: str, customer: str, *, key: str | None = None) -> Any:
    body = {**rid(), "customer_id": customer}
    return await tenant.call("POST", f"/v1/family-invites/{code}:accept", json=body, key=key)


async def access(tenant: TenantApi, customer: str) -> dict[str, Any]:
    answer: dict[str, Any] = await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming")
    return dict(answer["decision"])


def refused(answer: Any, http: int, reason: str) -> None:
    assert answer.status_code == http, answer.text
    assert answer.json()["error"]["details"][0]["reason"] == reason, answer.text


@pytest.fixture(scope="module")
async def own(suite: RunningSuite) -> TenantApi:
    """A tenant of this module's own (its invites run on its own sandbox clock)."""
    return await suite.new_tenant()


async def test_an_owner_invites_two_a_third_is_refused_and_members_share_the_plan_over_rest(own: TenantApi) -> None:
    family = await new_family(own)
    kid, partner, neighbour = family.others

    shown = (await own.ok("GET", f"/v1/customers/{family.owner}/family"))["family"]
    assert (shown["seat_limit"], shown["seats_used"], shown["seats_available"]) == (SEATS, 1, 2)
    first = (await invite(own, family.owner)).json()["invite"]
    second = (await invite(own, family.owner)).json()["invite"]
    assert first["state"] == "FAMILY_INVITE_STATE_PENDING" and first["expire_time"] > first["create_time"]
    refused(await invite(own, family.owner), 409, "SEAT_LIMIT_REACHED")

    joined = await accept(own, first["code"], kid)
    assert joined.status_code == 200, joined.text
    assert joined.json()["family"]["seats_used"] == 2
    assert (await accept(own, second["code"], partner)).status_code == 200
    refused(await accept(own, second["code"], neighbour), 409, "INVITE_ALREADY_USED")

    listed = await own.ok("GET", f"/v1/customers/{family.owner}/family/members", params={"order_by": "join_time"})
    assert [m["customer_id"] for m in listed["members"]] == [kid, partner]
    assert {(a["feature_key"], a["allowed"]) for a in listed["members"][0]["access"]} == {
        ("hd_streaming", True),
        ("uhd_streaming", True),
        ("downloads", True),
    }
    decision = await eventually(lambda: access(own, kid))
    assert decision["allowed"] and decision["sources"][0]["kind"] == "ACCESS_SOURCE_KIND_GROUP"

    # removing a member frees a seat; a revoked invite stops working and frees its seat again
    removed = await own.call("POST", f"/v1/customers/{family.owner}/family/members/{partner}:remove", json=rid())
    assert removed.status_code == 200, removed.text

    async def partner_lost_access() -> bool:
        return not (await access(own, partner))["allowed"]

    await eventually(partner_lost_access)
    third = (await invite(own, family.owner)).json()["invite"]
    revoked = await own.call("POST", f"/v1/customers/{family.owner}/family/invites/{third['code']}:revoke", json=rid())
    assert revoked.status_code == 200, revoked.text
    refused(await accept(own, third["code"], neighbour), 404, "INVITE_NOT_FOUND")
    pending = await own.ok("GET", f"/v1/customers/{family.owner}/family/invites", params={"filter": "state = PENDING"})
    assert pending["invites"] == []
    accepted = await own.ok(
        "GET", f"/v1/customers/{family.owner}/family/invites", params={"filter": "state = ACCEPTED", "page_size": 1}
    )
    assert len(accepted["invites"]) == 1 and accepted["next_page_token"]
    bad = await own.call("GET", f"/v1/customers/{family.owner}/family/members", params={"filter": "plan = x"})
    assert bad.status_code == 400 and "filter" in bad.text
    refused(await own.call("GET", f"/v1/customers/{kid}/family"), 404, "FAMILY_NOT_FOUND")


async def test_the_same_over_grpc(suite: RunningSuite, own: TenantApi) -> None:
    family = await new_family(own, others=2)
    kid, partner = family.others
    metadata = (("authorization", f"Bearer {own.key}"),)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = families_pb2_grpc.FamiliesServiceStub(channel)
        got = await stub.GetFamily(fam.GetFamilyRequest(customer_id=family.owner), metadata=metadata)
        assert got.family.seat_limit == SEATS
        codes = []
        for _ in range(2):
            made = await stub.CreateFamilyInvite(
                fam.CreateFamilyInviteRequest(request_id=uuid.uuid4().hex, customer_id=family.owner), metadata=metadata
            )
            codes.append(made.invite.code)
        with pytest.raises(grpc.aio.AioRpcError) as full:
            await stub.CreateFamilyInvite(
                fam.CreateFamilyInviteRequest(request_id=uuid.uuid4().hex, customer_id=family.owner), metadata=metadata
            )
        assert full.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        revoked = await stub.RevokeFamilyInvite(
            fam.RevokeFamilyInviteRequest(request_id=uuid.uuid4().hex, customer_id=family.owner, code=codes[1]),
            metadata=metadata,
        )
        assert revoked.invite.code == codes[1]
        request = fam.AcceptFamilyInviteRequest(request_id=uuid.uuid4().hex, code=codes[0], customer_id=kid)
        joined = await stub.AcceptFamilyInvite(request, metadata=metadata)
        assert joined.member.customer_id == kid and joined.family.owner_customer_id == family.owner
        again = await stub.AcceptFamilyInvite(request, metadata=metadata)  # a retry answers the same
        assert again.member == joined.member
        members = await stub.ListFamilyMembers(
            fam.ListFamilyMembersRequest(customer_id=family.owner), metadata=metadata
        )
        assert [m.customer_id for m in members.members] == [kid] and members.family.seats_used == 2
        invites = await stub.ListFamilyInvites(
            fam.ListFamilyInvitesRequest(customer_id=family.owner, order_by="create_time"), metadata=metadata
        )
        assert [(i.code, i.state) for i in invites.invites] == [(codes[0], fam.FAMILY_INVITE_STATE_ACCEPTED)]
        with pytest.raises(grpc.aio.AioRpcError) as stranger:
            await stub.RemoveFamilyMember(
                fam.RemoveFamilyMemberRequest(
                    request_id=uuid.uuid4().hex, customer_id=family.owner, member_customer_id=partner
                ),
                metadata=metadata,
            )
        assert stranger.value.code() == grpc.StatusCode.NOT_FOUND
        removed = await stub.RemoveFamilyMember(
            fam.RemoveFamilyMemberRequest(
                request_id=uuid.uuid4().hex, customer_id=family.owner, member_customer_id=kid
            ),
            metadata=metadata,
        )
        assert removed.member.customer_id == kid


async def test_the_role_matrix_of_every_family_operation(suite: RunningSuite, own: TenantApi) -> None:
    family = await new_family(own, others=1)
    (kid,) = family.others
    keys = {role: await own.new_key(role) for role in ("viewer", "operator", "manager", "publishable")}
    keys["admin"] = own.key
    foreign = (await suite.new_tenant(with_catalog=False)).key
    owner = family.owner
    code = (await invite(own, owner)).json()["invite"]["code"]

    reads = [f"/v1/customers/{owner}/family", f"/v1/customers/{owner}/family/members"]
    reads.append(f"/v1/customers/{owner}/family/invites")
    for path in reads:
        for role in ("viewer", "operator", "manager", "admin"):
            assert (await own.call("GET", path, key=keys[role])).status_code == 200, (role, path)
        # an unbound publishable key acts for nobody; another tenant's key does not see the customer
        refused(await own.call("GET", path, key=keys["publishable"]), 403, "CUSTOMER_SCOPE_VIOLATION")
        refused(await own.call("GET", path, key=foreign), 404, "CUSTOMER_NOT_FOUND")

    # invite and revoke: operators and up (each revokes what it made, so a seat stays free)
    for role in ("operator", "manager", "admin"):
        made = await invite(own, owner, key=keys[role])
        assert made.status_code == 200, (role, made.text)
        path = f"/v1/customers/{owner}/family/invites/{made.json()['invite']['code']}:revoke"
        assert (await own.call("POST", path, json=rid(), key=keys[role])).status_code == 200, role
    refused(await invite(own, owner, key=keys["viewer"]), 403, "ROLE_PERMISSION_MISSING")
    refused(await invite(own, owner, key=keys["publishable"]), 403, "CUSTOMER_SCOPE_VIOLATION")
    refused(await invite(own, owner, key=foreign), 404, "CUSTOMER_NOT_FOUND")
    revoke = f"/v1/customers/{owner}/family/invites/{code}:revoke"
    refused(await own.call("POST", revoke, json=rid(), key=keys["viewer"]), 403, "ROLE_PERMISSION_MISSING")
    refused(await own.call("POST", revoke, json=rid(), key=keys["publishable"]), 403, "CUSTOMER_SCOPE_VIOLATION")
    refused(await own.call("POST", revoke, json=rid(), key=foreign), 404, "CUSTOMER_NOT_FOUND")

    # accept: operators and up; a publishable key only when bound to the invitee
    refused(await accept(own, code, kid, key=keys["viewer"]), 403, "ROLE_PERMISSION_MISSING")
    refused(await accept(own, code, kid, key=keys["publishable"]), 403, "CUSTOMER_SCOPE_VIOLATION")
    refused(await accept(own, code, kid, key=foreign), 404, "CUSTOMER_NOT_FOUND")
    assert (await accept(own, code, kid, key=keys["manager"])).status_code == 200

    # remove: operators and up, never a publishable key
    remove = f"/v1/customers/{owner}/family/members/{kid}:remove"
    refused(await own.call("POST", remove, json=rid(), key=keys["viewer"]), 403, "ROLE_PERMISSION_MISSING")
    refused(await own.call("POST", remove, json=rid(), key=keys["publishable"]), 403, "ROLE_PERMISSION_MISSING")
    refused(await own.call("POST", remove, json=rid(), key=foreign), 404, "CUSTOMER_NOT_FOUND")
    assert (await own.call("POST", remove, json=rid(), key=keys["operator"])).status_code == 200


async def test_members_lose_access_when_the_owner_goes_on_hold_and_get_it_back_on_recovery(
    suite: RunningSuite,
) -> None:
    tenant = await suite.new_tenant()  # its clock moves weeks ahead
    family = await new_family(tenant, others=2)
    for member in family.others:
        code = (await invite(tenant, family.owner)).json()["invite"]["code"]
        assert (await accept(tenant, code, member)).status_code == 200
    subscription_id = (await tenant.ok("GET", f"/v1/customers/{family.owner}/family"))["family"]["subscription_id"]

    async def card(token: str) -> None:
        body = {**rid(), "payment_method_token": token}
        await tenant.ok("POST", f"/v1/customers/{family.owner}/payment-methods", json=body)

    async def advance(days: int) -> None:
        await tenant.ok("POST", "/v1/sandbox/clock:advance", json={**rid(), "advance_by_days": days})

    async def state() -> str:
        return str((await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]["state"])

    async def members_allowed(allowed: bool) -> bool:
        decisions = [await access(tenant, member) for member in family.others]
        return all(d["allowed"] is allowed for d in decisions)

    # the renewal fails: past due (grace keeps access), then on hold when the grace ends
    await card("tok_insufficient_funds")
    await advance(31)
    await eventually(lambda: _is(state, "SUBSCRIPTION_STATE_PAST_DUE"))
    assert await members_allowed(True)
    await advance(4)
    await eventually(lambda: _is(state, "SUBSCRIPTION_STATE_ON_HOLD"))
    await eventually(lambda: members_allowed(False))
    assert (await access(tenant, family.others[0]))["denial_reason"] == "ACCESS_DENIAL_REASON_ON_HOLD"
    listed = await tenant.ok("GET", f"/v1/customers/{family.owner}/family/members")
    assert all(not a["allowed"] for m in listed["members"] for a in m["access"])
    assert listed["family"]["seat_limit"] == 0

    # a good card and the next retry recover it: every member has access again
    await card("tok_success")
    await advance(2)
    await eventually(lambda: _is(state, "SUBSCRIPTION_STATE_ACTIVE"))
    await eventually(lambda: members_allowed(True))
    assert (await tenant.ok("GET", f"/v1/customers/{family.owner}/family"))["family"]["seat_limit"] == SEATS


async def _is(read: Any, expected: str) -> bool:
    return bool(await read() == expected)


async def test_support_adds_a_member_without_an_invite_within_the_seats(suite: RunningSuite, own: TenantApi) -> None:
    family = await new_family(own)
    kid, partner, neighbour = family.others
    operator, viewer = await own.new_key("operator"), await own.new_key("viewer")
    path = f"/v1/customers/{family.owner}/family/members"
    body = {**rid(), "member_customer_id": kid}
    assert (await own.call("POST", path, json=body, key=viewer)).status_code == 403
    added = await own.call("POST", path, json=body, key=operator)
    assert added.status_code == 200, added.text
    assert added.json()["member"]["customer_id"] == kid and added.json()["family"]["seats_used"] == 2
    again = await own.call("POST", path, json=body, key=operator)  # a retry of the same request
    assert again.json() == added.json()

    async def shares() -> bool:
        return bool((await access(own, kid))["allowed"])

    await eventually(shares)
    refused(
        await own.call("POST", path, json={**rid(), "member_customer_id": kid}, key=operator), 409, "ALREADY_A_MEMBER"
    )
    owner_too = {**rid(), "member_customer_id": family.owner}
    refused(await own.call("POST", path, json=owner_too, key=operator), 409, "OWNER_IS_NOT_A_MEMBER")
    assert (await invite(own, family.owner)).status_code == 200  # the last seat, held by a pending invite
    full = {**rid(), "member_customer_id": partner}
    refused(await own.call("POST", path, json=full, key=operator), 409, "SEAT_LIMIT_REACHED")

    foreign = await suite.new_tenant()
    stranger = await foreign.customer()
    elsewhere = await own.call("POST", path, json={**rid(), "member_customer_id": stranger}, key=operator)
    assert elsewhere.status_code == 404, elsewhere.text
    missing = await own.call("POST", path, json={**rid(), "member_customer_id": ""}, key=operator)
    assert missing.status_code == 400 and "member_customer_id" in missing.text
    assert neighbour not in [m["customer_id"] for m in (await own.ok("GET", path))["members"]]
