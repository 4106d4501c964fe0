"""Invoice use cases over fakes: gap-free numbering, idempotent issuing, matching transfers, ledger and events."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from azotte.common.v1 import money_pb2
from azotte.payments.v1 import invoices_pb2 as I
from azotte_payments.domain.bank_statements import StatementFormat
from azotte_payments.service_layer import bank_transfers, invoices
from azotte_platform.context import tenant_scope
from azotte_platform.errors import AzotteError, InvalidArgument
from tests.unit.payments.fakes import TENANT
from tests.unit.payments.invoice_fakes import FakeInvoicing

NO_CONTEXT: Any = None


@pytest.fixture
def billing() -> FakeInvoicing:
    return FakeInvoicing.build()


def eur(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="EUR", amount_minor=amount_minor)


def invoice_request(amount: int = 119_000, *, issue: bool = True, **fields: Any) -> I.CreateInvoiceRequest:
    recurring = I.InvoiceLine(kind=I.INVOICE_LINE_KIND_RECURRING, description="Enterprise plan", amount=eur(amount))
    lines = fields.pop("lines") if "lines" in fields else [recurring]
    return I.CreateInvoiceRequest(
        request_id=fields.pop("request_id", uuid.uuid4().hex),
        customer_id=fields.pop("customer_id", "cus_acme"),
        storefront_id="de",
        lines=lines,
        bill_to=fields.pop("bill_to", I.BillTo(name="ACME GmbH")),
        due_in_days=14,
        issue=issue,
        **fields,
    )


def line(kind: int = I.INVOICE_LINE_KIND_RECURRING, **fields: Any) -> I.InvoiceLine:
    return I.InvoiceLine(kind=kind, description="x", amount=fields.pop("amount", eur(1)), **fields)  # type: ignore[arg-type]


async def call(billing: FakeInvoicing, method: str, request: Any) -> Any:
    with tenant_scope(TENANT):
        return await getattr(billing.servicer, method)(request, NO_CONTEXT)


async def issue(billing: FakeInvoicing, amount: int = 119_000, **fields: Any) -> I.Invoice:
    response: I.CreateInvoiceResponse = await call(billing, "CreateInvoice", invoice_request(amount, **fields))
    return response.invoice


async def test_numbers_are_gap_free_per_storefront_and_drafts_get_none(billing: FakeInvoicing) -> None:
    draft = await issue(billing, issue=False)
    assert draft.status == I.INVOICE_STATUS_DRAFT and draft.number == "" and draft.payment_reference == ""
    first = await issue(billing)
    # A failed issue (a draft without lines cannot be issued) takes no number.
    empty = await call(billing, "CreateInvoice", invoice_request(issue=False, lines=[]))
    with pytest.raises(InvalidArgument):
        await call(billing, "IssueInvoice", I.IssueInvoiceRequest(request_id="r1", invoice_id=empty.invoice.id))
    issued_draft = await call(billing, "IssueInvoice", I.IssueInvoiceRequest(request_id="r2", invoice_id=draft.id))
    assert [first.number, issued_draft.invoice.number] == ["INV-DE-000001", "INV-DE-000002"]
    assert first.payment_reference != issued_draft.invoice.payment_reference


async def test_issuing_is_idempotent_on_the_request_id_and_the_key(billing: FakeInvoicing) -> None:
    request = invoice_request()
    first = (await call(billing, "CreateInvoice", request)).invoice
    again = (await call(billing, "CreateInvoice", request)).invoice
    by_key = await issue(billing, idempotency_key=request.request_id)
    assert first.id == again.id == by_key.id and first.number == "INV-DE-000001"
    assert len(billing.invoice_rows(TENANT)) == 1
    issued = [event for event in billing.state.published if event.type == "invoice.issued"]
    assert len(issued) == 1 and issued[0].about == "cus_acme"


async def test_issuing_books_receivable_revenue_and_tax_and_stores_a_pdf(billing: FakeInvoicing) -> None:
    invoice = await issue(billing, 100_000)  # storefront de: 19 % included
    assert (invoice.net.amount_minor, invoice.tax.amount_minor, invoice.total.amount_minor) == (84_034, 15_966, 100_000)
    async with billing.uow() as uow:
        balances = await uow.ledger(TENANT).trial_balance("EUR")
    assert balances["EUR"] == {"accounts_receivable": 100_000, "gross_sales": -84_034, "tax_payable": -15_966}
    pdf = await call(billing, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=invoice.id))
    assert pdf.file_name == "INV-DE-000001.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.pdf)).pages)
    assert "INV-DE-000001" in text and invoice.payment_reference in text and "€1,000.00" in text


async def test_a_statement_matches_by_reference_and_amount_and_queues_the_rest(billing: FakeInvoicing) -> None:
    exact, partial, over = [await issue(billing, amount) for amount in (10_000, 20_000, 30_000)]
    spaced = f"{partial.payment_reference[:4]} {partial.payment_reference[4:]}"
    statement = (
        "date,amount,currency,remittance,payer,transaction_id\n"
        f"2026-03-20,100.00,EUR,{exact.payment_reference},ACME,T1\n"
        f"2026-03-20,150.00,EUR,Invoice {partial.number} / {spaced},ACME,T2\n"
        f"2026-03-20,305.00,EUR,{over.payment_reference.lower()},ACME,T3\n"
        "2026-03-20,52.00,EUR,no idea,Stranger,T4\n"
    ).encode()
    request = I.ImportBankStatementRequest(
        request_id="imp1", format=I.STATEMENT_FORMAT_CSV, content=statement, file_name="march.csv"
    )
    imported = await call(billing, "ImportBankStatement", request)
    assert (imported.statement.matched, imported.statement.unmatched, imported.statement.duplicates) == (3, 1, 0)
    states = {p.invoice_id: (p.applied.amount_minor, p.excess.amount_minor) for p in imported.payments}
    assert states == {exact.id: (10_000, 0), partial.id: (15_000, 0), over.id: (30_000, 500), "": (0, 0)}
    got = {i: (await call(billing, "GetInvoice", I.GetInvoiceRequest(invoice_id=i))).invoice for i in states if i}
    assert got[exact.id].status == I.INVOICE_STATUS_PAID
    assert got[partial.id].status == I.INVOICE_STATUS_PARTIALLY_PAID and got[partial.id].balance.amount_minor == 5_000
    assert got[over.id].status == I.INVOICE_STATUS_PAID
    async with billing.uow() as uow:
        assert (await uow.credits(TENANT).get("cus_acme", "EUR")).balance_minor == 500
        balances = (await uow.ledger(TENANT).trial_balance("EUR"))["EUR"]
    assert balances["bank"] == 60_700 and balances["unapplied_cash"] == -5_200
    assert balances["accounts_receivable"] == 5_000 and sum(balances.values()) == 0

    # The same file again (another request id) records nothing.
    again = await call(billing, "ImportBankStatement", I.ImportBankStatementRequest(
        request_id="imp2", format=I.STATEMENT_FORMAT_CSV, content=statement, file_name="march-again.csv"
    ))  # fmt: skip
    assert again.statement.id == imported.statement.id and list(again.payments) == []

    # An operator assigns the queued transfer to the partly paid invoice.
    queue = await call(billing, "ListBankPayments", I.ListBankPaymentsRequest(status=I.BANK_PAYMENT_STATUS_UNMATCHED))
    [queued] = queue.payments
    assert queued.unmatched_reason == "no_reference"
    assigned = await call(billing, "AssignBankPayment", I.AssignBankPaymentRequest(
        request_id="a1", payment_id=queued.id, invoice_id=partial.id
    ))  # fmt: skip
    assert assigned.invoice.status == I.INVOICE_STATUS_PAID and assigned.payment.excess.amount_minor == 200
    with pytest.raises(AzotteError, match="already pays"):
        await call(billing, "AssignBankPayment", I.AssignBankPaymentRequest(
            request_id="a2", payment_id=queued.id, invoice_id=over.id
        ))  # fmt: skip


async def test_an_overlapping_statement_and_an_operators_entry_record_a_transfer_once(billing: FakeInvoicing) -> None:
    invoice = await issue(billing, 50_000)
    recorded = await call(billing, "RecordInvoicePayment", I.RecordInvoicePaymentRequest(
        request_id="p1", invoice_id=invoice.id, amount=eur(20_000), bank_reference="BANK-9", payer="ACME"
    ))  # fmt: skip
    assert recorded.invoice.status == I.INVOICE_STATUS_PARTIALLY_PAID
    camt = f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
      <Ntry><Amt Ccy="EUR">200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-16</Dt></BookgDt>
       <AcctSvcrRef>BANK-9</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{invoice.payment_reference}</Ustrd></RmtInf>
       </TxDtls></NtryDtls></Ntry>
      <Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-17</Dt></BookgDt>
       <AcctSvcrRef>BANK-10</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{invoice.payment_reference}</Ustrd></RmtInf>
       </TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>""".encode()
    imported = await call(billing, "ImportBankStatement", I.ImportBankStatementRequest(
        request_id="i1", format=I.STATEMENT_FORMAT_CAMT053, content=camt
    ))  # fmt: skip
    assert (imported.statement.matched, imported.statement.duplicates) == (1, 1)
    paid = (await call(billing, "GetInvoice", I.GetInvoiceRequest(invoice_id=invoice.id))).invoice
    assert paid.status == I.INVOICE_STATUS_PAID and paid.paid.amount_minor == 50_000


