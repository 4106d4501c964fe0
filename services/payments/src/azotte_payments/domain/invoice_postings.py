"""Journal entries of invoices, credit notes and bank transfers (accrual: revenue is booked when issued)."""

from __future__ import annotations

from datetime import datetime

from azotte_payments.domain.bank_statements import BankPayment
from azotte_payments.domain.invoices import CreditNote, Invoice
from azotte_payments.domain.ledger import Account, Dimensions, EntryKind, JournalEntry, Posting, Side, accounting_period

DIRECT = "CHANNEL_DIRECT"  # NOTE: payments keeps a channel under its proto name in ledger dimensions


def _entry(
    tenant_id: str,
    entry_id: str,
    kind: EntryKind,
    source_id: str,
    currency: str,
    dimensions: Dimensions,
    occurred_at: datetime,
    *lines: tuple[Account, Side, int],
) -> JournalEntry:
    postings = tuple(Posting(account, side, amount) for account, side, amount in lines if amount > 0)
    return JournalEntry(entry_id, tenant_id, kind, source_id, currency, dimensions, occurred_at, postings)


def _dimensions(invoice: Invoice, occurred_at: datetime) -> Dimensions:
    # NOTE: invoiced revenue is sold directly (contracts, bank transfers): the direct channel in the revenue reports.
    return Dimensions(invoice.storefront_id, DIRECT, invoice.plan_id, accounting_period(occurred_at))


def postings_for_invoice(invoice: Invoice, tenant_id: str, entry_id: str) -> JournalEntry:
    """Issued: receivable (total) + discounts = gross sales + tax payable."""
    assert invoice.issued_at is not None
    totals = invoice.totals
    return _entry(
        tenant_id,
        entry_id,
        EntryKind.INVOICE,
        invoice.invoice_id,
        invoice.currency,
        _dimensions(invoice, invoice.issued_at),
        invoice.issued_at,
        (Account.ACCOUNTS_RECEIVABLE, Side.DEBIT, totals.total_minor),
        # NOTE: as for charges, sales are booked before discounts and credits, net of tax.
        (Account.DISCOUNTS, Side.DEBIT, totals.reductions_minor),
        (Account.GROSS_SALES, Side.CREDIT, totals.net_minor + totals.reductions_minor),
        (Account.TAX_PAYABLE, Side.CREDIT, totals.tax_minor),
    )


def postings_for_invoice_void(issued: JournalEntry, entry_id: str, occurred_at: datetime) -> JournalEntry:
    """Voided: the exact reversal of the invoice's entry, in the void's month."""
    flipped = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    dims = issued.dimensions
    return _entry(
        issued.tenant_id,
        entry_id,
        EntryKind.INVOICE_VOID,
        issued.source_id,
        issued.currency,
        Dimensions(dims.storefront_id, dims.channel, dims.plan_id, accounting_period(occurred_at)),
        occurred_at,
        *((p.account, flipped[p.side], p.amount_minor) for p in issued.postings),
    )


def postings_for_write_off(
    invoice: Invoice, written_off_minor: int, tenant_id: str, entry_id: str, occurred_at: datetime
) -> JournalEntry:
    """Uncollectible: bad debt = receivable (the balance nobody will pay)."""
    return _entry(
        tenant_id,
        entry_id,
        EntryKind.INVOICE_WRITE_OFF,
        invoice.invoice_id,
        invoice.currency,
        _dimensions(invoice, occurred_at),
        occurred_at,
        (Account.BAD_DEBT, Side.DEBIT, written_off_minor),
        (Account.ACCOUNTS_RECEIVABLE, Side.CREDIT, written_off_minor),
    )


def postings_for_credit_note(invoice: Invoice, note: CreditNote, tenant_id: str, entry_id: str) -> JournalEntry:
    """Credit note: refunds (net) + tax payable (its share) = receivable (balance reduced) + customer credit (rest)."""
    return _entry(
        tenant_id,
        entry_id,
        EntryKind.CREDIT_NOTE,
        note.credit_note_id,
        note.currency,
        _dimensions(invoice, note.issued_at),
        note.issued_at,
        (Account.REFUNDS, Side.DEBIT, note.net_minor),
        (Account.TAX_PAYABLE, Side.DEBIT, note.tax_minor),
        (Account.ACCOUNTS_RECEIVABLE, Side.CREDIT, note.to_balance_minor),
        (Account.CUSTOMER_CREDIT, Side.CREDIT, note.refund_minor),
    )


def postings_for_bank_payment(
    payment: BankPayment, invoice: Invoice | None, tenant_id: str, entry_id: str, *, assigned: bool = False
) -> JournalEntry:
    """Money received: bank (or, when an operator assigns it later, unapplied cash) = receivable + credit.

    An unmatched payment is held as unapplied cash until an operator assigns it.
    """
    entry = payment.entry
    occurred_at = payment.recorded_at
    if invoice is None:
        dimensions = Dimensions("", "", "", accounting_period(occurred_at))
        return _entry(
            tenant_id,
            entry_id,
            EntryKind.BANK_PAYMENT,
            payment.payment_id,
            entry.currency,
            dimensions,
            occurred_at,
            (Account.BANK, Side.DEBIT, entry.amount_minor),
            (Account.UNAPPLIED_CASH, Side.CREDIT, entry.amount_minor),
        )
    return _entry(
        tenant_id,
        entry_id,
        EntryKind.BANK_PAYMENT_ASSIGNED if assigned else EntryKind.BANK_PAYMENT,
        payment.payment_id,
        entry.currency,
        _dimensions(invoice, occurred_at),
        occurred_at,
        (Account.UNAPPLIED_CASH if assigned else Account.BANK, Side.DEBIT, entry.amount_minor),
        (Account.ACCOUNTS_RECEIVABLE, Side.CREDIT, payment.applied_minor),
        # NOTE: an over-payment is not revenue: the excess is the customer's credit.
        (Account.CUSTOMER_CREDIT, Side.CREDIT, payment.excess_minor),
    )
