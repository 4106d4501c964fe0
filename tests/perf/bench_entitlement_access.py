"""CheckAccess throughput and latency against a running azotte-entitlement vs a bare grpc.aio server that
returns a constant answer (same client, same machine, one run), and event-to-access lag (a lifecycle
event published into NATS until CheckAccess reflects it).

Usage: .venv/bin/python tests/perf/bench_entitlement_access.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.client import JetStreamContext

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_platform.context import TENANT_HEADER
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import binary_headers, subject_for
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, spawn, stop, wait_until

TENANT = "bench"
METADATA = ((TENANT_HEADER, TENANT),)
CUSTOMERS = 1_000
LAG_SAMPLES = 200


class Catalog(catalog_pb2_grpc.CatalogServiceServicer):
    """One plan with a boolean feature and a quota."""

    async def GetPlan(self, request: catalog_pb2.GetPlanRequest, context: Any) -> catalog_pb2.GetPlanResponse:
        grants = [catalog_pb2.FeatureGrant(feature_key="hd"), catalog_pb2.FeatureGrant(feature_key="tokens", limit=100)]
        return catalog_pb2.GetPlanResponse(plan=catalog_pb2.Plan(id=request.id, feature_grants=grants))

    async def GetFeature(self, request: catalog_pb2.GetFeatureRequest, context: Any) -> catalog_pb2.GetFeatureResponse:
        kind = catalog_pb2.FEATURE_KIND_QUOTA if request.key == "tokens" else catalog_pb2.FEATURE_KIND_BOOLEAN
        return catalog_pb2.GetFeatureResponse(feature=catalog_pb2.Feature(key=request.key, kind=kind))


class ConstantAnswer(entitlement_pb2_grpc.EntitlementServiceServicer):
    """The floor: a grpc.aio server that answers every check with the same allowed response."""

    ANSWER = pb.CheckAccessResponse(
        allowed=True, sources=[pb.GrantSourceRef(source=pb.GRANT_SOURCE_SUBSCRIPTION, source_ref="sub")]
    )

    async def CheckAccess(self, request: pb.CheckAccessRequest, context: Any) -> pb.CheckAccessResponse:
        return self.ANSWER


async def serve_constant(port: int) -> None:
    server = grpc.aio.server()
    entitlement_pb2_grpc.add_EntitlementServiceServicer_to_server(ConstantAnswer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def report(name: str, latencies: list[float], elapsed: float | None = None) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[int(len(ordered) * 0.99)] * 1e3
    rate = f"  throughput={len(ordered) / elapsed:8.0f}/s" if elapsed else ""
    print(
        f"{name:<52} n={len(ordered):>6}  p50={p50:7.3f}ms  p99={p99:7.3f}ms  "
        f"mean={statistics.fmean(ordered) * 1e3:7.3f}ms{rate}"
    )


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
        plan_id="standard",
        state=lifecycle_pb2.SUBSCRIPTION_STATE_ACTIVE,
        current_period_start_time=timestamp(now - timedelta(days=1)),
        current_period_end_time=timestamp(now + timedelta(days=30)),
        create_time=timestamp(now - timedelta(days=1)),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, occur_time=timestamp(now))
    event_id = str(uuid.uuid4())
    headers = binary_headers(
        event_id=event_id,
        event_type="subscription.activated",
        source="azotte/lifecycle",
        tenant_id=TENANT,
        time=now,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await js.publish(
        subject_for("lifecycle", TENANT, "subscription.activated"), payload.SerializeToString(), headers=headers
    )


async def bench_checks(label: str, address: str, requests: int, concurrency: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = entitlement_pb2_grpc.EntitlementServiceStub(channel)
        calls = [pb.CheckAccessRequest(customer_id=f"c{i}", feature_key="hd") for i in range(CUSTOMERS)]
        for request in calls[:100]:
            await stub.CheckAccess(request, metadata=METADATA)
        latencies: list[float] = []

        async def caller(index: int) -> None:
            for i in range(index, requests, concurrency):
                t0 = time.perf_counter()
                await stub.CheckAccess(calls[i % len(calls)], metadata=METADATA)
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(caller(i) for i in range(concurrency)))
        report(f"{label}, {concurrency} caller(s)", latencies, time.perf_counter() - started)


async def bench_lag(js: JetStreamContext, address: str) -> None:
    """Publish a lifecycle event, then check until the answer reflects it."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = entitlement_pb2_grpc.EntitlementServiceStub(channel)
        lags = []
        for i in range(LAG_SAMPLES):
            customer = f"lag-{i}"
            request = pb.CheckAccessRequest(customer_id=customer, feature_key="hd")
            t0 = time.perf_counter()
            await publish_activation(js, customer)
            while not (await stub.CheckAccess(request, metadata=METADATA)).allowed:
                pass
            lags.append(time.perf_counter() - t0)
        report("event-to-access lag (lifecycle event -> check)", lags)