async def test_overdue_sweep_follows_each_tenants_clock(billing: FakeInvoicing) -> None:
    invoice = await issue(billing)
    assert await invoices.mark_overdue_invoices(billing.uow, billing.state.clock) == 0
    billing.state.clock.advance(timedelta(days=15), TENANT)
    assert await invoices.mark_overdue_invoices(billing.uow, billing.state.clock) == 1
    got = (await call(billing, "GetInvoice", I.GetInvoiceRequest(invoice_id=invoice.id))).invoice
    assert got.status == I.INVOICE_STATUS_OVERDUE
    assert [e.type for e in billing.state.published if e.type.startswith("invoice.")] == [
        "invoice.issued",
        "invoice.overdue",
    ]


async def test_the_overdue_sweep_works_through_every_batch(billing: FakeInvoicing) -> None:
    for _ in range(5):
        await issue(billing)
    billing.state.clock.advance(timedelta(days=15))
    assert await invoices.mark_overdue_invoices(billing.uow, billing.state.clock, batch=2) == 5
    assert await invoices.mark_overdue_invoices(billing.uow, billing.state.clock, batch=2) == 0


async def test_void_reverses_the_entry_and_a_credit_note_after_payment_credits_the_customer(
    billing: FakeInvoicing,
) -> None:
    voided = await issue(billing, 10_000)
    response = await call(billing, "VoidInvoice", I.VoidInvoiceRequest(request_id="v1", invoice_id=voided.id))
    assert response.invoice.status == I.INVOICE_STATUS_VOID
    paid = await issue(billing, 11_900)
    await call(billing, "RecordInvoicePayment", I.RecordInvoicePaymentRequest(
        request_id="p1", invoice_id=paid.id, amount=eur(11_900)
    ))  # fmt: skip
    with pytest.raises(AzotteError):
        await call(billing, "VoidInvoice", I.VoidInvoiceRequest(request_id="v2", invoice_id=paid.id))
    note = await call(billing, "CreateCreditNote", I.CreateCreditNoteRequest(
        request_id="c1", invoice_id=paid.id, amount=eur(11_900), reason="dispute"
    ))  # fmt: skip
    assert note.credit_note.number == "CN-DE-000001" and note.credit_note.tax.amount_minor == 1_900
    assert note.credit_note.refunded_to_credit.amount_minor == 11_900
    async with billing.uow() as uow:
        balances = (await uow.ledger(TENANT).trial_balance("EUR"))["EUR"]
        assert (await uow.credits(TENANT).get("cus_acme", "EUR")).balance_minor == 11_900
    assert balances["accounts_receivable"] == 0 and balances["tax_payable"] == 0
    assert balances["refunds"] == 10_000 and balances["customer_credit"] == -11_900
    pdf = await call(billing, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=note.credit_note.id))
    assert pdf.file_name == "CN-DE-000001.pdf" and pdf.pdf.startswith(b"%PDF")


