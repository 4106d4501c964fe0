"""Invoice reminders under time travel on PostgreSQL and NATS (each day once, even with two sweeps at once, none
after payment); PDFs rendered after issue by the worker and on demand before it; batches numbered gap-free."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import invoices_pb2 as I
from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.service_layer.invoices import render_documents, send_reminders
from azotte_platform.clock import now_of
from azotte_platform.db.tables import outbox
from tests.helpers import eventually
from tests.integration.catalog.catalog_support import stream_events
from tests.integration.payments.invoices_harness import Invoicing, eur
from tests.integration.payments.test_payments_invoices import invoicing, recurring

__all__ = ["invoicing"]


async def reminders(invoicing: Invoicing, tenant: str) -> list[tuple[str, int, date]]:
    """(invoice, offset, the tenant's day it was published) of each invoice.reminder on the stream."""

    async def drained() -> bool:
        async with invoicing.runtime.engine.connect() as connection:
            query = sa.select(sa.func.count()).where(outbox.c.tenant_id == tenant)
            return await connection.scalar(query) == 0

    await eventually(drained)
    found = []
    for event in await stream_events(invoicing.runtime, tenant, "invoice.reminder", "payments"):
        payload = event.payload(events_pb2.InvoiceReminder)
        found.append((payload.invoice.id, payload.offset_days, event.time.date()))
    return found


async def test_reminders_come_on_their_days_once_each_and_none_after_payment(invoicing: Invoicing) -> None:
    tenant = invoicing.new_tenant()
    invoice = await invoicing.issue(tenant, "cus_slow", recurring(10_000), due_in_days=10, reminder_days=[-3, 2, 5])
    due_on = date.fromisoformat(invoice.due_date)
    clock = invoicing.clock

    async def sweep_on(day: date) -> None:
        clock.advance(timedelta(days=(day - now_of(clock, tenant).date()).days), tenant)
        # Two replicas sweep at once: each reminder still goes out once.
        await asyncio.gather(send_reminders(invoicing.uow, clock), send_reminders(invoicing.uow, clock))

    await sweep_on(due_on - timedelta(days=4))
    assert await reminders(invoicing, tenant) == []
    await sweep_on(due_on - timedelta(days=3))
    await sweep_on(due_on + timedelta(days=1))
    await invoicing.sweep_overdue()
    await sweep_on(due_on + timedelta(days=2))
    assert await reminders(invoicing, tenant) == [
        (invoice.id, -3, due_on - timedelta(days=3)),
        (invoice.id, 2, due_on + timedelta(days=2)),
    ]
    pay = I.RecordInvoicePaymentRequest(request_id=uuid.uuid4().hex, invoice_id=invoice.id, amount=eur(11_900))
    await invoicing.call(tenant, "RecordInvoicePayment", pay)
    await sweep_on(due_on + timedelta(days=6))
    assert [offset for _, offset, _ in await reminders(invoicing, tenant)] == [-3, 2]


async def test_the_pdf_is_served_on_demand_before_the_worker_and_stored_by_it(invoicing: Invoicing) -> None:
    tenant = invoicing.new_tenant()
    invoice = await invoicing.issue(tenant, "cus_pdf", recurring(10_000))
    request = I.GetInvoicePdfRequest(document_id=invoice.id)
    before: I.GetInvoicePdfResponse = await invoicing.call(tenant, "GetInvoicePdf", request)
    assert before.file_name == f"{invoice.number}.pdf" and before.pdf.startswith(b"%PDF")
    async with invoicing.uow() as uow:
        assert await uow.invoices(tenant).document(invoice.id) is None

    renderer = ReportlabInvoiceRenderer()
    while await render_documents(invoicing.uow, renderer, 50):
        pass
    async with invoicing.uow() as uow:
        assert await uow.invoices(tenant).document(invoice.id) == (before.file_name, before.pdf)
    after: I.GetInvoicePdfResponse = await invoicing.call(tenant, "GetInvoicePdf", request)
    assert after.pdf == before.pdf


async def test_concurrent_batches_and_single_issues_number_gap_free(invoicing: Invoicing) -> None:
    tenant = invoicing.new_tenant()

    def request(n: int) -> I.CreateInvoiceRequest:
        return I.CreateInvoiceRequest(
            request_id=uuid.uuid4().hex, customer_id=f"cus_{n}", storefront_id="de", lines=[recurring(1_000 + n)],
            bill_to=I.BillTo(name=f"Customer {n}"), due_in_days=30, issue=True,
        )  # fmt: skip

    bad = request(99)
    bad.lines[0].description = ""
    batches = [I.CreateInvoicesRequest(invoices=[request(b * 10 + n) for n in range(10)] + [bad]) for b in range(4)]
    singles = [invoicing.call(tenant, "CreateInvoice", request(100 + n)) for n in range(10)]
    answers = await asyncio.gather(*(invoicing.call(tenant, "CreateInvoices", b) for b in batches), *singles)
    numbers = [r.invoice.number for answer in answers[:4] for r in answer.results if r.HasField("invoice")]
    numbers += [answer.invoice.number for answer in answers[4:]]
    assert sorted(numbers) == [f"INV-DE-{n:06d}" for n in range(1, 51)]
    assert all(answer.results[-1].error.field == "lines[0].description" for answer in answers[:4])
