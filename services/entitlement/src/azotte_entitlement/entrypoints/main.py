"""Composition root of the entitlement service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.entitlement.v1 import entitlement_pb2, entitlement_pb2_grpc
from azotte_entitlement.adapters.catalog import CatalogPlans
from azotte_entitlement.adapters.unit_of_work import PostgresEntitlementUnitOfWork
from azotte_entitlement.domain.projection import AccessProjection, CustomerRef
from azotte_entitlement.entrypoints.dispute_consumer import DISPUTE_EVENTS, DisputeEventHandler
from azotte_entitlement.entrypoints.lifecycle_consumer import LIFECYCLE_EVENTS, LifecycleEventHandler
from azotte_entitlement.entrypoints.metering_consumer import (
    LIMIT_EVENTS,
    QUOTA_EVENTS,
    LimitEventHandler,
    QuotaEventHandler,
)
from azotte_entitlement.entrypoints.projection_sync import ProjectionSync
from azotte_entitlement.entrypoints.servicer import EntitlementServicer
from azotte_entitlement.service_layer.consistency import OWN_WRITES, ConsistencyGate
from azotte_entitlement.service_layer.drift_schedule import DriftSchedule
from azotte_entitlement.settings import EntitlementSettings
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import EventConsumer
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.tenant_cache import follow_changes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = entitlement_pb2.DESCRIPTOR.services_by_name["EntitlementService"].full_name


@dataclass
class Entitlement:
    """The running parts of one entitlement replica."""

    projection: AccessProjection
    servicer: EntitlementServicer
    plans: CatalogPlans
    sync: ProjectionSync
    drift: DriftSchedule
    consistency: ConsistencyGate


async def assemble(runtime: Runtime) -> Entitlement:
    """Load the projection, follow events and start the background work of one replica."""
    settings = runtime.settings
    assert isinstance(settings, EntitlementSettings)
    projection = AccessProjection()

    def uow() -> PostgresEntitlementUnitOfWork:
        return PostgresEntitlementUnitOfWork(runtime.engine, runtime.clock, applied_here)

    def applied_here(event_ids: list[str]) -> None:
        sync.applied_here(event_ids)

    plans = CatalogPlans(connect(settings.catalog_addr), settings.plan_cache_ttl_seconds)
    follow_changes(runtime, "catalog", plans.plans, plans.kinds)

    async def handled(event_ids: frozenset[str]) -> set[str]:
        async with uow() as unit:
            applied = await unit.access.handled_events(LIFECYCLE_EVENTS.durable, event_ids)
            return applied | await unit.access.handled_events(OWN_WRITES, event_ids - applied)

    async def reload(customer: CustomerRef) -> bool:
        return await sync.reload_customer(customer)

    consistency = ConsistencyGate(handled, reload, wait_seconds=settings.consistency_wait_seconds)
    sync = ProjectionSync(uow, runtime.js, projection, consistency.changed_elsewhere)
    await sync.start()
    runtime.spawn(sync.run)
    # NOTE: the lifecycle stream may not exist yet when this service starts first; creating it is idempotent.
    await nats_connection.ensure_service_stream(runtime.js, "lifecycle")
    handler = LifecycleEventHandler(plans, projection, consistency)
    consumer = EventConsumer(runtime.js, uow, LIFECYCLE_EVENTS, handler)
    runtime.spawn(consumer.run)
    await nats_connection.ensure_service_stream(runtime.js, "metering")
    limits = EventConsumer(runtime.js, uow, LIMIT_EVENTS, LimitEventHandler(projection))
    runtime.spawn(limits.run)
    quotas = EventConsumer(runtime.js, uow, QUOTA_EVENTS, QuotaEventHandler(projection))
    runtime.spawn(quotas.run)
    await nats_connection.ensure_service_stream(runtime.js, "payments")
    disputes = EventConsumer(runtime.js, uow, DISPUTE_EVENTS, DisputeEventHandler(projection))
    runtime.spawn(disputes.run)
    drift = DriftSchedule(uow, projection, plans, settings.reconcile_interval_seconds)
    runtime.spawn(drift.run)
    invite_ttl = timedelta(hours=settings.invite_ttl_hours)
    servicer = EntitlementServicer(uow, projection, plans, runtime.clock, invite_ttl, consistency)
    return Entitlement(projection, servicer, plans, sync, drift, consistency)


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register the EntitlementService on the process's gRPC server."""
    entitlement = await assemble(runtime)
    entitlement_pb2_grpc.add_EntitlementServiceServicer_to_server(entitlement.servicer, server)
    return [SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("entitlement", MIGRATIONS, EntitlementSettings, build))
