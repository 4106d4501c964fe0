"""Fixtures of the entitlement integration tests: a real replica on PostgreSQL + NATS, a catalog, lifecycle events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.client import JetStreamContext

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_entitlement.entrypoints.main import MIGRATIONS, Entitlement, assemble
from azotte_entitlement.settings import EntitlementSettings
from azotte_platform.clock import FixedClock
from azotte_platform.errors import InvalidArgument
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import binary_headers, subject_for
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.grpc.status import from_rpc_error
from azotte_platform.runtime import Runtime, start_runtime

START = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = timedelta(days=30)

FEATURES = {
    "hd_streaming": catalog_pb2.FEATURE_KIND_BOOLEAN,
    "uhd_streaming": catalog_pb2.FEATURE_KIND_BOOLEAN,
    "ai_tokens": catalog_pb2.FEATURE_KIND_QUOTA,
    "family_seats": catalog_pb2.FEATURE_KIND_SEATS,
}
PLANS = {
    "basic": [("hd_streaming", None), ("ai_tokens", 1000)],
    "premium": [("hd_streaming", None), ("uhd_streaming", None), ("ai_tokens", 5000)],
    "family": [("hd_streaming", None), ("family_seats", 4)],
}


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """The two catalog calls entitlement makes, over real gRPC; plans can be edited by tests."""

    def __init__(self) -> None:
        self.plans: dict[str, list[tuple[str, int | None]]] = {k: list(v) for k, v in PLANS.items()}

    async def GetPlan(self, request: catalog_pb2.GetPlanRequest, context: Any) -> catalog_pb2.GetPlanResponse:
        if request.id not in self.plans:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"plan {request.id} not found")
        grants = [catalog_pb2.FeatureGrant(feature_key=k, limit=limit) for k, limit in self.plans[request.id]]
        return catalog_pb2.GetPlanResponse(plan=catalog_pb2.Plan(id=request.id, feature_grants=grants))

    async def GetFeature(self, request: catalog_pb2.GetFeatureRequest, context: Any) -> catalog_pb2.GetFeatureResponse:
        return catalog_pb2.GetFeatureResponse(feature=catalog_pb2.Feature(key=request.key, kind=FEATURES[request.key]))


def ts(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


@dataclass
class Replica:
    """One entitlement replica: its runtime, assembled service and a client stub."""

    runtime: Runtime
    entitlement: Entitlement
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: entitlement_pb2_grpc.EntitlementServiceAsyncStub

    async def stop(self) -> None:
        await self.channel.close(None)
        await self.server.stop(None)
        await self.runtime.close()


@dataclass
class World:
    """A database, a clock, a catalog and helpers to run replicas and publish lifecycle events."""

    database_url: str
    nats_url: str
    catalog_addr: str
    catalog: FakeCatalog
    clock: FixedClock
    js: JetStreamContext
    tenant: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    replicas: list[Replica] = field(default_factory=list)

    async def start_replica(self, **settings: Any) -> Replica:
        config = EntitlementSettings(
            database_url=self.database_url,
            nats_url=self.nats_url,
            sandbox_clock=False,
            catalog_addr=self.catalog_addr,
            **{"plan_cache_ttl_seconds": 0.0, **settings},
        )
        runtime = await start_runtime("entitlement", config, MIGRATIONS, clock=self.clock)
        entitlement = await assemble(runtime)
        server = grpc.aio.server(interceptors=[ServiceInterceptor("entitlement")])
        entitlement_pb2_grpc.add_EntitlementServiceServicer_to_server(entitlement.servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        replica = Replica(runtime, entitlement, server, channel, entitlement_pb2_grpc.EntitlementServiceStub(channel))
        self.replicas.append(replica)
        return replica

    async def stop_replica(self, replica: Replica) -> None:
        self.replicas.remove(replica)
        await replica.stop()

    def metadata(self, principal: str = "ops@example.com") -> tuple[tuple[str, str], ...]:
        return (("x-azotte-tenant", self.tenant), ("x-azotte-principal", principal))

    async def check(self, replica: Replica, customer_id: str, feature_key: str) -> pb.CheckAccessResponse:
        request = pb.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key)
        response: pb.CheckAccessResponse = await replica.stub.CheckAccess(request, metadata=self.metadata())
        return response

    async def publish_lifecycle(
        self,
        event_type: str,
        subscription: lifecycle_pb2.Subscription,
        *,
        cause: str = "",
        occurred: datetime | None = None,
    ) -> str:
        """Publish a SubscriptionEvent the way lifecycle's outbox relay does."""
        event_id = str(uuid.uuid4())
        when = occurred or self.clock.now()
        payload = lifecycle_events.SubscriptionEvent(subscription=subscription, cause=cause, occur_time=ts(when))
        headers = binary_headers(
            event_id=event_id,
            event_type=event_type,
            source="azotte/lifecycle",
            tenant_id=self.tenant,
            time=when,
            data_schema=payload.DESCRIPTOR.full_name,
        )
        await self.js.publish(
            subject_for("lifecycle", self.tenant, event_type), payload.SerializeToString(), headers=headers
        )
        return event_id


def subscription(
    subscription_id: str,
    customer_id: str,
    *,
    plan_id: str = "basic",
    state: subscription_state_pb2.SubscriptionState.ValueType = subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE,
    cancel_at_period_end: bool = False,
    period_end: datetime = START + PERIOD,
) -> lifecycle_pb2.Subscription:
    """A lifecycle subscription snapshot."""
    return lifecycle_pb2.Subscription(
        id=subscription_id,
        customer_id=customer_id,
        plan_id=plan_id,
        state=state,
        cancel_at_period_end=cancel_at_period_end,
        current_period_start_time=ts(START),
        current_period_end_time=ts(period_end),
        create_time=ts(START),
    )


@pytest.fixture(scope="session")
async def catalog() -> AsyncIterator[tuple[FakeCatalog, str]]:
    fake = FakeCatalog()  # type: ignore[abstract]  # serves only the calls entitlement makes
    server = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield fake, f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
async def world(servers: Any, catalog: tuple[FakeCatalog, str]) -> AsyncIterator[World]:
    """A fresh database and tenant; replicas started through it are stopped at the end."""
    import nats

    client = await nats.connect(servers.nats_url)
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, "lifecycle")
    fake, address = catalog
    fake.plans = {k: list(v) for k, v in PLANS.items()}
    world = World(
        servers.new_database_url("entitlement"),
        servers.nats_url,
        address,
        fake,
        FixedClock(START + timedelta(days=1)),
        js,
    )
    yield world
    for replica in list(world.replicas):
        await replica.stop()
    await client.close()


@pytest.fixture
async def replica(world: World) -> Replica:
    return await world.start_replica()


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The request fields an INVALID_ARGUMENT error names (from its BadRequest details)."""
    typed = from_rpc_error(error)
    assert isinstance(typed, InvalidArgument), error
    return [v.field for v in typed.violations]
