"""Invoice reminders (days before and after due, once each, never once nothing is owed), batch issuing, and PDFs
rendered after the issuing transaction (on demand the same bytes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import invoices_pb2 as I
from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.domain.events import InvoiceReminded
from azotte_payments.domain.invoices import BillTo, Invoice, InvoiceLine, IssueTerms, LineKind, new_payment_reference
from azotte_payments.service_layer import bank_transfers, invoices
from azotte_platform.errors import InvalidArgument
from azotte_platform.tax import TaxMode, TaxPolicy
from tests.unit.payments.fakes import TENANT
from tests.unit.payments.invoice_fakes import FakeInvoicing
from tests.unit.payments.test_payments_use_cases_invoices import call, eur, invoice_request, issue

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def billing() -> FakeInvoicing:
    return FakeInvoicing.build()


def _issued(*reminder_days: int, due_in_days: int = 14) -> Invoice:
    invoice = Invoice(
        "in_1", "cus_1", "de", "EUR", (InvoiceLine(LineKind.RECURRING, "Plan", 100_000),), BillTo("ACME GmbH"),
        due_in_days, NOW, reminder_days=reminder_days,
    )  # fmt: skip
    policy = TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.19"))
    invoice.issue(IssueTerms(policy, "DE", "INV-DE-000001", new_payment_reference(), NOW))
    invoice.events.clear()
    return invoice


def reminded(invoice: Invoice) -> list[int]:
    return [fact.offset_days for fact in invoice.events if isinstance(fact, InvoiceReminded)]


def test_reminders_come_before_and_after_the_due_date_each_once() -> None:
    invoice = _issued(-3, 2, 0)  # due 2026-03-15
    assert invoice.next_reminder_on == date(2026, 3, 12)
    assert invoice.remind(date(2026, 3, 11)) == 0
    assert invoice.remind(date(2026, 3, 12)) == 1 and invoice.next_reminder_on == date(2026, 3, 15)
    # A sweep that did not run for days sends every day come, in order, and nothing twice.
    assert invoice.remind(date(2026, 3, 20)) == 2 and invoice.remind(date(2026, 3, 30)) == 0
    assert reminded(invoice) == [-3, 0, 2] and invoice.next_reminder_on is None


def test_a_day_already_gone_at_issue_is_dropped_not_sent_late() -> None:
    invoice = _issued(-20, -14, -13, 5)  # issued 2026-03-01, due 2026-03-15: -20 and -14 are gone
    assert invoice.reminders_pending == (-13, 5)
    assert invoice.remind(date(2026, 3, 2)) == 1 and reminded(invoice) == [-13]


@pytest.mark.parametrize(
    "settle",
    [
        lambda invoice: invoice.receive(119_000, NOW),
        lambda invoice: invoice.void("by mistake", NOW),
        lambda invoice: invoice.write_off("gone", NOW),
    ],
    ids=["paid", "void", "uncollectible"],
)
def test_no_reminder_once_nothing_is_owed(settle: Any) -> None:
    invoice = _issued(-3, 2)
    settle(invoice)
    assert invoice.next_reminder_on is None
    assert invoice.remind(date(2026, 4, 1)) == 0 and reminded(invoice) == []


async def test_the_sweep_publishes_each_reminder_once_and_none_after_payment(billing: FakeInvoicing) -> None:
    invoice = await issue(billing, reminder_days=[-3, 2])  # due in 14 days
    due_on = date.fromisoformat(invoice.due_date)
    assert list(invoice.reminder_days) == [-3, 2]
    assert invoice.next_reminder_date == (due_on - timedelta(days=3)).isoformat()

    def payloads() -> list[events_pb2.InvoiceReminder]:
        published = billing.state.published
        return [e.payload for e in published if isinstance(e.payload, events_pb2.InvoiceReminder)]

    def reminders() -> list[int]:
        return [payload.offset_days for payload in payloads()]

    clock = billing.state.clock
    assert await invoices.send_reminders(billing.uow, clock) == 0
    clock.advance(timedelta(days=11), TENANT)
    assert await invoices.send_reminders(billing.uow, clock) == 1
    assert await invoices.send_reminders(billing.uow, clock) == 0  # a second sweep sends nothing again
    assert reminders() == [-3]
    (event,) = [e for e in billing.state.published if e.type == "invoice.reminder"]
    (payload,) = payloads()
    assert (event.about, payload.invoice.number, payload.invoice.balance.amount_minor) == (
        "cus_acme",
        invoice.number,
        119_000,
    )
    async with billing.uow() as uow:
        await bank_transfers.record_payment(
            uow, TENANT, bank_transfers.RecordPayment(invoice.id, 119_000, "EUR", None, "BANK-1", "", "")
        )
        await uow.commit()
    clock.advance(timedelta(days=10), TENANT)
    assert await invoices.send_reminders(billing.uow, clock) == 0 and reminders() == [-3]


@pytest.mark.parametrize(
    ("days", "problem"),
    [([1, 1], "repeat"), ([91], "between -90 and 90"), (list(range(1, 12)), "at most 10")],
)
async def test_bad_reminder_days_name_the_field(billing: FakeInvoicing, days: list[int], problem: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        await issue(billing, reminder_days=days)
    assert error.value.violations[0].field == "reminder_days" and problem in error.value.message


async def test_a_batch_issues_consecutive_numbers_and_answers_each_item_alone(billing: FakeInvoicing) -> None:
    await issue(billing)
    bad = invoice_request(lines=[I.InvoiceLine(kind=I.INVOICE_LINE_KIND_RECURRING, description="", amount=eur(1))])
    new = invoice_request()
    repeat = invoice_request(idempotency_key=new.request_id)  # the first item's key again
    batch = [new, bad, repeat, invoice_request(), I.CreateInvoiceRequest()]
    answer = await call(billing, "CreateInvoices", I.CreateInvoicesRequest(invoices=batch))
    first, refused, again, last, empty = answer.results
    assert [first.invoice.number, last.invoice.number] == ["INV-DE-000002", "INV-DE-000003"]
    assert again.invoice.id == first.invoice.id
    assert (refused.error.code, refused.error.field) == ("INVALID_ARGUMENT", "lines[0].description")
    assert (empty.error.code, empty.error.field) == ("INVALID_ARGUMENT", "request_id")
    assert len(billing.invoice_rows(TENANT)) == 3


async def test_the_pdf_is_rendered_after_issue_and_on_demand_the_same_bytes(billing: FakeInvoicing) -> None:
    invoice = await issue(billing)
    async with billing.uow() as uow:
        assert await uow.invoices(TENANT).document(invoice.id) is None  # not rendered while issuing
    on_demand = await call(billing, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=invoice.id))
    assert await invoices.render_documents(billing.uow, ReportlabInvoiceRenderer(), 10) == 1
    assert await invoices.render_documents(billing.uow, ReportlabInvoiceRenderer(), 10) == 0
    async with billing.uow() as uow:
        assert await uow.invoices(TENANT).document(invoice.id) == (on_demand.file_name, on_demand.pdf)
    draft = await issue(billing, issue=False)
    with pytest.raises(Exception, match="no issued invoice"):
        await call(billing, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=draft.id))
