"""Composition root of the lifecycle service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.lifecycle.v1 import lifecycle_pb2, lifecycle_pb2_grpc
from azotte_lifecycle.adapters import proto
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_lifecycle.adapters.metering import GrpcMetering
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.adapters.unit_of_work import PostgresLifecycleUnitOfWork
from azotte_lifecycle.entrypoints.servicer import LifecycleServicer
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Metering, Payments
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = lifecycle_pb2.DESCRIPTOR.services_by_name["LifecycleService"].full_name


@dataclass(frozen=True)
class Lifecycle:
    """The assembled service: its servicer and its scheduler."""

    servicer: LifecycleServicer
    scheduler: Scheduler


def assemble(
    runtime: Runtime,
    catalog: Catalog,
    payments: Payments,
    settings: LifecycleSettings,
    metering: Metering | None = None,
) -> Lifecycle:
    """Wire the use cases to a runtime and the catalog/payments dependencies (and metering, when deployed)."""

    def uow() -> LifecycleUnitOfWork:
        return PostgresLifecycleUnitOfWork(runtime.engine, "lifecycle", runtime.clock, proto.to_event)

    scheduler = Scheduler(
        uow,
        catalog,
        payments,
        runtime.clock,
        SchedulerSettings(
            batch_size=settings.scheduler_batch_size,
            parallel_batches=settings.scheduler_parallel_batches,
            unsettled_delay=timedelta(seconds=settings.scheduler_unsettled_delay_s),
            max_idle_seconds=settings.scheduler_max_idle_s,
        ),
        metering,
    )
    return Lifecycle(LifecycleServicer(Units(uow), catalog, payments, scheduler), scheduler)


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Serve LifecycleService and run the scheduler in the background."""
    settings = runtime.settings
    assert isinstance(settings, LifecycleSettings)
    catalog = GrpcCatalog(connect(settings.catalog_addr))
    payments = GrpcPayments(connect(settings.payments_addr))
    metering = GrpcMetering(connect(settings.metering_addr))
    lifecycle = assemble(runtime, catalog, payments, settings, metering)
    lifecycle_pb2_grpc.add_LifecycleServiceServicer_to_server(lifecycle.servicer, server)
    if settings.scheduler_enabled:
        runtime.spawn(lifecycle.scheduler.run_forever)
        runtime.on_clock_change(lifecycle.scheduler.on_clock_change)
    return [SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("lifecycle", MIGRATIONS, LifecycleSettings, build))
