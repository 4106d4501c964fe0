"""Checkout end to end through the gateway REST API on the whole suite: latency p50/p99 and checkouts/s.

Each checkout resolves the price, charges through a sandbox PSP, creates the subscription and waits
for its entitlements. Three phases in one run: one at a time (the baseline), `--concurrency` in flight, and
an open-loop load of `--rate` checkouts per second for `--seconds` (each started on its schedule whether or
not the earlier ones have answered, its latency counted from that schedule, so a queue shows in the p99).
Run: .venv/bin/python tests/perf/bench_gateway_checkout.py [--checkouts N] [--rate R] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import httpx
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run


async def _checkout(http: httpx.AsyncClient, customer_id: str, plan: str) -> float:
    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer_id,
        "storefront_id": "de",
        "plan_id": plan,
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    started = time.perf_counter()
    answer = await http.post("/v1/checkout", json=body)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"checkout failed: {answer.status_code} {answer.text}")
    return elapsed


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latencies(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p99 {_percentile(samples, 0.99) * 1000:.1f} ms"


async def _open_loop(
    http: httpx.AsyncClient, customers: list[str], plan: str, rate: float
) -> tuple[list[float], float]:
    """One checkout per customer, started every 1/`rate` s; latencies from each one's scheduled start."""
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def scheduled(index: int, customer: str) -> float:
        due = began + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        await _checkout(http, customer, plan)
        return loop.time() - due

    latencies = await asyncio.gather(*(scheduled(i, c) for i, c in enumerate(customers)))
    return list(latencies), loop.time() - began


async def main(checkouts: int, concurrency: int, plan: str, catalog: Path, rate: float, seconds: float) -> None:
    suite = perf_suite.unlimited_suite(perf_suite.scratch_dir("bench-gateway-"))
    started = time.perf_counter()
    await suite.start()
    print(f"suite up in {time.perf_counter() - started:.1f}s")
    try:
        limits = httpx.Limits(max_connections=concurrency * 2, keepalive_expiry=perf_suite.KEEPALIVE_EXPIRY_S)
        async with perf_suite.admin_client(suite, timeout=60, limits=limits) as http:
            await perf_suite.apply_catalog(http, catalog)
            steady = int(rate * seconds)
            customers = await asyncio.gather(*(perf_suite.new_customer(http) for _ in range(checkouts + 10 + steady)))
            customers, open_loop = customers[: checkouts + 10], customers[checkouts + 10 :]
            for customer in customers[:10]:
                await _checkout(http, customer, plan)
            sequential = [await _checkout(http, c, plan) for c in customers[10 : 10 + checkouts // 2]]
            print(f"sequential: {len(sequential)} checkouts of {plan} (storefront de, web, sandbox PSP)")
            print(f"  latency {_latencies(sequential)}")
            gate = asyncio.Semaphore(concurrency)
            rest = customers[10 + checkouts // 2 :]

            async def one(customer: str) -> float:
                async with gate:
                    return await _checkout(http, customer, plan)

            began = time.perf_counter()
            concurrent = await asyncio.gather(*(one(c) for c in rest))
            wall = time.perf_counter() - began
            print(f"concurrent: {len(concurrent)} checkouts, {concurrency} in flight")
            print(f"  {len(concurrent) / wall:.1f} checkouts/s, latency {_latencies(concurrent)}")
            if open_loop:
                latencies, wall = await _open_loop(http, open_loop, plan, rate)
                print(f"open loop: {len(latencies)} checkouts at {rate:g}/s for {seconds:g}s (done in {wall:.1f}s)")
                print(f"  latency {_latencies(latencies)} (goal p99 <= 100 ms)")
    finally:
        suite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plan", default="family_monthly")
    parser.add_argument("--catalog", type=Path, default=perf_suite.OTT_CATALOG)
    parser.add_argument("--rate", type=float, default=50.0, help="open-loop checkouts per second (0: skip)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the open-loop load lasts")
    args = parser.parse_args()
    asyncio.run(main(args.checkouts, args.concurrency, args.plan, args.catalog, args.rate, args.seconds))
