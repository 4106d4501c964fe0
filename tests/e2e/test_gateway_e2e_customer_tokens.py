"""Customer tokens end to end: a tenant's backend issues a token for its customer, and the device's publishable
key presenting it acts for that customer only — an owner invites family members from the TV app, each member
accepts from their own phone — over REST and gRPC; forged, foreign and repeated tokens are refused."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import families_pb2 as fam
from azotte.gateway.v1 import families_pb2_grpc, gateway_pb2, gateway_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_families import accept, invite, new_family, refused


async def token_for(tenant: TenantApi, customer: str, *, key: str | None = None) -> str:
    issued = await tenant.ok("POST", f"/v1/customers/{customer}/tokens", json={"ttl_seconds": 600}, key=key)
    assert issued["customer_id"] == customer
    return str(issued["token"])


def bound(token: str) -> dict[str, str]:
    return {"X-Customer-Token": token}


@pytest.fixture(scope="module")
async def device(suite: RunningSuite) -> tuple[TenantApi, str]:
    tenant = await suite.new_tenant()
    return tenant, await tenant.new_key("publishable")


async def test_a_device_invites_and_accepts_only_for_its_own_customer_over_rest(device: tuple[TenantApi, str]) -> None:
    tenant, publishable = device
    family = await new_family(tenant, others=2)
    member, stranger = family.others
    backend = await tenant.new_key("operator")
    owner_token = await token_for(tenant, family.owner, key=backend)

    refused(await invite(tenant, family.owner, key=publishable), 403, "CUSTOMER_SCOPE_VIOLATION")  # unbound
    invited = await tenant.call(
        "POST",
        f"/v1/customers/{family.owner}/family/invites",
        json={"request_id": "tv-1"},
        key=publishable,
        headers=bound(owner_token),
    )
    assert invited.status_code == 200, invited.text
    code = invited.json()["invite"]["code"]
    # NOTE: the owner's token cannot accept for someone else, nor invite into another customer's family.
    owner_accepting = await tenant.call(
        "POST",
        f"/v1/family-invites/{code}:accept",
        json={"request_id": "tv-2", "customer_id": member},
        key=publishable,
        headers=bound(owner_token),
    )
    refused(owner_accepting, 403, "CUSTOMER_SCOPE_VIOLATION")
    member_token = await token_for(tenant, member, key=backend)
    accepted = await tenant.call(
        "POST",
        f"/v1/family-invites/{code}:accept",
        json={"request_id": "phone-1", "customer_id": member},
        key=publishable,
        headers=bound(member_token),
    )
    assert accepted.status_code == 200, accepted.text
    checked = await tenant.call(
        "GET", f"/v1/customers/{member}/access/hd_streaming", key=publishable, headers=bound(member_token)
    )
    assert checked.json()["decision"]["allowed"] is True
    peeking = await tenant.call(
        "GET", f"/v1/customers/{stranger}/access/hd_streaming", key=publishable, headers=bound(member_token)
    )
    refused(peeking, 403, "CUSTOMER_SCOPE_VIOLATION")
    assert (await accept(tenant, code, stranger)).status_code != 200  # the code was used


async def test_forged_foreign_and_repeated_tokens_are_unauthenticated(
    suite: RunningSuite, device: tuple[TenantApi, str]
) -> None:
    tenant, publishable = device
    customer = await tenant.customer()
    token = await token_for(tenant, customer)
    other = await suite.new_tenant(with_catalog=False)
    foreign_customer = await other.customer()
    foreign = await token_for(other, foreign_customer)
    path = f"/v1/customers/{customer}/access/hd_streaming"
    for headers, reason in (
        (bound(token[:-2] + ("AA" if not token.endswith("AA") else "BB")), "CUSTOMER_TOKEN_INVALID"),
        (bound(foreign), "CUSTOMER_TOKEN_INVALID"),
    ):
        refused(await tenant.call("GET", path, key=publishable, headers=headers), 401, reason)
    twice = [("Authorization", f"Bearer {publishable}"), ("X-Customer-Token", token), ("X-Customer-Token", token)]
    refused(await tenant.http.request("GET", path, headers=twice), 401, "CUSTOMER_TOKEN_REPEATED")
    # Another tenant's customer is not found, exactly like a missing one, when a token is asked for it.
    missing = await tenant.call("POST", f"/v1/customers/{foreign_customer}/tokens", json={})
    refused(missing, 404, "CUSTOMER_NOT_FOUND")
    viewer = await tenant.new_key("viewer")
    refused(
        await tenant.call("POST", f"/v1/customers/{customer}/tokens", json={}, key=viewer),
        403,
        "ROLE_PERMISSION_MISSING",
    )


async def test_the_same_over_grpc(suite: RunningSuite, device: tuple[TenantApi, str]) -> None:
    tenant, publishable = device
    family = await new_family(tenant, others=1)
    owner_token = await token_for(tenant, family.owner)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        families = families_pb2_grpc.FamiliesServiceStub(channel)
        access = gateway_pb2_grpc.GatewayServiceStub(channel)
        metadata: Any = (("authorization", f"Bearer {publishable}"), ("x-customer-token", owner_token))
        invited = await families.CreateFamilyInvite(
            fam.CreateFamilyInviteRequest(request_id="grpc-tv-1", customer_id=family.owner), metadata=metadata
        )
        assert invited.invite.code
        with pytest.raises(grpc.aio.AioRpcError) as scoped:
            await access.CheckAccess(
                gateway_pb2.CheckAccessRequest(customer_id=family.others[0], feature_key="hd_streaming"),
                metadata=metadata,
            )
        assert scoped.value.code() == grpc.StatusCode.PERMISSION_DENIED
        forged: Any = (("authorization", f"Bearer {publishable}"), ("x-customer-token", owner_token + "x"))
        with pytest.raises(grpc.aio.AioRpcError) as refused_call:
            await access.CheckAccess(
                gateway_pb2.CheckAccessRequest(customer_id=family.owner, feature_key="hd_streaming"), metadata=forged
            )
        assert refused_call.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_issued_after_the_sandbox_clock_moved_is_accepted(suite: RunningSuite) -> None:
    # NOTE: tokens live in real time, like API keys: a tenant's sandbox offset never makes one "issued in the future".
    tenant = await suite.new_tenant()
    publishable = await tenant.new_key("publishable")
    family = await new_family(tenant, others=0)
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": "later", "advance_by_days": 40})
    token = await token_for(tenant, family.owner)
    read = await tenant.call("GET", f"/v1/customers/{family.owner}/family", key=publishable, headers=bound(token))
    assert read.status_code == 200, read.text
