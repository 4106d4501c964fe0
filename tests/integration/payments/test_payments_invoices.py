"""Invoices on PostgreSQL: gap-free numbers under concurrent issuing, a camt.053 import matched to invoices,
overdue under time travel, and a credit note after a dispute."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
from pypdf import PdfReader

from azotte.payments.v1 import invoices_pb2 as I
from tests.integration.payments.invoices_harness import Invoicing, eur, invoicing_service


@pytest.fixture(scope="module")
async def invoicing(servers) -> AsyncIterator[Invoicing]:
    async with invoicing_service(servers) as service:
        yield service


def recurring(amount_minor: int, description: str = "Enterprise plan") -> I.InvoiceLine:
    return I.InvoiceLine(kind=I.INVOICE_LINE_KIND_RECURRING, description=description, amount=eur(amount_minor))


async def test_fifty_concurrent_issues_take_numbers_one_to_fifty(invoicing: Invoicing) -> None:
    tenant = invoicing.new_tenant()
    drafts = [
        (
            await invoicing.call(
                tenant,
                "CreateInvoice",
                I.CreateInvoiceRequest(
                    request_id=uuid.uuid4().hex,
                    customer_id=f"cus_{n}",
                    storefront_id="de",
                    lines=[recurring(1_000 + n)],
                    bill_to=I.BillTo(name=f"Customer {n}"),
                    due_in_days=30,
                ),
            )
        ).invoice
        for n in range(50)
    ]

    async def issue(invoice_id: str) -> I.Invoice:
        request = I.IssueInvoiceRequest(request_id=uuid.uuid4().hex, invoice_id=invoice_id)
        response: I.IssueInvoiceResponse = await invoicing.call(tenant, "IssueInvoice", request)
        return response.invoice

    # A 51st request issues an invoice a second time: it fails and takes no number.
    issued = await asyncio.gather(*(issue(draft.id) for draft in drafts), issue(drafts[0].id), return_exceptions=True)
    failures = [result for result in issued if isinstance(result, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], grpc.aio.AioRpcError)
    assert failures[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    numbers = sorted(result.number for result in issued if isinstance(result, I.Invoice))
    assert numbers == [f"INV-DE-{n:06d}" for n in range(1, 51)]
    references = {result.payment_reference for result in issued if isinstance(result, I.Invoice)}
    assert len(references) == 50


async def test_a_bank_statement_pays_two_invoices_leaves_one_partial_and_queues_an_unknown_payment(
    invoicing: Invoicing,
) -> None:
    tenant = invoicing.new_tenant()
    first = await invoicing.issue(tenant, "cus_a", recurring(100_000))  # 100,000 + 19 % = 119,000
    second = await invoicing.issue(tenant, "cus_b", recurring(25_000))  # 29,750
    third = await invoicing.issue(tenant, "cus_c", recurring(50_000))  # 59,500

    def entry(ref: str, amount: str, reference_text: str) -> str:
        return f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
          <BookgDt><Dt>2026-03-20</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>
          <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Payer {ref}</Nm></Dbtr></RltdPties>
          <RmtInf>{reference_text}</RmtInf></TxDtls></NtryDtls></Ntry>"""

    def structured(reference: str) -> str:
        return f"<Strd><CdtrRefInf><Ref>{reference}</Ref></CdtrRefInf></Strd>"

    camt = f"""<?xml version="1.0" encoding="UTF-8"?>
      <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
      <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-21T06:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id>
      {entry("B-1", "1190.00", structured(first.payment_reference))}
      {entry("B-2", "297.50", "<Ustrd>Invoice " + second.number + " ref " + second.payment_reference + "</Ustrd>")}
      {entry("B-3", "300.00", structured(third.payment_reference))}
      {entry("B-4", "75.00", "<Ustrd>donation</Ustrd>")}
      </Stmt></BkToCstmrStmt></Document>""".encode()
    request = I.ImportBankStatementRequest(
        request_id=uuid.uuid4().hex, format=I.STATEMENT_FORMAT_CAMT053, content=camt, file_name="2026-03-21.xml"
    )
    imported: I.ImportBankStatementResponse = await invoicing.call(tenant, "ImportBankStatement", request)
    assert (imported.statement.entries, imported.statement.matched, imported.statement.unmatched) == (4, 3, 1)

    states = {invoice.id: (await invoicing.get(tenant, invoice.id)).invoice for invoice in (first, second, third)}
    assert states[first.id].status == I.INVOICE_STATUS_PAID
    assert states[second.id].status == I.INVOICE_STATUS_PAID
    assert states[third.id].status == I.INVOICE_STATUS_PARTIALLY_PAID
    assert states[third.id].balance.amount_minor == 59_500 - 30_000

    queue = await invoicing.call(
        tenant, "ListBankPayments", I.ListBankPaymentsRequest(status=I.BANK_PAYMENT_STATUS_UNMATCHED)
    )
    assert [(p.bank_reference, p.amount.amount_minor, p.unmatched_reason) for p in queue.payments] == [
        ("B-4", 7_500, "no_reference")
    ]
    ledger = await invoicing.ledger(tenant)
    # Receivables: 208,250 issued - 178,750 received; the bank holds every cent, 7,500 of it unapplied.
    assert ledger["accounts_receivable"] == 29_500 and ledger["bank"] == 186_250
    assert ledger["unapplied_cash"] == -7_500 and sum(ledger.values()) == 0

    # The same file again records nothing; an operator assigns the queued payment to the partial invoice.
    request.request_id = uuid.uuid4().hex
    again: I.ImportBankStatementResponse = await invoicing.call(tenant, "ImportBankStatement", request)
    assert again.statement.id == imported.statement.id and not again.payments
    assign = I.AssignBankPaymentRequest(
        request_id=uuid.uuid4().hex, payment_id=queue.payments[0].id, invoice_id=third.id
    )
    assigned: I.AssignBankPaymentResponse = await invoicing.call(tenant, "AssignBankPayment", assign)
    assert assigned.invoice.status == I.INVOICE_STATUS_PARTIALLY_PAID
    assert assigned.invoice.balance.amount_minor == 22_000
    assert (await invoicing.ledger(tenant))["unapplied_cash"] == 0


