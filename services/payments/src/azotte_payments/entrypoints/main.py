"""Composition root of the payments service."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.payments.v1 import invoices_pb2, invoices_pb2_grpc, payments_pb2, payments_pb2_grpc
from azotte_payments.adapters import proto
from azotte_payments.adapters.catalog import StorefrontDirectory
from azotte_payments.adapters.charge_locks import AdvisoryChargeLocks
from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.adapters.psp.accounts import CachedAccountProviders
from azotte_payments.adapters.psp.registry import PspRegistry
from azotte_payments.adapters.psp.webhooks import PspWebhookVerifiers
from azotte_payments.adapters.sealing import CredentialKeyring
from azotte_payments.adapters.unit_of_work import PostgresPaymentsUnitOfWork
from azotte_payments.entrypoints.invoices import InvoicesServicer
from azotte_payments.entrypoints.servicer import PaymentsServicer
from azotte_payments.service_layer.charge_processor import ChargeProcessor, FaultHook
from azotte_payments.service_layer.charges import ChargeDesk
from azotte_payments.service_layer.invoices import (
    InvoiceTools,
    mark_overdue_invoices,
    render_documents,
    send_reminders,
)
from azotte_payments.settings import PaymentsSettings
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = logging.getLogger(__name__)


def settings_of(runtime: Runtime) -> PaymentsSettings:
    """The runtime's settings as payments settings."""
    settings = runtime.settings
    return settings if isinstance(settings, PaymentsSettings) else PaymentsSettings(**settings.model_dump())


def build_servicer(runtime: Runtime, *, fault: FaultHook | None = None) -> tuple[PaymentsServicer, ChargeProcessor]:
    """Wire the servicer and the charge processor; `fault` lets tests interrupt a charge."""
    settings = settings_of(runtime)

    def uow() -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(runtime.engine, runtime.clock, proto.to_event)

    keyring = CredentialKeyring.parse(settings.payments_keks.get_secret_value())
    accounts = CachedAccountProviders(uow, keyring, settings, settings.psp_account_cache_s)
    psps = PspRegistry.from_settings(settings, runtime.clock, accounts)
    runtime.on_close(psps.aclose)
    catalog = catalog_pb2_grpc.CatalogServiceStub(connect(settings.catalog_addr))
    storefronts = StorefrontDirectory(catalog, runtime.clock, timedelta(seconds=settings.storefront_cache_s))
    locks = AdvisoryChargeLocks(runtime.engine)
    processor = ChargeProcessor(uow, psps, locks, runtime.clock, settings.db_pool_size, fault)
    desk = ChargeDesk(uow, storefronts, processor, settings.charge_wait_s, max(1, settings.db_pool_size // 2))
    return PaymentsServicer(Units(uow), desk, psps, keyring, PspWebhookVerifiers()), processor


def build_invoices_servicer(runtime: Runtime) -> InvoicesServicer:
    """Wire InvoicesService: the catalog's storefront terms and the PDF template."""
    settings = settings_of(runtime)

    def uow() -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(runtime.engine, runtime.clock, proto.to_event)

    catalog = catalog_pb2_grpc.CatalogServiceStub(connect(settings.catalog_addr))
    storefronts = StorefrontDirectory(catalog, runtime.clock, timedelta(seconds=settings.storefront_cache_s))
    return InvoicesServicer(Units(uow), InvoiceTools(storefronts, ReportlabInvoiceRenderer()))


class OverdueSweep:
    """Marks invoices past their due date (by their tenant's clock) overdue and publishes the reminders whose day
    came: every `interval_s` seconds, and at once when a sandbox tenant's clock moves."""

    def __init__(self, runtime: Runtime, interval_s: float):
        self._runtime = runtime
        self._interval_s = interval_s

    def _uow(self) -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(self._runtime.engine, self._runtime.clock, proto.to_event)

    async def sweep(self, _tenant_id: str = "") -> None:
        try:
            await mark_overdue_invoices(self._uow, self._runtime.clock)
            await send_reminders(self._uow, self._runtime.clock)
        except Exception:
            log.exception("marking overdue invoices or sending reminders failed")

    async def run(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(self._interval_s)


class RenderWorker:
    """Renders and stores the PDFs of issued invoices, `BATCH` claimed at a time; idle, it looks every `idle_s`."""

    BATCH = 20

    def __init__(self, runtime: Runtime, idle_s: float):
        self._runtime = runtime
        self._idle_s = idle_s
        self._renderer = ReportlabInvoiceRenderer()

    def _uow(self) -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(self._runtime.engine, self._runtime.clock, proto.to_event)

    async def run(self) -> None:
        while True:
            try:
                stored = await render_documents(self._uow, self._renderer, self.BATCH)
            except Exception:
                log.exception("rendering invoice PDFs failed")
                stored = 0
            if stored < self.BATCH:
                await asyncio.sleep(self._idle_s)


class ReconcileLoop:
    """Every `interval_s` seconds, resumes open charges left untouched for `after_s` seconds."""

    def __init__(self, processor: ChargeProcessor, interval_s: float, after_s: float):
        self._processor = processor
        self._interval_s = interval_s
        self._untouched_for = timedelta(seconds=after_s)

    async def run(self) -> None:
        while True:
            try:
                await self._processor.reconcile_open_charges(self._untouched_for)
            except Exception:
                log.exception("charge reconciliation failed")
            await asyncio.sleep(self._interval_s)


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register PaymentsService and start the reconciliation loop."""
    servicer, processor = build_servicer(runtime)
    payments_pb2_grpc.add_PaymentsServiceServicer_to_server(servicer, server)
    settings = settings_of(runtime)
    runtime.spawn(ReconcileLoop(processor, settings.reconcile_interval_s, settings.reconcile_after_s).run)
    invoices_pb2_grpc.add_InvoicesServiceServicer_to_server(build_invoices_servicer(runtime), server)
    overdue = OverdueSweep(runtime, settings.invoice_overdue_interval_s)
    runtime.spawn(overdue.run)
    runtime.on_clock_change(overdue.sweep)
    # NOTE: bounded: each worker renders one PDF at a time, and workers claim different invoices (SKIP LOCKED).
    for _ in range(settings.invoice_render_workers):
        runtime.spawn(RenderWorker(runtime, settings.invoice_render_idle_s).run)
    return [
        payments_pb2.DESCRIPTOR.services_by_name["PaymentsService"].full_name,
        invoices_pb2.DESCRIPTOR.services_by_name["InvoicesService"].full_name,
    ]


def run() -> None:
    run_service(ServiceSpec("payments", MIGRATIONS, PaymentsSettings, build))
