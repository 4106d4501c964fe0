"""WatchEntitlements through the gateway with the client library: a watcher answers access checks from memory and
sees every change pushed — an operator's comp and its revocation, an immediate cancel — for its own tenant's
customer only; a device's publishable key bound to a customer by its token watches no one else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_client import EntitlementWatcher, WatchRefused
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_customer_tokens import token_for
from tests.e2e.test_gateway_e2e_endpoints import subscribed
from tests.e2e.test_gateway_e2e_grants import now_of

HD, UHD = "hd_streaming", "uhd_streaming"
PUSHED_WITHIN = 5.0  # seconds; the benchmark measures the real lag


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
async def channel(suite: RunningSuite) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as opened:
        yield opened


async def test_a_comp_its_revocation_and_an_immediate_cancel_reach_the_watcher(
    tenant: TenantApi, channel: grpc.aio.Channel
) -> None:
    customer, subscription_id = await subscribed(tenant, plan="standard_monthly")
    async with EntitlementWatcher(channel, tenant.key, customer) as watcher:
        # the checkout's entitlements, pushed once applied if the first state came before them
        await watcher.wait_until(lambda w: w.check(HD), timeout=PUSHED_WITHIN)
        assert not watcher.check(UHD)
        assert watcher.consistency_token

        end = await now_of(tenant) + timedelta(days=2)
        body = {"request_id": rid(), "feature_keys": [UHD], "end_time": end.isoformat(), "reason": "premiere night"}
        grant = (await tenant.ok("POST", f"/v1/customers/{customer}/grants", json=body))["grants"][0]
        await watcher.wait_until(lambda w: w.check(UHD), timeout=PUSHED_WITHIN)
        decision = watcher.decision(UHD)
        assert decision is not None and decision.HasField("valid_until_time")

        revoke = {"request_id": rid(), "reason": "case closed"}
        await tenant.ok("POST", f"/v1/customers/{customer}/grants/{grant['grant_id']}:revoke", json=revoke)
        await watcher.wait_until(lambda w: not w.check(UHD), timeout=PUSHED_WITHIN)
        assert watcher.check(HD)

        cancel = {"request_id": rid(), "timing": "immediately"}
        await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:cancel", json=cancel)
        await watcher.wait_until(lambda w: not w.check(HD), timeout=PUSHED_WITHIN)
        assert watcher.connected


async def test_another_tenants_customer_is_not_found_like_a_missing_one(
    suite: RunningSuite, tenant: TenantApi, channel: grpc.aio.Channel
) -> None:
    customer = await tenant.customer()
    other = await suite.new_tenant(with_catalog=False)
    for customer_id in (customer, "cus_missing"):
        with pytest.raises(WatchRefused) as refused:
            await EntitlementWatcher(channel, other.key, customer_id).start()
        assert refused.value.code == grpc.StatusCode.NOT_FOUND


async def test_a_publishable_key_watches_only_the_customer_its_token_is_bound_to(
    tenant: TenantApi, channel: grpc.aio.Channel
) -> None:
    publishable = await tenant.new_key("publishable")
    mine, theirs = await subscribed(tenant, plan="standard_monthly"), await tenant.customer()
    token = await token_for(tenant, mine[0])

    async with EntitlementWatcher(channel, publishable, mine[0], customer_token=token) as watcher:
        await watcher.wait_until(lambda w: w.check(HD), timeout=PUSHED_WITHIN)
    with pytest.raises(WatchRefused) as refused:
        await EntitlementWatcher(channel, publishable, theirs, customer_token=token).start()
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_watch_without_a_customer_is_invalid_naming_the_field(
    tenant: TenantApi, channel: grpc.aio.Channel
) -> None:
    stream = gateway_pb2_grpc.GatewayServiceStub(channel).WatchEntitlements(
        gw.WatchEntitlementsRequest(), metadata=(("authorization", f"Bearer {tenant.key}"),)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stream.read()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "customer_id" in (refused.value.details() or "")
