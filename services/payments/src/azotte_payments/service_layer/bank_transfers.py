"""Bank transfers: payments recorded by an operator or imported from a statement, matched to invoices, in the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from azotte_payments.domain.bank_statements import (
    BankPayment,
    BankPaymentStatus,
    PaymentSource,
    StatementEntry,
    StatementFormat,
    StatementImport,
    file_digest,
    parse_statement,
    why_unmatched,
)
from azotte_payments.domain.invoice_postings import postings_for_bank_payment
from azotte_payments.domain.invoices import MAX_MINOR, PAYABLE, Invoice
from azotte_payments.errors import (
    BankPaymentAlreadyMatched,
    BankPaymentAlreadyRecorded,
    CurrencyMismatch,
    InvoiceStateConflict,
)
from azotte_payments.ports import InvoicingUnitOfWork
from azotte_payments.service_layer.effects import new_id, post_entry
from azotte_payments.service_layer.invoices import credit_customer, emit_invoice_events
from azotte_platform.errors import Aborted, InvalidArgument
from azotte_platform.paging import Page, PageRequest


@dataclass(frozen=True)
class RecordPayment:
    """A transfer an operator saw arrive for an invoice; `bank_reference` (when given) records it once."""

    invoice_id: str
    amount_minor: int
    currency: str
    received_on: date | None
    bank_reference: str = ""
    payer: str = ""
    note: str = ""


async def record_payment(
    uow: InvoicingUnitOfWork, tenant_id: str, command: RecordPayment
) -> tuple[BankPayment, Invoice]:
    """Apply a transfer to the invoice the operator names (a partial payment, in full, or more)."""
    if not command.invoice_id:
        raise InvalidArgument.field("invoice_id", "is required")
    if not 0 < command.amount_minor <= MAX_MINOR:
        raise InvalidArgument.field("amount.amount_minor", f"must be between 1 and {MAX_MINOR}")
    invoice = await uow.invoices(tenant_id).get(command.invoice_id, lock=True)
    if command.currency and command.currency != invoice.currency:
        raise CurrencyMismatch.field("amount.currency_code", f"invoice {invoice.number} is in {invoice.currency}")
    if invoice.status not in PAYABLE:
        raise InvoiceStateConflict(f"invoice {invoice.number or invoice.invoice_id} is {invoice.status}")
    now = uow.clock.now()
    entry = StatementEntry(
        dedupe_key=command.bank_reference or new_id("manual"),
        bank_reference=command.bank_reference,
        booked_on=command.received_on or now.date(),
        amount_minor=command.amount_minor,
        currency=invoice.currency,
        payer=command.payer,
        remittance=invoice.payment_reference,
    )
    payment = BankPayment(
        new_id("bp"), entry, PaymentSource.MANUAL, "", BankPaymentStatus.UNMATCHED, now, note=command.note
    )
    payment = await _apply(uow, tenant_id, payment, invoice, assigned=False)
    if not await uow.bank_payments(tenant_id).add(payment):
        raise BankPaymentAlreadyRecorded(f"a transfer with bank reference {command.bank_reference!r} is recorded")
    return payment, invoice


async def import_statement(
    uow: InvoicingUnitOfWork, tenant_id: str, statement_format: StatementFormat, content: bytes, file_name: str
) -> tuple[StatementImport, list[BankPayment]]:
    """Record a statement's incoming transfers once each and match them; the same file again records nothing."""
    payments = uow.bank_payments(tenant_id)
    digest = file_digest(content)
    earlier = await payments.import_of(digest)
    if earlier is not None:
        return earlier, []
    entries = parse_statement(content, statement_format)
    now = uow.clock.now()
    import_id = new_id("imp")
    source = PaymentSource(statement_format.value)
    recorded: list[BankPayment] = []
    duplicates = 0
    for entry in entries:
        payment = BankPayment(new_id("bp"), entry, source, import_id, BankPaymentStatus.UNMATCHED, now)
        # NOTE: a transfer already recorded (an overlapping statement, or an operator's entry) is skipped.
        if not await payments.add(payment):
            duplicates += 1
            continue
        payment = await _match(uow, tenant_id, payment)
        await payments.save(payment)
        recorded.append(payment)
    matched = sum(1 for payment in recorded if payment.status is BankPaymentStatus.MATCHED)
    statement = StatementImport(
        import_id, digest, statement_format, file_name, now, len(entries), matched, len(recorded) - matched, duplicates
    )
    if not await payments.add_import(statement):
        raise Aborted("the same file is being imported concurrently; retry to read its import")
    return statement, recorded


async def _match(uow: InvoicingUnitOfWork, tenant_id: str, payment: BankPayment) -> BankPayment:
    """Pay the invoice the payment's reference names, or queue it (held as unapplied cash)."""
    reference = payment.entry.reference
    invoice = await uow.invoices(tenant_id).by_reference(reference) if reference else None
    reason = why_unmatched(payment.entry, invoice)
    if reason is None and invoice is not None:
        return await _apply(uow, tenant_id, payment, invoice, assigned=False)
    queued = BankPayment(
        payment.payment_id, payment.entry, payment.source, payment.import_id, BankPaymentStatus.UNMATCHED,
        payment.recorded_at, unmatched_reason=reason,
    )  # fmt: skip
    await post_entry(uow, tenant_id, postings_for_bank_payment(queued, None, tenant_id, new_id("je")))
    return queued


async def _apply(
    uow: InvoicingUnitOfWork, tenant_id: str, payment: BankPayment, invoice: Invoice, *, assigned: bool
) -> BankPayment:
    """Apply the payment to the invoice: its balance first, any excess to the customer's credit."""
    applied, excess = invoice.receive(payment.entry.amount_minor, uow.clock.now())
    matched = payment.matched(invoice, applied, excess)
    await uow.invoices(tenant_id).save(invoice)
    entry = postings_for_bank_payment(matched, invoice, tenant_id, new_id("je"), assigned=assigned)
    await post_entry(uow, tenant_id, entry)
    await credit_customer(uow, tenant_id, invoice, excess, f"over-payment of invoice {invoice.number}")
    emit_invoice_events(uow, tenant_id, invoice)
    return matched


async def assign_payment(
    uow: InvoicingUnitOfWork, tenant_id: str, payment_id: str, invoice_id: str
) -> tuple[BankPayment, Invoice]:
    """An operator's decision: the queued payment pays this invoice."""
    if not invoice_id:
        raise InvalidArgument.field("invoice_id", "is required")
    payments = uow.bank_payments(tenant_id)
    payment = await payments.get(payment_id, lock=True)
    if payment.status is not BankPaymentStatus.UNMATCHED:
        raise BankPaymentAlreadyMatched(f"bank payment {payment_id} already pays invoice {payment.invoice_id}")
    invoice = await uow.invoices(tenant_id).get(invoice_id, lock=True)
    if invoice.currency != payment.entry.currency:
        raise CurrencyMismatch.field("invoice_id", f"the payment is in {payment.entry.currency}")
    if invoice.status not in PAYABLE:
        raise InvoiceStateConflict(f"invoice {invoice.number or invoice.invoice_id} is {invoice.status}")
    assigned = await _apply(uow, tenant_id, payment, invoice, assigned=True)
    await payments.save(assigned)
    return assigned, invoice


async def list_payments(
    uow: InvoicingUnitOfWork, tenant_id: str, status: BankPaymentStatus | None, invoice_id: str, page: PageRequest
) -> Page[BankPayment]:
    """One page of bank payments, oldest first: the unmatched queue, an invoice's payments, or all."""
    return await uow.bank_payments(tenant_id).find(status, invoice_id, page)