async def seed(js: JetStreamContext, address: str) -> None:
    for i in range(CUSTOMERS):
        await publish_activation(js, f"c{i}")
    async with grpc.aio.insecure_channel(address) as channel:
        stub = entitlement_pb2_grpc.EntitlementServiceStub(channel)
        for i in range(CUSTOMERS):
            request = pb.CheckAccessRequest(customer_id=f"c{i}", feature_key="hd")

            async def granted(request: pb.CheckAccessRequest = request) -> bool:
                return bool((await stub.CheckAccess(request, metadata=METADATA)).allowed)

            await wait_until(granted, timeout=60, what=f"access of c{i}")


async def serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def answering(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            stub = entitlement_pb2_grpc.EntitlementServiceStub(channel)
            await stub.CheckAccess(pb.CheckAccessRequest(customer_id="c", feature_key="f"), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return True


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-entitlement-") as tmp:
        root = Path(tmp)
        postgres, nats_server = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
        await asyncio.gather(postgres.start(), nats_server.start())
        catalog = grpc.aio.server()
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(Catalog(), catalog)
        catalog_port = catalog.add_insecure_port("127.0.0.1:0")
        await catalog.start()
        port, bare_port = free_port(), free_port()
        address, bare_address = f"127.0.0.1:{port}", f"127.0.0.1:{bare_port}"
        service = spawn(
            [str(Path(sys.executable).parent / "azotte-entitlement")],
            env={
                "AZOTTE_DATABASE_URL": f"{postgres.url}/azotte_entitlement",
                "AZOTTE_NATS_URL": nats_server.url,
                "AZOTTE_GRPC_PORT": str(port),
                "AZOTTE_CATALOG_ADDR": f"127.0.0.1:{catalog_port}",
                "AZOTTE_SANDBOX_CLOCK": "false",
                "AZOTTE_LOG_LEVEL": "WARNING",
            },
            log_file=root / "entitlement.log",
        )
        bare = spawn([sys.executable, __file__, "--constant-server", str(bare_port)], log_file=root / "bare.log")
        client = await nats.connect(nats_server.url)
        try:
            js = client.jetstream()
            await nats_connection.ensure_service_stream(js, "lifecycle")
            await wait_until(lambda: serving(address), timeout=90, what="azotte-entitlement")
            await wait_until(lambda: answering(bare_address), timeout=30, what="constant server")
            await seed(js, address)
            await bench_checks("bare grpc.aio constant answer", bare_address, 3_000, 1)
            await bench_checks("azotte-entitlement CheckAccess", address, 3_000, 1)
            await bench_checks("bare grpc.aio constant answer", bare_address, 20_000, 32)
            await bench_checks("azotte-entitlement CheckAccess", address, 20_000, 32)
            await bench_lag(js, address)
        finally:
            await client.close()
            stop(bare)
            stop(service)
            await catalog.stop(None)
            nats_server.stop()
            postgres.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--constant-server"]:
        uvloop.run(serve_constant(int(sys.argv[2])))
    else:
        uvloop.run(main())
