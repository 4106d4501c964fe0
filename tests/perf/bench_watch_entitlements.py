"""WatchEntitlements with the client library on the whole suite: how long after a write its change reaches a
watcher (an operator's comp granted, then revoked, through REST), beside the baseline of one unary CheckAccess
round trip through the gateway's gRPC; and how many checks per second the watcher answers locally.

Usage: .venv/bin/python tests/perf/bench_watch_entitlements.py [--watchers N] [--checks N] [--local-checks N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench_entitlement_access  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import grpc
import httpx
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import uvloop

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_client import EntitlementWatcher

FEATURE = "uhd_streaming"  # no plan is needed: a comp grants it


async def baseline(channel: grpc.aio.Channel, key: str, customers: list[str], checks: int) -> None:
    """One unary CheckAccess at a time through the gateway: the round trip a check costs without a watcher."""
    stub = gateway_pb2_grpc.GatewayServiceStub(channel)
    metadata = (("authorization", f"Bearer {key}"),)
    latencies = []
    started = time.perf_counter()
    for i in range(checks):
        t0 = time.perf_counter()
        await stub.CheckAccess(
            gw.CheckAccessRequest(customer_id=customers[i % len(customers)], feature_key=FEATURE), metadata=metadata
        )
        latencies.append(time.perf_counter() - t0)
    bench_entitlement_access.report(
        "baseline: unary CheckAccess round trip (gateway gRPC)", latencies, time.perf_counter() - started
    )


def flipped(watcher: EntitlementWatcher, *, wanted: bool) -> bool:
    return watcher.check(FEATURE) is wanted


async def pushed(http: httpx.AsyncClient, watchers: dict[str, EntitlementWatcher]) -> None:
    """Grant, then revoke, a comp for each watched customer in turn; time until its watcher's answer flips."""
    after_request: dict[str, list[float]] = {"grant": [], "revoke": []}
    after_answer: dict[str, list[float]] = {"grant": [], "revoke": []}
    for customer, watcher in watchers.items():
        for change, wanted in (("grant", True), ("revoke", False)):
            sent = time.perf_counter()
            if change == "grant":
                end = (datetime.now(UTC) + timedelta(days=2)).isoformat()
                body = {"request_id": uuid.uuid4().hex, "feature_keys": [FEATURE], "end_time": end, "reason": "bench"}
                answer = await http.post(f"/v1/customers/{customer}/grants", json=body)
                grant_id = answer.json()["grants"][0]["grant_id"]
            else:
                body = {"request_id": uuid.uuid4().hex, "reason": "bench"}
                answer = await http.post(f"/v1/customers/{customer}/grants/{grant_id}:revoke", json=body)
            answered = time.perf_counter()
            assert answer.status_code == 200, answer.text
            await watcher.wait_until(functools.partial(flipped, wanted=wanted), timeout=10)
            seen = time.perf_counter()
            after_request[change].append(seen - sent)
            after_answer[change].append(max(0.0, seen - answered))
    for change in ("grant", "revoke"):
        bench_entitlement_access.report(f"pushed {change} -> watcher, after the write's answer", after_answer[change])
        bench_entitlement_access.report(f"pushed {change} -> watcher, from the write's request", after_request[change])


def local_checks(watcher: EntitlementWatcher, checks: int) -> None:
    started = time.perf_counter()
    for _ in range(checks):
        watcher.check(FEATURE)
    elapsed = time.perf_counter() - started
    print(
        f"{'local check (EntitlementWatcher.check)':<50} n={checks:>7}  {checks / elapsed:12.0f}/s  "
        f"mean={elapsed / checks * 1e6:.3f}us",
        flush=True,
    )


async def main(watcher_count: int, checks: int, local: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        suite = perf_suite.unlimited_suite(Path(tmp))
        await suite.start()
        try:
            key = await bench_entitlement_access.publishable_key(suite)
            customers = await bench_entitlement_access.register_customers(suite, watcher_count)
            async with (
                grpc.aio.insecure_channel(suite.address("gateway")) as channel,
                perf_suite.admin_client(suite, timeout=30) as http,
            ):
                await baseline(channel, key, customers, checks)
                watchers = {customer: EntitlementWatcher(channel, key, customer) for customer in customers}
                await asyncio.gather(*(watcher.start() for watcher in watchers.values()))
                try:
                    await pushed(http, watchers)
                    local_checks(next(iter(watchers.values())), local)
                finally:
                    await asyncio.gather(*(watcher.close() for watcher in watchers.values()))
        finally:
            suite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--checks", type=int, default=2_000)
    parser.add_argument("--local-checks", type=int, default=1_000_000)
    args = parser.parse_args()
    uvloop.run(main(args.watchers, args.checks, args.local_checks))