async def test_bad_input_names_the_field(billing: FakeInvoicing) -> None:
    usd = money_pb2.Money(currency_code="USD", amount_minor=1)
    cases = [
        (invoice_request(customer_id=""), "customer_id"),
        (invoice_request(bill_to=I.BillTo()), "bill_to.name"),
        (invoice_request(currency_code="USD"), "lines[0].amount.currency_code"),
        (invoice_request(lines=[line(I.INVOICE_LINE_KIND_RECURRING, amount=usd)]), "currency_code"),
        (invoice_request(lines=[line(I.INVOICE_LINE_KIND_USAGE)]), "lines[0].meter_id"),
        (invoice_request(lines=[line(amount=eur(-1))]), "lines[0].amount.amount_minor"),
        (invoice_request(lines=[line(amount=eur(2**62))]), "lines[0].amount.amount_minor"),
        (invoice_request(lines=[line(quantity="NaN")]), "lines[0].quantity"),
        (invoice_request(lines=[line(quantity="abc")]), "lines[0].quantity"),
        (invoice_request(lines=[line(quantity="1e-999999")]), "lines[0].quantity"),
        (invoice_request(lines=[line(unit_price_minor="1e20")]), "lines[0].unit_price_minor"),
        (invoice_request(lines=[line(99)]), "lines[0].kind"),
    ]
    for request, field in cases:
        with pytest.raises(InvalidArgument) as error:
            await call(billing, "CreateInvoice", request)
        assert error.value.violations[0].field == field, (field, error.value)
    with pytest.raises(InvalidArgument) as error:
        await call(billing, "ImportBankStatement", I.ImportBankStatementRequest(request_id="x", content=b"a"))
    assert error.value.violations[0].field == "format"
    assert billing.invoice_rows(TENANT) == []
    invoice = await issue(billing)
    usd = money_pb2.Money(currency_code="USD", amount_minor=100)
    credit = I.CreateCreditNoteRequest(request_id="c", invoice_id=invoice.id, amount=usd, reason="wrong currency")
    with pytest.raises(InvalidArgument) as error:
        await call(billing, "CreateCreditNote", credit)
    assert error.value.violations[0].field == "amount.currency_code"


async def test_use_cases_refuse_payments_in_another_currency(billing: FakeInvoicing) -> None:
    invoice = await issue(billing)
    async with billing.uow() as uow:
        with pytest.raises(InvalidArgument) as error:
            await bank_transfers.record_payment(uow, TENANT, bank_transfers.RecordPayment(invoice.id, 100, "USD", None))
    assert error.value.violations[0].field == "amount.currency_code"
    async with billing.uow() as uow:
        statement, _ = await bank_transfers.import_statement(
            uow, TENANT, StatementFormat.CSV,
            f"date,amount,currency,remittance\n2026-03-20,1,USD,{invoice.payment_reference}\n".encode(), "usd.csv",
        )  # fmt: skip
    assert statement.unmatched == 1
