"""Composition root of the lifecycle service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.lifecycle.v1 import contracts_pb2, contracts_pb2_grpc, lifecycle_pb2, lifecycle_pb2_grpc
from azotte_lifecycle.adapters import contract_proto, proto
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_lifecycle.adapters.metering import GrpcMetering
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.adapters.promotions import GrpcPromotionBudgets
from azotte_lifecycle.adapters.unit_of_work import PostgresLifecycleUnitOfWork
from azotte_lifecycle.entrypoints.contracts_servicer import ContractsServicer
from azotte_lifecycle.entrypoints.servicer import LifecycleServicer
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Metering, Payments, PromotionBudgets
from azotte_lifecycle.service_layer import contracts
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units
from azotte_platform.tenant_cache import follow_changes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = lifecycle_pb2.DESCRIPTOR.services_by_name["LifecycleService"].full_name
CONTRACTS_SERVICE_NAME = contracts_pb2.DESCRIPTOR.services_by_name["ContractsService"].full_name
INVOICE_EVENTS = ConsumerSpec(
    durable="lifecycle-invoices", producer="payments", event_types=("invoice.overdue", "invoice.paid", "invoice.voided")
)


@dataclass(frozen=True)
class Lifecycle:
    """The assembled service: its servicers, its scheduler and what it builds units of work with."""

    servicer: LifecycleServicer
    contracts: ContractsServicer
    scheduler: Scheduler
    uow: Callable[[], PostgresLifecycleUnitOfWork]


def invoice_follower(payments: Payments) -> Callable[[PostgresLifecycleUnitOfWork, ReceivedEvent], Awaitable[None]]:
    """The handler of payments' invoice events: a contract's subscription follows its invoices."""

    async def follow_invoice(uow: PostgresLifecycleUnitOfWork, event: ReceivedEvent) -> None:
        subscription_id = contract_proto.invoiced_subscription(event)
        if subscription_id:
            cause = contract_proto.settling_cause(event)
            await contracts.follow_invoices(uow, event.tenant_id, payments, subscription_id, cause)

    return follow_invoice


def assemble(
    runtime: Runtime,
    catalog: Catalog,
    payments: Payments,
    settings: LifecycleSettings,
    metering: Metering | None = None,
    promotions: PromotionBudgets | None = None,
) -> Lifecycle:
    """Wire the use cases to a runtime and the catalog/payments dependencies (and metering and promotions, when
    deployed)."""

    def uow() -> PostgresLifecycleUnitOfWork:
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
        promotions,
    )
    units: Units[LifecycleUnitOfWork] = Units(uow)
    return Lifecycle(
        LifecycleServicer(units, catalog, payments, scheduler), ContractsServicer(units, catalog), scheduler, uow
    )


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Serve LifecycleService and run the scheduler in the background."""
    settings = runtime.settings
    assert isinstance(settings, LifecycleSettings)
    catalog = GrpcCatalog(connect(settings.catalog_addr), settings.plan_cache_ttl_seconds)
    follow_changes(runtime, "catalog", catalog.plans, catalog.prices)
    payments = GrpcPayments(connect(settings.payments_addr))
    metering = GrpcMetering(connect(settings.metering_addr))
    promotions = GrpcPromotionBudgets(connect(settings.promotions_addr))
    lifecycle = assemble(runtime, catalog, payments, settings, metering, promotions)
    lifecycle_pb2_grpc.add_LifecycleServiceServicer_to_server(lifecycle.servicer, server)
    contracts_pb2_grpc.add_ContractsServiceServicer_to_server(lifecycle.contracts, server)
    if settings.scheduler_enabled:
        runtime.spawn(lifecycle.scheduler.run_forever)
        runtime.on_clock_change(lifecycle.scheduler.on_clock_change)
    # NOTE: payments may start after lifecycle; creating its stream is idempotent.
    await nats_connection.ensure_service_stream(runtime.js, "payments")
    runtime.spawn(EventConsumer(runtime.js, lifecycle.uow, INVOICE_EVENTS, invoice_follower(payments)).run_forever)
    return [SERVICE_NAME, CONTRACTS_SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("lifecycle", MIGRATIONS, LifecycleSettings, build))
