"""Checkout end to end through the gateway REST API on the whole suite: latency p50/p99 and checkouts/s.

Each checkout resolves the price, charges through a sandbox PSP, creates the subscription and waits
for its entitlements. Run: .venv/bin/python tests/perf/bench_gateway_checkout.py [--checkouts N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from azotte_stack.processes import free_port
from azotte_stack.suite import Suite

REPO = Path(__file__).resolve().parents[2]


async def _customer(http: httpx.AsyncClient) -> str:
    body = {"request_id": uuid.uuid4().hex, "external_id": uuid.uuid4().hex, "country_code": "DE"}
    answer = await http.post("/v1/customers", json=body)
    answer.raise_for_status()
    return str(answer.json()["customer"]["id"])


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


async def main(checkouts: int, concurrency: int, plan: str, catalog: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    suite = Suite(root=root, gateway_grpc_port=free_port(), gateway_rest_port=free_port(), fast_storage=True)
    started = time.perf_counter()
    await suite.start()
    print(f"suite up in {time.perf_counter() - started:.1f}s")
    try:
        key = (root / "sandbox-admin.key").read_text().strip()
        base_url = f"http://127.0.0.1:{suite.gateway_rest_port}"
        limits = httpx.Limits(max_connections=concurrency * 2)
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits
        ) as http:
            document = await asyncio.to_thread(catalog.read_bytes)
            headers = {"Content-Type": "application/yaml", "X-Request-Id": uuid.uuid4().hex}
            applied = await http.put("/v1/catalog", content=document, headers=headers)
            applied.raise_for_status()
            customers = await asyncio.gather(*(_customer(http) for _ in range(checkouts + 10)))
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
    finally:
        suite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plan", default="family_monthly")
    parser.add_argument("--catalog", type=Path, default=REPO / "docs" / "examples" / "ott-catalog.yaml")
    args = parser.parse_args()
    asyncio.run(main(args.checkouts, args.concurrency, args.plan, args.catalog))
