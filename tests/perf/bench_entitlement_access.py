"""Access checks on the whole suite: CheckAccess through the gateway's gRPC (as a device app calls it,
with a publishable key), and on the entitlement service directly, versus a bare grpc.aio server that
answers the gateway's CheckAccess with a constant — same client, same machine, one run. Then the
event-to-access lag: a lifecycle event published into NATS until the gateway's answer reflects it.

Usage: .venv/bin/python tests/perf/bench_entitlement_access.py [--checks N] [--concurrency C] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.client import JetStreamContext

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_platform.context import TENANT_HEADER
from azotte_platform.events.envelope import binary_headers, subject_for
from azotte_stack.processes import free_port, spawn, stop, wait_until
from azotte_stack.readiness import wait_listening
from azotte_stack.suite import Suite

TENANT = "sandbox"
PLAN, FEATURE = "standard_monthly", "hd_streaming"
CUSTOMERS = 1_000
LAG_SAMPLES = 200
Check = Callable[[str], Awaitable[bool]]


class ConstantAnswer(gateway_pb2_grpc.GatewayServiceServicer):
    """The floor: a grpc.aio server that answers the gateway's CheckAccess with the same allowed decision."""

    ANSWER = gw.CheckAccessResponse(decision=gw.AccessDecision(feature_key=FEATURE, allowed=True))

    async def CheckAccess(self, request: gw.CheckAccessRequest, context: Any) -> gw.CheckAccessResponse:
        return self.ANSWER


async def serve_constant(port: int) -> None:
    server = grpc.aio.server()
    gateway_pb2_grpc.add_GatewayServiceServicer_to_server(ConstantAnswer(), server)  # type: ignore[abstract]
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def report(name: str, latencies: list[float], elapsed: float | None = None) -> float:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[int(len(ordered) * 0.99)] * 1e3
    rate = len(ordered) / elapsed if elapsed else 0.0
    shown = f"  throughput={rate:8.0f}/s" if elapsed else ""
    print(
        f"{name:<50} n={len(ordered):>6}  p50={p50:7.3f}ms  p99={p99:7.3f}ms  "
        f"mean={statistics.fmean(ordered) * 1e3:7.3f}ms{shown}",
        flush=True,
    )
    return rate


