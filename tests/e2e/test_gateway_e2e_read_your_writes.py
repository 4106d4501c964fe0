"""Read-your-writes access through the gateway: a write's answer names it (a consistency token), and no
access answer given after it, on the writer's key or with the token, is older than the write.

Also measures how stale a check without a token can be (another key, the edge cache warm): printed, and
bounded by the assertion.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_endpoints import subscribed

TRIALS = 20
STALENESS_TRIALS = 50
FEATURE = "hd_streaming"


async def allowed(tenant: TenantApi, customer: str, *, key: str | None = None, token: str = "") -> bool:
    query = f"?consistency_token={token}" if token else ""
    answer = await tenant.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}{query}", key=key)
    return bool(answer["decision"].get("allowed", False))


async def pause(tenant: TenantApi, subscription_id: str) -> dict[str, str]:
    body = {"request_id": uuid.uuid4().hex}
    paused: dict[str, str] = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:pause", json=body)
    return paused


async def test_a_pause_is_seen_by_the_next_check_on_the_same_key_every_time(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    reader = await tenant.new_key("viewer")
    denied = 0
    for _ in range(TRIALS):
        customer, subscription_id = await subscribed(tenant)
        assert await allowed(tenant, customer, key=reader)  # the edge cache now holds "allowed"
        paused = await pause(tenant, subscription_id)
        assert paused["consistency_token"]
        denied += not await allowed(tenant, customer)  # same key as the pause, no token passed
    assert denied == TRIALS


async def test_a_token_handed_to_another_key_reads_the_write(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    reader = await tenant.new_key("viewer")
    for _ in range(TRIALS):
        customer, subscription_id = await subscribed(tenant)
        assert await allowed(tenant, customer, key=reader)
        token = (await pause(tenant, subscription_id))["consistency_token"]
        assert not await allowed(tenant, customer, key=reader, token=token)
        listed = await tenant.ok("GET", f"/v1/customers/{customer}/entitlements?consistency_token={token}", key=reader)
        assert listed.get("entitlements", []) == []  # paused: nothing is allowed
        assert listed["consistency_token"]


async def test_a_batch_check_reads_the_write_with_its_token_or_on_the_writers_key(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    reader = await tenant.new_key("viewer")
    for _ in range(TRIALS // 4):
        customer, subscription_id = await subscribed(tenant)
        batch = f"/v1/customers/{customer}/access:batchCheck?feature_keys={FEATURE}&feature_keys=uhd_streaming"
        before = await tenant.ok("GET", batch, key=reader)
        assert [d.get("allowed", False) for d in before["decisions"]] == [True, True]
        token = (await pause(tenant, subscription_id))["consistency_token"]
        for key, query in ((reader, f"&consistency_token={token}"), (None, "")):
            after = await tenant.ok("GET", batch + query, key=key)
            assert [d.get("allowed", False) for d in after["decisions"]] == [False, False]
            assert after["consistency_token"]


async def test_a_checkout_is_seen_by_the_next_check_at_once(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    for _ in range(TRIALS):
        customer = await tenant.customer()
        assert not await allowed(tenant, customer)  # cached: not entitled yet
        bought = await tenant.checkout(customer, plan="family_monthly")
        assert bought.status_code == 200, bought.text
        assert bought.json()["consistency_token"]
        assert await allowed(tenant, customer)


async def test_a_malformed_token_is_a_400_naming_it(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    customer, _ = await subscribed(tenant)
    answer = await tenant.call("GET", f"/v1/customers/{customer}/access/{FEATURE}?consistency_token=nonsense")
    assert answer.status_code == 400, answer.text
    assert "consistency_token" in answer.text


async def test_without_a_token_another_key_sees_the_write_within_a_bounded_time(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    reader = await tenant.new_key("viewer")
    lags: list[float] = []
    for _ in range(STALENESS_TRIALS):
        customer, subscription_id = await subscribed(tenant)
        assert await allowed(tenant, customer, key=reader)
        await pause(tenant, subscription_id)
        answered = time.monotonic()
        while await allowed(tenant, customer, key=reader):
            assert time.monotonic() - answered < 5.0, "a check without a token stayed stale for 5 s"
            await asyncio.sleep(0.001)
        lags.append(time.monotonic() - answered)
    cuts = statistics.quantiles(lags, n=100)
    p50, p99 = statistics.median(lags), cuts[98]
    print(
        f"\naccess staleness without a token over {len(lags)} pauses: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    assert p99 < 2.0
