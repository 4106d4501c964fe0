"""Invoice rules: tax and B2B reverse charge, creditor references, states, payments received and credit notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from azotte_payments.domain.events import CreditNoteIssued, InvoiceIssued, InvoiceOverdue, InvoicePaid
from azotte_payments.domain.invoices import (
    BillTo,
    Invoice,
    InvoiceLine,
    InvoiceProfile,
    InvoiceStatus,
    IssueTerms,
    LineKind,
    creditor_reference,
    invoice_totals,
    new_payment_reference,
    normalize_reference,
    reverse_charge_applies,
    valid_iban,
)
from azotte_payments.errors import CreditNoteExceedsInvoice, InvoiceStateConflict
from azotte_platform.errors import InvalidArgument
from azotte_platform.tax import TaxMode, TaxPolicy

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VAT_19_EXCLUSIVE = TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.19"))
VAT_19_INCLUSIVE = TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"))


def status(invoice: Invoice) -> InvoiceStatus:
    """The invoice's state (read through a call, so that each check sees the state anew)."""
    return invoice.status


def _line(kind: LineKind, amount: int, **fields: object) -> InvoiceLine:
    return InvoiceLine(kind, f"{kind} line", amount, **fields)  # type: ignore[arg-type]


def _invoice(*lines: InvoiceLine, bill_to: BillTo | None = None, due_in_days: int = 14) -> Invoice:
    return Invoice(
        "in_1", "cus_1", "de", "EUR", lines or (_line(LineKind.RECURRING, 100_000),), bill_to or BillTo("ACME GmbH"),
        due_in_days, NOW,
    )  # fmt: skip


def _issued(invoice: Invoice, policy: TaxPolicy = VAT_19_EXCLUSIVE, country: str = "DE") -> Invoice:
    invoice.issue(IssueTerms(policy, country, "INV-DE-000001", new_payment_reference(), NOW))
    return invoice


def test_tax_is_computed_on_charges_less_discounts_and_credits() -> None:
    lines = (
        _line(LineKind.RECURRING, 100_000),
        _line(LineKind.USAGE, 23_456, meter_id="tokens"),
        _line(LineKind.DISCOUNT, 10_000),
        _line(LineKind.CREDIT, 3_456),
    )
    totals = invoice_totals(lines, VAT_19_EXCLUSIVE, reverse_charge=False)
    # 100,000 + 23,456 - 10,000 - 3,456 = 110,000 net; 19 % = 20,900.
    assert (totals.charges_minor, totals.reductions_minor) == (123_456, 13_456)
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (110_000, 20_900, 130_900)
    inclusive = invoice_totals(lines, VAT_19_INCLUSIVE, reverse_charge=False)
    # 110,000 includes 19 %: tax = round(110,000 * 0.19 / 1.19) = 17,563.
    assert (inclusive.net_minor, inclusive.tax_minor, inclusive.total_minor) == (92_437, 17_563, 110_000)


def test_reductions_beyond_the_charges_are_refused() -> None:
    with pytest.raises(InvalidArgument) as error:
        invoice_totals(
            (_line(LineKind.RECURRING, 100), _line(LineKind.DISCOUNT, 101)), VAT_19_EXCLUSIVE, reverse_charge=False
        )
    assert error.value.violations[0].field == "lines"


@pytest.mark.parametrize(
    ("bill_to", "expected"),
    [
        (BillTo("Consumer"), False),
        (BillTo("Domestic GmbH", tax_id="DE123456789"), False),
        (BillTo("French SARL", tax_id="FR40303265045"), True),
        (BillTo("Dutch BV", country_code="NL", tax_id="123456789B01"), True),
        (BillTo("German branch", country_code="DE", tax_id="FR40303265045"), False),
    ],
)
def test_reverse_charge_only_for_business_customers_of_another_country(bill_to: BillTo, expected: bool) -> None:
    assert reverse_charge_applies(bill_to, "DE", VAT_19_EXCLUSIVE) is expected


def test_a_reverse_charge_invoice_carries_no_tax_and_inclusive_prices_lose_theirs() -> None:
    french = BillTo("French SARL", tax_id="FR40303265045")
    exclusive = _issued(_invoice(_line(LineKind.RECURRING, 119_000), bill_to=french))
    assert exclusive.reverse_charge and exclusive.tax_rate == 0
    assert (exclusive.totals.tax_minor, exclusive.totals.total_minor) == (0, 119_000)
    inclusive = _issued(_invoice(_line(LineKind.RECURRING, 119_000), bill_to=french), VAT_19_INCLUSIVE)
    assert (inclusive.totals.tax_minor, inclusive.totals.total_minor) == (0, 100_000)