def timestamp(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


async def publish_activation(js: JetStreamContext, customer: str) -> None:
    """A subscription.activated event exactly as lifecycle's outbox relay publishes it."""
    now = datetime.now(UTC)
    subscription = lifecycle_pb2.Subscription(
        id=f"sub-{customer}",
        customer_id=customer,
        plan_id=PLAN,
        state=subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE,
        current_period_start_time=timestamp(now - timedelta(days=1)),
        current_period_end_time=timestamp(now + timedelta(days=30)),
        create_time=timestamp(now - timedelta(days=1)),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, occur_time=timestamp(now))
    headers = binary_headers(
        event_id=str(uuid.uuid4()),
        event_type="subscription.activated",
        source="azotte/lifecycle",
        tenant_id=TENANT,
        time=now,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await js.publish(
        subject_for("lifecycle", TENANT, "subscription.activated"), payload.SerializeToString(), headers=headers
    )


def gateway_check(channel: grpc.aio.Channel, key: str) -> Check:
    stub = gateway_pb2_grpc.GatewayServiceStub(channel)
    metadata = (("authorization", f"Bearer {key}"),)

    async def check(customer: str) -> bool:
        request = gw.CheckAccessRequest(customer_id=customer, feature_key=FEATURE)
        return bool((await stub.CheckAccess(request, metadata=metadata)).decision.allowed)

    return check


def entitlement_check(channel: grpc.aio.Channel) -> Check:
    stub = entitlement_pb2_grpc.EntitlementServiceStub(channel)
    metadata = ((TENANT_HEADER, TENANT),)

    async def check(customer: str) -> bool:
        request = ent.CheckAccessRequest(customer_id=customer, feature_key=FEATURE)
        return bool((await stub.CheckAccess(request, metadata=metadata)).allowed)

    return check


async def bench_checks(label: str, check: Check, checks: int, concurrency: int, customers: list[str]) -> float:
    for customer in customers[:100]:
        assert await check(customer), f"{label}: {customer} has no access"
    latencies: list[float] = []

    async def caller(index: int) -> None:
        for i in range(index, checks, concurrency):
            t0 = time.perf_counter()
            await check(customers[i % len(customers)])
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    return report(f"{label}, {concurrency} caller(s)", latencies, time.perf_counter() - started)


async def compare(targets: dict[str, Check], checks: int, callers: int, rounds: int, customers: list[str]) -> None:
    """Run every target in turn, `rounds` times, so that the machine's drift touches each alike."""
    rates: dict[str, list[float]] = {label: [] for label in targets}
    for _ in range(rounds):
        for label, check in targets.items():
            rates[label].append(await bench_checks(label, check, checks, callers, customers))
    medians = {label: statistics.median(r) for label, r in rates.items()}
    bare, gateway = medians["bare grpc.aio constant answer"], medians["gateway gRPC CheckAccess"]
    print(
        f"  median of {rounds} rounds with {callers} caller(s): bare {bare:.0f}/s, "
        f"entitlement {medians['entitlement service CheckAccess']:.0f}/s, gateway {gateway:.0f}/s "
        f"= {gateway / bare:.0%} of bare",
        flush=True,
    )


async def bench_lag(js: JetStreamContext, check: Check, customers: list[str]) -> None:
    """Publish a lifecycle event, then check through the gateway until the answer reflects it."""
    lags = []
    for customer in customers:
        t0 = time.perf_counter()
        await publish_activation(js, customer)
        while not await check(customer):
            pass
        lags.append(time.perf_counter() - t0)
    report("event-to-access lag (lifecycle event -> gateway)", lags)


async def publishable_key(suite: Suite) -> str:
    """Apply the OTT example catalog and create a publishable key, as a tenant admin would."""
    async with perf_suite.admin_client(suite) as http:
        await perf_suite.apply_catalog(http)
        body = {"request_id": uuid.uuid4().hex, "display_name": "bench app", "role": "publishable"}
        created = await http.post("/v1/api-keys", json=body)
        created.raise_for_status()
        return str(created.json()["secret"])


async def register_customers(suite: Suite, count: int) -> list[str]:
    """Customers registered in lifecycle (the gateway answers NOT_FOUND for any other customer id)."""
    async with perf_suite.admin_client(suite) as http:

        async def register() -> str:
            body = {"request_id": uuid.uuid4().hex, "external_id": uuid.uuid4().hex, "country_code": "US"}
            created = await http.post("/v1/customers", json=body)
            assert created.status_code == 200, created.text
            return str(created.json()["customer"]["id"])

        ids: list[str] = []
        for start in range(0, count, 50):
            ids += await asyncio.gather(*(register() for _ in range(min(50, count - start))))
        return ids


async def main(checks: int, concurrency: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        root = Path(tmp)
        suite = perf_suite.unlimited_suite(root)
        bare_port = free_port()
        bare = spawn([sys.executable, __file__, "--constant-server", str(bare_port)], log_file=root / "bare.log")
        await suite.start()
        await wait_listening(bare_port, timeout=30, what="constant server", process=bare)
        client = await nats.connect(suite.nats_url)
        try:
            key = await publishable_key(suite)
            js = client.jetstream()
            async with (
                grpc.aio.insecure_channel(suite.address("gateway")) as gateway,
                grpc.aio.insecure_channel(suite.address("entitlement")) as entitlement,
                grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as constant,
            ):
                through_gateway, direct = gateway_check(gateway, key), entitlement_check(entitlement)
                customers = await register_customers(suite, CUSTOMERS)
                for customer in customers:
                    await publish_activation(js, customer)
                for customer in customers:
                    await wait_until(
                        functools.partial(through_gateway, customer), timeout=60, what=f"access of {customer}"
                    )
                targets = {
                    "bare grpc.aio constant answer": gateway_check(constant, key),
                    "entitlement service CheckAccess": direct,
                    "gateway gRPC CheckAccess": through_gateway,
                }
                for callers in (1, concurrency):
                    await compare(targets, checks if callers > 1 else checks // 4, callers, rounds, customers)
                await bench_lag(js, through_gateway, await register_customers(suite, LAG_SAMPLES))
        finally:
            await client.close()
            stop(bare)
            suite.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--constant-server"]:
        uvloop.run(serve_constant(int(sys.argv[2])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--checks", type=int, default=20_000)
        parser.add_argument("--concurrency", type=int, default=32)
        parser.add_argument("--rounds", type=int, default=3)
        args = parser.parse_args()
        uvloop.run(main(args.checks, args.concurrency, args.rounds))
