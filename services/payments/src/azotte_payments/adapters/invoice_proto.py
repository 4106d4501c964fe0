"""InvoicesService proto <-> domain: request fields, resources and the invoice events' payloads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import invoices_pb2 as pb
from azotte_payments.domain.bank_statements import BankPayment, BankPaymentStatus, StatementFormat, StatementImport
from azotte_payments.domain.events import (
    CreditNoteIssued,
    InvoiceEvent,
    InvoiceIssued,
    InvoiceMarkedUncollectible,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminded,
    InvoiceVoided,
)
from azotte_payments.domain.invoices import (
    BillTo,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceProfile,
    InvoiceStatus,
    LineKind,
    parse_decimal,
)
from azotte_payments.errors import CurrencyMismatch
from azotte_platform.convert import enum_from_pb, enum_to_pb, money, optional_enum, optional_timestamp, timestamp
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.events.envelope import Event
from azotte_platform.grpc.status import item_error

# --- requests -> domain ---


def lines_from_pb(lines: Iterable[pb.InvoiceLine], currency: str) -> tuple[InvoiceLine, ...]:
    """The request's lines; every amount in the invoice's currency (or its storefront's, when not given)."""
    parsed = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if currency and line.amount.currency_code and line.amount.currency_code != currency:
            raise CurrencyMismatch.field(f"{where}.amount.currency_code", f"must be {currency}")
        quantity = parse_decimal(line.quantity, f"{where}.quantity", Decimal(1))
        assert quantity is not None
        parsed.append(
            InvoiceLine(
                kind=enum_from_pb(LineKind, "INVOICE_LINE_KIND", line.kind, pb.InvoiceLineKind, f"{where}.kind"),
                description=line.description,
                amount_minor=line.amount.amount_minor,
                quantity=quantity,
                unit_price_minor=parse_decimal(line.unit_price_minor, f"{where}.unit_price_minor"),
                plan_id=line.plan_id,
                meter_id=line.meter_id,
                dimension=line.dimension,
            )
        )
    return tuple(parsed)


def line_currency(request: pb.CreateInvoiceRequest) -> str:
    """The invoice's currency as the request states it: its own, or the one its lines share."""
    return request.currency_code or next((line.amount.currency_code for line in request.lines), "")


def bill_to_from_pb(bill_to: pb.BillTo) -> BillTo:
    return BillTo(bill_to.name, bill_to.email, bill_to.address, bill_to.country_code.upper(), bill_to.tax_id)


def statuses_from_pb(values: Iterable[int]) -> tuple[InvoiceStatus, ...]:
    return tuple(enum_from_pb(InvoiceStatus, "INVOICE_STATUS", value, pb.InvoiceStatus, "statuses") for value in values)


def statement_format_from_pb(value: int) -> StatementFormat:
    return enum_from_pb(StatementFormat, "STATEMENT_FORMAT", value, pb.StatementFormat, "format")


def payment_status_from_pb(value: int) -> BankPaymentStatus | None:
    return optional_enum(BankPaymentStatus, "BANK_PAYMENT_STATUS", value, pb.BankPaymentStatus, "status")


def date_from_text(text: str, field: str) -> date | None:
    """'YYYY-MM-DD' ('' is None)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument.field(field, "must be a date YYYY-MM-DD") from None


def profile_from_pb(profile: pb.InvoiceProfile) -> InvoiceProfile:
    return InvoiceProfile(
        profile.storefront_id, profile.seller_name, profile.seller_address, profile.seller_tax_id,
        profile.bank_account_holder, profile.iban, profile.bic,
    )  # fmt: skip


# --- domain -> resources ---


def _line_to_pb(line: InvoiceLine, currency: str) -> pb.InvoiceLine:
    return pb.InvoiceLine(
        kind=enum_to_pb("INVOICE_LINE_KIND", line.kind, pb.InvoiceLineKind),
        description=line.description,
        amount=money(line.amount_minor, currency),
        quantity=f"{line.quantity.normalize():f}",
        unit_price_minor="" if line.unit_price_minor is None else f"{line.unit_price_minor.normalize():f}",
        plan_id=line.plan_id,
        meter_id=line.meter_id,
        dimension=line.dimension,
    )


def invoice_to_pb(invoice: Invoice) -> pb.Invoice:
    """An invoice as the API answers it."""
    totals, currency, bill_to = invoice.totals, invoice.currency, invoice.bill_to
    return pb.Invoice(
        id=invoice.invoice_id,
        customer_id=invoice.customer_id,
        storefront_id=invoice.storefront_id,
        status=enum_to_pb("INVOICE_STATUS", invoice.status, pb.InvoiceStatus),
        number=invoice.number,
        lines=[_line_to_pb(line, currency) for line in invoice.lines],
        bill_to=pb.BillTo(
            name=bill_to.name,
            email=bill_to.email,
            address=bill_to.address,
            country_code=bill_to.country_code,
            tax_id=bill_to.tax_id,
        ),
        charges=money(totals.charges_minor, currency),
        reductions=money(totals.reductions_minor, currency),
        net=money(totals.net_minor, currency),
        tax=money(totals.tax_minor, currency),
        total=money(totals.total_minor, currency),
        paid=money(invoice.paid_minor, currency),
        credited=money(invoice.credited_minor, currency),
        balance=money(invoice.balance_minor, currency),
        tax_rate=f"{invoice.tax_rate.normalize():f}",
        reverse_charge=invoice.reverse_charge,
        payment_reference=invoice.payment_reference,
        due_in_days=invoice.due_in_days,
        due_date=invoice.due_on.isoformat() if invoice.due_on else "",
        create_time=timestamp(invoice.created_at),
        issue_time=optional_timestamp(invoice.issued_at),
        close_time=optional_timestamp(invoice.closed_at),
        subscription_id=invoice.subscription_id,
        period_key=invoice.period_key,
        memo=invoice.memo,
        status_note=invoice.status_note,
        reminder_days=invoice.reminder_days,
        next_reminder_date=invoice.next_reminder_on.isoformat() if invoice.next_reminder_on else "",
    )


def invoice_result_to_pb(answer: Invoice | AzotteError) -> pb.CreateInvoiceResult:
    """One CreateInvoices result: the invoice, or the error a single CreateInvoice would have raised."""
    if isinstance(answer, Invoice):
        return pb.CreateInvoiceResult(invoice=invoice_to_pb(answer))
    return pb.CreateInvoiceResult(error=pb.InvoiceError(**item_error(answer)))


def credit_note_to_pb(note: CreditNote) -> pb.CreditNote:
    currency = note.currency
    return pb.CreditNote(
        id=note.credit_note_id,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice_number,
        number=note.number,
        amount=money(note.amount_minor, currency),
        tax=money(note.tax_minor, currency),
        to_balance=money(note.to_balance_minor, currency),
        refunded_to_credit=money(note.refund_minor, currency),
        reason=note.reason,
        issue_time=timestamp(note.issued_at),
    )


def bank_payment_to_pb(payment: BankPayment) -> pb.BankPayment:
    entry = payment.entry
    return pb.BankPayment(
        id=payment.payment_id,
        status=enum_to_pb("BANK_PAYMENT_STATUS", payment.status, pb.BankPaymentStatus),
        source=payment.source.value,
        import_id=payment.import_id,
        bank_reference=entry.bank_reference,
        booked_on=entry.booked_on.isoformat(),
        amount=money(entry.amount_minor, entry.currency),
        payer=entry.payer,
        remittance=entry.remittance,
        invoice_id=payment.invoice_id,
        customer_id=payment.customer_id,
        applied=money(payment.applied_minor, entry.currency),
        excess=money(payment.excess_minor, entry.currency),
        unmatched_reason=payment.unmatched_reason.value if payment.unmatched_reason else "",
        note=payment.note,
        record_time=timestamp(payment.recorded_at),
    )


def statement_import_to_pb(statement: StatementImport) -> pb.StatementImport:
    return pb.StatementImport(
        id=statement.import_id,
        format=enum_to_pb("STATEMENT_FORMAT", statement.statement_format, pb.StatementFormat),
        file_name=statement.file_name,
        sha256=statement.digest,
        import_time=timestamp(statement.imported_at),
        entries=statement.entries,
        matched=statement.matched,
        unmatched=statement.unmatched,
        duplicates=statement.duplicates,
    )


def profile_to_pb(profile: InvoiceProfile) -> pb.InvoiceProfile:
    return pb.InvoiceProfile(
        storefront_id=profile.storefront_id,
        seller_name=profile.seller_name,
        seller_address=profile.seller_address,
        seller_tax_id=profile.seller_tax_id,
        bank_account_holder=profile.bank_account_holder,
        iban=profile.iban,
        bic=profile.bic,
    )


# --- events ---

_CHANGED = {
    InvoiceIssued: "invoice.issued",
    InvoicePaid: "invoice.paid",
    InvoiceOverdue: "invoice.overdue",
    InvoiceVoided: "invoice.voided",
}


def invoice_event(tenant_id: str, fact: InvoiceEvent) -> Event:
    """The event published for an invoice's domain event; about its customer."""
    invoice = fact.invoice
    match fact:
        case InvoiceMarkedUncollectible(written_off_minor=written_off):
            payload = events_pb2.InvoiceMarkedUncollectible(
                invoice=invoice_to_pb(invoice), written_off=money(written_off, invoice.currency)
            )
            return Event(tenant_id, "invoice.uncollectible", payload, about=invoice.customer_id)
        case InvoiceReminded(offset_days=offset_days):
            reminder = events_pb2.InvoiceReminder(invoice=invoice_to_pb(invoice), offset_days=offset_days)
            return Event(tenant_id, "invoice.reminder", reminder, about=invoice.customer_id)
        case CreditNoteIssued(credit_note=note):
            issued = events_pb2.CreditNoteIssued(credit_note=credit_note_to_pb(note), invoice=invoice_to_pb(invoice))
            return Event(tenant_id, "credit_note.issued", issued, about=invoice.customer_id)
        case _:
            changed = events_pb2.InvoiceChanged(invoice=invoice_to_pb(invoice))
            return Event(tenant_id, _CHANGED[type(fact)], changed, about=invoice.customer_id)