async def test_an_invoice_turns_overdue_by_its_tenants_clock_and_paying_it_settles_it(invoicing: Invoicing) -> None:
    tenant, other = invoicing.new_tenant(), invoicing.new_tenant()
    invoice = await invoicing.issue(tenant, "cus_late", recurring(10_000), due_in_days=10)
    untouched = await invoicing.issue(other, "cus_other", recurring(10_000), due_in_days=10)
    assert invoice.due_date == "2026-03-25"
    invoicing.clock.advance(timedelta(days=10), tenant)
    await invoicing.sweep_overdue()
    assert (await invoicing.get(tenant, invoice.id)).invoice.status == I.INVOICE_STATUS_OPEN
    invoicing.clock.advance(timedelta(days=1), tenant)
    await invoicing.sweep_overdue()
    assert (await invoicing.get(tenant, invoice.id)).invoice.status == I.INVOICE_STATUS_OVERDUE
    assert (await invoicing.get(other, untouched.id)).invoice.status == I.INVOICE_STATUS_OPEN

    pay = I.RecordInvoicePaymentRequest(
        request_id=uuid.uuid4().hex, invoice_id=invoice.id, amount=eur(11_900), bank_reference="LATE-1"
    )
    paid: I.RecordInvoicePaymentResponse = await invoicing.call(tenant, "RecordInvoicePayment", pay)
    assert paid.invoice.status == I.INVOICE_STATUS_PAID and paid.payment.applied.amount_minor == 11_900
    # The same request again answers the first payment; the same bank transfer under a new request is refused.
    assert (await invoicing.call(tenant, "RecordInvoicePayment", pay)).payment.id == paid.payment.id
    pay.request_id = uuid.uuid4().hex
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await invoicing.call(tenant, "RecordInvoicePayment", pay)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_credit_note_after_a_dispute_refunds_a_paid_b2b_invoice_to_credit(invoicing: Invoicing) -> None:
    tenant = invoicing.new_tenant()
    profile = I.InvoiceProfile(
        storefront_id="de", seller_name="Azotte Streaming GmbH", seller_address="Hauptstr. 1\n10115 Berlin",
        seller_tax_id="DE811569869", iban="DE89 3704 0044 0532 0130 00", bic="COBADEFFXXX",
    )  # fmt: skip
    await invoicing.call(tenant, "SetInvoiceProfile", I.SetInvoiceProfileRequest(request_id="p", profile=profile))
    french = I.BillTo(name="Hôtel du Lac SARL", tax_id="FR40303265045", address="1 quai du Lac, Annecy")
    invoice = await invoicing.issue(tenant, "cus_hotel", recurring(80_000, "40 rooms, March"), bill_to=french)
    assert invoice.reverse_charge and invoice.tax.amount_minor == 0 and invoice.total.amount_minor == 80_000
    pay = I.RecordInvoicePaymentRequest(request_id=uuid.uuid4().hex, invoice_id=invoice.id, amount=eur(80_000))
    await invoicing.call(tenant, "RecordInvoicePayment", pay)

    credit = I.CreateCreditNoteRequest(
        request_id=uuid.uuid4().hex, invoice_id=invoice.id, amount=eur(20_000), reason="dispute: 10 rooms closed"
    )
    noted: I.CreateCreditNoteResponse = await invoicing.call(tenant, "CreateCreditNote", credit)
    assert noted.credit_note.number == "CN-DE-000001" and noted.credit_note.refunded_to_credit.amount_minor == 20_000
    detail = await invoicing.get(tenant, invoice.id)
    assert detail.invoice.status == I.INVOICE_STATUS_PAID and detail.invoice.total.amount_minor == 80_000
    assert [note.number for note in detail.credit_notes] == ["CN-DE-000001"]
    ledger = await invoicing.ledger(tenant)
    assert ledger["refunds"] == 20_000 and ledger["customer_credit"] == -20_000 and ledger["accounts_receivable"] == 0

    document = await invoicing.call(tenant, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=invoice.id))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document.pdf)).pages)
    assert "DE89370400440532013000" in text and invoice.payment_reference in text and "Reverse charge" in text
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await invoicing.call(tenant, "VoidInvoice", I.VoidInvoiceRequest(request_id="v", invoice_id=invoice.id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    other = invoicing.new_tenant()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await invoicing.call(other, "GetInvoicePdf", I.GetInvoicePdfRequest(document_id=invoice.id))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
