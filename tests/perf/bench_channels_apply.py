"""Benchmark: App Store notifications verified and applied end to end, and notification -> access change latency.

Through the whole suite (gateway -> lifecycle -> entitlement -> the gateway's access cache), with notifications
signed under a test root the tenant's App Store app trusts:
- throughput: SUBSCRIBED then DID_RENEW notifications of N subscribers posted 8 at a time (each verified: x5c
  chain, ES256, nested transaction; stored in the notification inbox; normalized; applied once by lifecycle;
  answered APPLIED); then the same DID_RENEWs redelivered (verified, recognised in the inbox, nothing applied);
  baseline, in the same run: TEST notifications (verified, stored, nothing to apply: IGNORED);
- latency: per subscriber whose allowed answer is cached at the gateway, one REFUND posted and the access check
  (without a consistency token) polled until it answers denied; baseline: one access check round trip.

Run: PYTHONPATH=. .venv/bin/python tests/perf/bench_channels_apply.py [--subscribers N]  (default 40, about a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run

from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from tests.e2e.conftest import TenantApi
from tests.e2e.test_gateway_e2e_app_store import PRODUCT, allowed, app_body, post, subscriber
from tests.stack import started_suite

CONCURRENCY = 8
POLL_S = 0.005


def transaction(original: str, token: str, at: datetime) -> dict[str, Any]:
    return subscription_transaction(
        original, product_id=PRODUCT, purchased_at=at, expires_at=at + timedelta(days=30), app_account_token=token
    )


async def rate(shop: TenantApi, bodies: list[bytes], state: str = "APPLIED") -> float:
    """Notifications per second, `CONCURRENCY` in flight, each answered 200 in `state`."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(body: bytes) -> None:
        async with gate:
            answer = await post(shop, body)
            if answer.status_code != 200 or answer.json()["state"] != state:
                raise RuntimeError(f"notification not {state}: {answer.status_code} {answer.text}")

    started = time.perf_counter()
    await asyncio.gather(*(one(body) for body in bodies))
    return len(bodies) / (time.perf_counter() - started)


async def timed(probe: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(int(10 / POLL_S)):
        if await probe():
            return
        await asyncio.sleep(POLL_S)
    raise RuntimeError("the access change did not come within 10 s")


async def refund_latency(shop: TenantApi, store: SigningAppStore, customer: str, bought: dict[str, Any]) -> float:
    """Seconds from posting a REFUND to the first access check that denies."""
    assert await allowed(shop, customer)  # cached at the gateway
    started = time.perf_counter()
    answer = await post(shop, store.notification("REFUND", signed_at=datetime.now(UTC), transaction=bought))
    if answer.status_code != 200:
        raise RuntimeError(answer.text)

    async def denied() -> bool:
        return not await allowed(shop, customer)

    await timed(denied)
    return time.perf_counter() - started


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latencies(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p99 {_percentile(samples, 0.99) * 1000:.1f} ms"


async def main(count: int) -> None:
    store = SigningAppStore()
    began = time.perf_counter()
    async with started_suite(perf_suite.scratch_dir("bench-channels-")) as suite:
        print(f"suite up in {time.perf_counter() - began:.1f}s")
        shop = await suite.new_tenant()
        await shop.ok("POST", "/v1/app-store-apps", json=app_body(store))
        subscribers = [await subscriber(shop) for _ in range(count)]
        start = datetime.now(UTC)
        bought = [transaction(str(uuid.uuid4().int)[:16], token, start) for _, token in subscribers]

        tests = [store.notification("TEST", signed_at=datetime.now(UTC)) for _ in range(count)]
        baseline = await rate(shop, tests, "IGNORED")
        purchases = [store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=t) for t in bought]
        subscribed = await rate(shop, purchases)
        renewed_at = datetime.now(UTC)
        renewals = [store.notification("DID_RENEW", signed_at=renewed_at, transaction=t) for t in bought]
        renewed = await rate(shop, renewals)
        redelivered = await rate(shop, renewals)
        print(f"TEST verified and stored, baseline: {baseline:8.1f} notifications/s")
        print(f"SUBSCRIBED verified and applied:    {subscribed:8.1f} notifications/s")
        print(f"DID_RENEW verified and applied:     {renewed:8.1f} notifications/s")
        print(f"DID_RENEW redelivered (inbox):      {redelivered:8.1f} notifications/s")

        checks = []
        for customer, _ in subscribers[: max(1, count // 2)]:
            started = time.perf_counter()
            await allowed(shop, customer)
            checks.append(time.perf_counter() - started)
        latencies = [
            await refund_latency(shop, store, customer, t)
            for (customer, _), t in zip(subscribers[: max(1, count // 2)], bought, strict=False)
        ]
        print(f"access check round trip, baseline: {_latencies(checks)}")
        print(f"REFUND -> access denied:           {_latencies(latencies)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=40)
    asyncio.run(main(parser.parse_args().subscribers))