def test_creditor_references_carry_a_valid_check_and_survive_spaces_and_case() -> None:
    # ISO 11649's own example: RF18 5390 0754 7034.
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert normalize_reference("rf18 5390 0754 7034") == "RF18539007547034"
    assert normalize_reference("RF19539007547034") is None
    reference = new_payment_reference()
    assert normalize_reference(reference) == reference and len(reference) == 20


def test_ibans_are_checked_with_mod_97() -> None:
    assert valid_iban("DE89370400440532013000")
    assert not valid_iban("DE89370400440532013001")
    profile = InvoiceProfile("de", "Seller", iban="de89 3704 0044 0532 0130 00").validated()
    assert profile.iban == "DE89370400440532013000"
    with pytest.raises(InvalidArgument) as error:
        InvoiceProfile("de", "Seller", iban="DE00").validated()
    assert error.value.violations[0].field == "profile.iban"


def test_issuing_fixes_the_number_dates_and_totals_and_records_invoice_issued() -> None:
    invoice = _issued(_invoice(due_in_days=30))
    assert status(invoice) is InvoiceStatus.OPEN and invoice.number == "INV-DE-000001"
    assert invoice.due_on == date(2026, 3, 31) and invoice.balance_minor == 119_000
    assert [type(fact) for fact in invoice.events] == [InvoiceIssued]
    with pytest.raises(InvoiceStateConflict):
        _issued(invoice)


def test_partial_full_and_over_payments() -> None:
    invoice = _issued(_invoice())
    assert invoice.receive(19_000, NOW) == (19_000, 0)
    assert status(invoice) is InvoiceStatus.PARTIALLY_PAID and invoice.balance_minor == 100_000
    assert invoice.receive(100_500, NOW) == (100_000, 500)
    assert status(invoice) is InvoiceStatus.PAID and invoice.balance_minor == 0
    assert isinstance(invoice.events[-1], InvoicePaid)
    with pytest.raises(InvoiceStateConflict):
        invoice.receive(1, NOW)


def test_overdue_only_after_the_due_date_and_stays_overdue_until_paid_in_full() -> None:
    invoice = _issued(_invoice(due_in_days=14))
    assert not invoice.mark_overdue(date(2026, 3, 15))
    assert invoice.mark_overdue(date(2026, 3, 16)) and isinstance(invoice.events[-1], InvoiceOverdue)
    assert not invoice.mark_overdue(date(2026, 3, 17))
    invoice.receive(1_000, NOW + timedelta(days=20))
    assert status(invoice) is InvoiceStatus.OVERDUE
    invoice.receive(118_000, NOW + timedelta(days=21))
    assert status(invoice) is InvoiceStatus.PAID


def test_void_only_without_payments_and_write_off_books_the_balance() -> None:
    unpaid = _issued(_invoice())
    unpaid.void("issued by mistake", NOW)
    assert status(unpaid) is InvoiceStatus.VOID and unpaid.balance_minor == 0
    partly = _issued(_invoice())
    partly.receive(9_000, NOW)
    with pytest.raises(InvoiceStateConflict):
        partly.void("too late", NOW)
    assert partly.write_off("customer insolvent", NOW) == 110_000
    assert status(partly) is InvoiceStatus.UNCOLLECTIBLE


def test_credit_notes_split_tax_exactly_and_refund_what_was_already_paid() -> None:
    invoice = _issued(_invoice())  # 100,000 net + 19,000 tax = 119,000
    invoice.receive(119_000, NOW)
    first = invoice.credit("cn_1", "CN-DE-000001", 59_500, "dispute: half the seats unused", NOW)
    assert (first.tax_minor, first.to_balance_minor, first.refund_minor) == (9_500, 0, 59_500)
    second = invoice.credit("cn_2", "CN-DE-000002", 59_500, "dispute lost", NOW)
    assert first.tax_minor + second.tax_minor == 19_000
    assert isinstance(invoice.events[-1], CreditNoteIssued)
    with pytest.raises(CreditNoteExceedsInvoice):
        invoice.credit("cn_3", "CN-DE-000003", 1, "nothing left", NOW)


def test_a_credit_note_on_an_unpaid_invoice_lowers_what_is_owed_and_can_settle_it() -> None:
    invoice = _issued(_invoice())
    note = invoice.credit("cn_1", "CN-DE-000001", 19_000, "correction", NOW)
    assert (note.to_balance_minor, note.refund_minor) == (19_000, 0)
    assert invoice.balance_minor == 100_000 and status(invoice) is InvoiceStatus.OPEN
    invoice.credit("cn_2", "CN-DE-000002", 100_000, "contract cancelled", NOW)
    assert status(invoice) is InvoiceStatus.PAID and invoice.balance_minor == 0
