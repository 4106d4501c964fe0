"""Payments' InvoicesService in-process over real PostgreSQL and NATS, against a fake catalog."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.common.v1 import money_pb2
from azotte.payments.v1 import invoices_pb2 as I
from azotte.payments.v1 import invoices_pb2_grpc
from azotte_payments.adapters import proto
from azotte_payments.adapters.unit_of_work import PostgresPaymentsUnitOfWork
from azotte_payments.entrypoints.main import MIGRATIONS, build_invoices_servicer
from azotte_payments.service_layer.invoices import mark_overdue_invoices
from azotte_payments.settings import PaymentsSettings
from azotte_platform.clock import FixedClock
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime
from tests.integration.payments.payments_harness import START, FakeCatalog, storefront


def eur(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="EUR", amount_minor=amount_minor)


@dataclass
class Invoicing:
    """InvoicesService under test, its clock and catalog, and a client for one tenant at a time."""

    runtime: Runtime
    stub: invoices_pb2_grpc.InvoicesServiceStub
    catalog: FakeCatalog
    clock: FixedClock
    address: str

    def new_tenant(self, *, inclusive: bool = False) -> str:
        """A fresh tenant with storefront `de` (EUR, 19 % VAT, exclusive unless asked)."""
        tenant = f"t{uuid.uuid4().hex[:12]}"
        self.catalog.storefronts[(tenant, "de")] = storefront(inclusive=inclusive)
        return tenant

    async def call(self, tenant: str, method: str, request: Any) -> Any:
        return await getattr(self.stub, method)(request, metadata=(("x-azotte-tenant", tenant),))

    async def issue(self, tenant: str, customer: str, *lines: I.InvoiceLine, **fields: Any) -> I.Invoice:
        """CreateInvoice(issue=True) in storefront `de`, due in 14 days unless told."""
        request = I.CreateInvoiceRequest(
            request_id=fields.pop("request_id", uuid.uuid4().hex),
            customer_id=customer,
            storefront_id="de",
            lines=list(lines),
            bill_to=fields.pop("bill_to", I.BillTo(name=f"{customer} Ltd")),
            due_in_days=fields.pop("due_in_days", 14),
            issue=True,
            **fields,
        )
        response: I.CreateInvoiceResponse = await self.call(tenant, "CreateInvoice", request)
        return response.invoice

    async def get(self, tenant: str, invoice_id: str) -> I.GetInvoiceResponse:
        response: I.GetInvoiceResponse = await self.call(
            tenant, "GetInvoice", I.GetInvoiceRequest(invoice_id=invoice_id)
        )
        return response

    def uow(self) -> PostgresPaymentsUnitOfWork:
        return PostgresPaymentsUnitOfWork(self.runtime.engine, self.runtime.clock, proto.to_event)

    async def sweep_overdue(self) -> int:
        """What the service's overdue loop does on each tick."""
        return await mark_overdue_invoices(self.uow, self.clock)

    async def ledger(self, tenant: str) -> dict[str, int]:
        async with self.uow() as uow:
            return (await uow.ledger(tenant).trial_balance("EUR")).get("EUR", {})


@asynccontextmanager
async def invoicing_service(servers: Any) -> AsyncIterator[Invoicing]:
    """Start payments (own database) with InvoicesService only, against a fake catalog."""
    catalog = FakeCatalog()  # type: ignore[abstract]
    catalog_server = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, catalog_server)
    catalog_port = catalog_server.add_insecure_port("127.0.0.1:0")
    await catalog_server.start()
    config = PaymentsSettings(
        database_url=servers.new_database_url("payments"),
        nats_url=servers.nats_url,
        sandbox_clock=False,
        catalog_addr=f"127.0.0.1:{catalog_port}",
        storefront_cache_s=0.0,
    )
    clock = FixedClock(START)
    runtime = await start_runtime("payments", config, MIGRATIONS, clock=clock)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("payments")])
    invoices_pb2_grpc.add_InvoicesServiceServicer_to_server(build_invoices_servicer(runtime), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Invoicing(runtime, invoices_pb2_grpc.InvoicesServiceStub(channel), catalog, clock, f"127.0.0.1:{port}")
    finally:
        await channel.close(None)
        await server.stop(None)
        await runtime.close()
        await catalog_server.stop(None)
