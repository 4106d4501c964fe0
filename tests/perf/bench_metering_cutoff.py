"""Benchmark: usage -> access cut-off latency through the whole suite, beside a plain access check round trip.

Each sample: a customer subscribed to family_monthly (storefront us) with a hard limit of 100 units on
`hd_streaming`, whose access answer is cached at the gateway (allowed); then one `POST /v1/events` reporting
the usage that crosses the limit, and the gateway's access check polled until it answers QUOTA_EXHAUSTED. The
latency runs from the report to the first denied answer (ingest -> usage.recorded -> rating -> limit.reached ->
entitlement's suspension -> the gateway's cache dropped). Baseline, in the same run: the round trip of one
access check (`GET /v1/customers/{id}/access/{feature}`). A few cut-offs before the samples warm the suite up; the
slowest of them is printed apart. Target: cut-off p99 <= 1 s.

Run: .venv/bin/python tests/perf/bench_metering_cutoff.py [--customers N]  (default 20, about a minute; the suite has
no rate limit)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run

FEATURE = "hd_streaming"
PLAN = "family_monthly"
EVENT_TYPE = "ai.bench.tokens"
POLL_S = 0.005
WARM_UP = 5
"""Cut-offs before the samples: each process's pooled connections prepare their statements on first use, which
makes the first usages after a start slower (printed apart)."""


def rid() -> str:
    return uuid.uuid4().hex


async def ok(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    answer = await http.request(method, path, **kwargs)
    if answer.status_code != 200:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
    return answer.json()


async def until(probe: Callable[[], Awaitable[bool]], what: str, within_s: float = 10.0) -> None:
    for _ in range(int(within_s / POLL_S)):
        if await probe():
            return
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"{what} not within {within_s}s")


async def limited_customer(http: httpx.AsyncClient) -> str:
    """A subscribed customer with a SUSPEND limit of 100 units, once metering follows their subscription."""
    body = {"request_id": rid(), "external_id": rid(), "country_code": "US"}
    customer = str((await ok(http, "POST", "/v1/customers", json=body))["customer"]["id"])
    checkout = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": PLAN,
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    await ok(http, "POST", "/v1/checkout", json=checkout)
    limit = {
        "limit_id": f"cap-{customer}",
        "feature_key": FEATURE,
        "measure": "UNITS",
        "value": "100",
        "policy": "SUSPEND",
        "meter_key": EVENT_TYPE,
    }
    await ok(http, "POST", f"/v1/customers/{customer}/usage-limits", json={"request_id": rid(), "limit": limit})

    async def followed() -> bool:
        preview = await ok(http, "GET", f"/v1/customers/{customer}/upcoming-usage-charges")
        return bool(preview["subtotal"]["currency_code"] == "USD")

    await until(followed, "metering following the subscription")
    return customer


async def allowed(http: httpx.AsyncClient, customer: str) -> bool:
    decision = (await ok(http, "GET", f"/v1/customers/{customer}/access/{FEATURE}"))["decision"]
    return bool(decision.get("allowed"))


async def cut_off(http: httpx.AsyncClient, customer: str) -> float:
    """Seconds from the report crossing the limit to the first denied access check."""
    assert await allowed(http, customer)  # the allowed answer is now cached at the gateway
    event = {
        "specversion": "1.0",
        "id": rid(),
        "source": "bench",
        "type": EVENT_TYPE,
        "subject": customer,
        "time": datetime.now(UTC).isoformat(),
        "data": {"tokens": 150},
    }
    started = time.perf_counter()
    await ok(http, "POST", "/v1/events", json={"events": [event]})

    async def denied() -> bool:
        return not await allowed(http, customer)

    await until(denied, "the cut-off")
    return time.perf_counter() - started


async def round_trip(http: httpx.AsyncClient, customer: str) -> float:
    started = time.perf_counter()
    await allowed(http, customer)
    return time.perf_counter() - started


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latencies(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p99 {_percentile(samples, 0.99) * 1000:.1f} ms"


async def main(customers: int) -> None:
    suite = perf_suite.unlimited_suite(perf_suite.scratch_dir("bench-cutoff-"))
    began = time.perf_counter()
    await suite.start()
    print(f"suite up in {time.perf_counter() - began:.1f}s")
    try:
        async with perf_suite.admin_client(suite, timeout=60) as http:
            await perf_suite.apply_catalog(http)
            meter = {"key": EVENT_TYPE, "display_name": "tokens", "event_type": EVENT_TYPE, "value_path": "$.tokens"}
            meter["aggregation"] = "AGGREGATION_SUM"
            await ok(http, "POST", "/v1/meters", json={"request_id": rid(), "meter": meter})
            price = {
                "storefront_id": "us",
                "plan_id": PLAN,
                "meter_key": EVENT_TYPE,
                "currency_code": "USD",
                "model": "PER_UNIT",
                "unit_price": "0.01",
            }
            await ok(http, "POST", "/v1/usage-prices", json={"request_id": rid(), "price": price})
            ready = [await limited_customer(http) for _ in range(customers + WARM_UP)]
            warm_up = [await cut_off(http, ready.pop()) for _ in range(WARM_UP)]
            baseline = [await round_trip(http, customer) for customer in ready for _ in range(5)]
            cutoffs = [await cut_off(http, customer) for customer in ready]
            print(f"baseline: access check round trip ({len(baseline)} checks)   {_latencies(baseline)}")
            print(f"usage -> access cut-off ({len(cutoffs)} customers)          {_latencies(cutoffs)}")
            print(f"warm-up, not counted ({WARM_UP} customers)             max {max(warm_up) * 1000:.1f} ms")
            print(f"target p99 <= 1000 ms: {'met' if _percentile(cutoffs, 0.99) <= 1.0 else 'NOT met'}")
    finally:
        suite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.customers))
