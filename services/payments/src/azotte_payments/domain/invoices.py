"""Invoices: lines, tax with reverse charge, gap-free numbers, states, payments received and credit notes.

An invoice is a draft until issued; issuing fixes its number, tax, totals and payment reference, and from
then on it is never edited: payments, credit notes, a void or a write-off move its state, nothing else.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from azotte_payments.domain.events import (
    CreditNoteIssued,
    InvoiceIssued,
    InvoiceMarkedUncollectible,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminded,
    InvoiceVoided,
)
from azotte_payments.errors import CreditNoteExceedsInvoice, InvoiceStateConflict
from azotte_platform.errors import InvalidArgument
from azotte_platform.tax import TaxBreakdown, TaxPolicy, split_refund_tax, tax_for_line

MAX_MINOR = 10**15
"""The largest amount of one line or payment, in minor units (well inside int64)."""
MAX_LINES = 500
MAX_PLACES = 12
"""Decimal places a quantity or a unit price may have."""
MAX_DUE_DAYS = 365


class InvoiceStatus(StrEnum):
    """Where an invoice stands; only `draft` has no number."""

    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


PAYABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE})
"""States in which an invoice still expects money."""


class LineKind(StrEnum):
    """What a line bills; discounts and credits reduce the invoice before tax."""

    RECURRING = "recurring"
    USAGE = "usage"
    TRUE_UP = "true_up"
    DISCOUNT = "discount"
    CREDIT = "credit"

    @property
    def reduces(self) -> bool:
        return self in (LineKind.DISCOUNT, LineKind.CREDIT)


@dataclass(frozen=True)
class InvoiceLine:
    """One line, its amount positive in minor units (a discount or credit is subtracted)."""

    kind: LineKind
    description: str
    amount_minor: int
    quantity: Decimal = Decimal(1)
    unit_price_minor: Decimal | None = None
    plan_id: str = ""
    meter_id: str = ""
    dimension: str = ""

    @property
    def signed_minor(self) -> int:
        return -self.amount_minor if self.kind.reduces else self.amount_minor


def validate_line(line: InvoiceLine, index: int) -> None:
    """A line's own rules, its fields named `lines[i].…`."""
    where = f"lines[{index}]"
    if not line.description.strip():
        raise InvalidArgument.field(f"{where}.description", "is required")
    if not 0 <= line.amount_minor <= MAX_MINOR:
        raise InvalidArgument.field(f"{where}.amount.amount_minor", f"must be between 0 and {MAX_MINOR}")
    if line.quantity < 0:
        raise InvalidArgument.field(f"{where}.quantity", "must not be negative")
    if line.kind is LineKind.USAGE and not line.meter_id:
        raise InvalidArgument.field(f"{where}.meter_id", "is required for a usage line")


def parse_decimal(text: str, field_name: str, default: Decimal | None = None) -> Decimal | None:
    """A finite decimal written as text ('' gives `default`)."""
    if not text:
        return default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidArgument.field(field_name, f"{text[:40]!r} is not a decimal number") from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or abs(value) >= MAX_MINOR or (isinstance(exponent, int) and exponent < -MAX_PLACES):
        raise InvalidArgument.field(
            field_name, f"must be a decimal number below {MAX_MINOR}, {MAX_PLACES} places at most"
        )
    return value


@dataclass(frozen=True)
class BillTo:
    """Who the invoice is addressed to; a tax id makes it a business customer."""

    name: str
    email: str = ""
    address: str = ""
    country_code: str = ""
    tax_id: str = ""

    @property
    def tax_country(self) -> str:
        """The customer's country for tax: given, or the prefix of an EU-style VAT id ('DE123…' -> 'DE')."""
        if self.country_code:
            return self.country_code
        prefix = self.tax_id[:2].upper()
        return prefix if len(prefix) == 2 and prefix.isalpha() else ""


def reverse_charge_applies(bill_to: BillTo, storefront_country: str, policy: TaxPolicy) -> bool:
    """Whether the business customer accounts for the tax itself (no tax on the invoice)."""
    # NOTE: B2B reverse charge: a customer with a tax id in another country than the storefront's pays no tax
    # to the seller; the invoice says so. Same country (or no tax id): the storefront's tax applies.
    if not bill_to.tax_id or policy.rate == 0:
        return False
    return not storefront_country or bill_to.tax_country != storefront_country.upper()


@dataclass(frozen=True)
class InvoiceTotals:
    """Charges, reductions (discounts and credits), and the net, tax and total after them."""

    charges_minor: int
    reductions_minor: int
    net_minor: int
    tax_minor: int
    total_minor: int

    @property
    def breakdown(self) -> TaxBreakdown:
        return TaxBreakdown(self.total_minor, self.tax_minor, self.net_minor)


def invoice_totals(lines: tuple[InvoiceLine, ...], policy: TaxPolicy, *, reverse_charge: bool) -> InvoiceTotals:
    """Tax on the invoice's taxable amount (charges minus reductions) under the storefront's policy."""
    charges = sum(line.amount_minor for line in lines if not line.kind.reduces)
    reductions = sum(line.amount_minor for line in lines if line.kind.reduces)
    taxable = charges - reductions
    if taxable < 0:
        raise InvalidArgument.field("lines", "discounts and credits exceed the charges")
    # NOTE: tax is computed once on the taxable total, rounded half-up (the platform's rule for one line).
    breakdown = tax_for_line(taxable, policy)
    if reverse_charge:
        # NOTE: under reverse charge the customer pays the net price; inclusive prices lose their tax share.
        return InvoiceTotals(charges, reductions, breakdown.net_minor, 0, breakdown.net_minor)
    return InvoiceTotals(charges, reductions, breakdown.net_minor, breakdown.tax_minor, breakdown.gross_minor)


_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits


def _mod97(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text)) % 97


def creditor_reference(base: str) -> str:
    """An ISO 11649 structured creditor reference ('RF' + two check digits + `base`)."""
    check = 98 - _mod97(base + "RF00")
    return f"RF{check:02d}{base}"


def new_payment_reference() -> str:
    """A fresh creditor reference for an invoice's payment instructions (RF + 2 + 16 characters)."""
    return creditor_reference("".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(16)))


def normalize_reference(text: str) -> str | None:
    """`text` as a valid creditor reference (spaces dropped, upper case), or None."""
    compact = "".join(text.split()).upper()
    if not (5 <= len(compact) <= 25 and compact.startswith("RF") and compact.isalnum()):
        return None
    return compact if _mod97(compact[4:] + compact[:4]) == 1 else None


def document_number(prefix: str, sequence: int) -> str:
    """`INV-DE-000042`: the storefront's prefix and a zero-padded sequence number."""
    return f"{prefix}-{sequence:06d}"


def invoice_prefix(storefront_id: str) -> str:
    return f"INV-{storefront_id.upper()}"


def credit_note_prefix(storefront_id: str) -> str:
    return f"CN-{storefront_id.upper()}"


@dataclass(frozen=True)
class IssueTerms:
    """What issuing needs besides the draft: tax, a number and a payment reference."""

    policy: TaxPolicy
    storefront_country: str
    number: str
    payment_reference: str
    now: datetime
    seller: InvoiceProfile | None = None


@dataclass
class Invoice:
    """An invoice of one customer in one storefront and currency."""

    invoice_id: str
    customer_id: str
    storefront_id: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    bill_to: BillTo
    due_in_days: int
    created_at: datetime
    subscription_id: str = ""
    period_key: str = ""
    memo: str = ""
    status: InvoiceStatus = InvoiceStatus.DRAFT
    number: str = ""
    payment_reference: str = ""
    reverse_charge: bool = False
    tax_rate: Decimal = Decimal(0)
    totals: InvoiceTotals = field(default_factory=lambda: InvoiceTotals(0, 0, 0, 0, 0))
    issued_at: datetime | None = None
    due_on: date | None = None
    paid_minor: int = 0
    credited_minor: int = 0
    credited_tax_minor: int = 0
    closed_at: datetime | None = None
    status_note: str = ""
    reminder_days: tuple[int, ...] = ()
    reminders_pending: tuple[int, ...] = ()
    seller: InvoiceProfile | None = None
    events: list[object] = field(default_factory=list, compare=False, repr=False)

    @property
    def balance_minor(self) -> int:
        """What the customer still owes (0 for drafts and closed invoices)."""
        if self.status not in PAYABLE:
            return 0
        return max(self.totals.total_minor - self.paid_minor - self.credited_minor, 0)

    @property
    def plan_id(self) -> str:
        return next((line.plan_id for line in self.lines if line.plan_id), "")

    @property
    def next_reminder_on(self) -> date | None:
        """The day the next reminder is due (None: none is, or nothing is owed any more)."""
        if self.status not in PAYABLE or not self.reminders_pending or self.due_on is None:
            return None
        return self.due_on + timedelta(days=self.reminders_pending[0])

    def price(self, policy: TaxPolicy, storefront_country: str) -> None:
        """Tax and totals under the storefront's policy (reverse charge for a foreign business customer)."""
        self._require({InvoiceStatus.DRAFT}, "issue")
        if not self.lines:
            raise InvalidArgument.field("lines", "an invoice needs at least one line")
        self.reverse_charge = reverse_charge_applies(self.bill_to, storefront_country, policy)
        self.totals = invoice_totals(self.lines, policy, reverse_charge=self.reverse_charge)
        self.tax_rate = Decimal(0) if self.reverse_charge else policy.rate

    def issue(self, terms: IssueTerms) -> None:
        """Fix number, tax, totals, dates, payment reference and seller; the invoice is open and owed."""
        self.price(terms.policy, terms.storefront_country)
        self.number = terms.number
        self.payment_reference = terms.payment_reference
        self.seller = terms.seller
        self.issued_at = terms.now
        self.due_on = terms.now.date() + timedelta(days=self.due_in_days)
        # NOTE: a reminder day on or before the issue day is dropped, never sent late: the invoice.issued
        # event is the customer's first notice, and a reminder of a day already gone would arrive at once.
        issued_on, due_on = terms.now.date(), self.due_on
        self.reminders_pending = tuple(
            sorted(day for day in self.reminder_days if due_on + timedelta(days=day) > issued_on)
        )
        self.status = InvoiceStatus.OPEN
        self.events.append(InvoiceIssued(self))
        if self.totals.total_minor == 0:
            self._settle(terms.now)

    def receive(self, amount_minor: int, now: datetime) -> tuple[int, int]:
        """Apply money received: (applied to the balance, excess beyond it). Paid in full: `paid`."""
        self._require(PAYABLE, "receive a payment on")
        applied = min(amount_minor, self.balance_minor)
        self.paid_minor += applied
        if self.balance_minor == 0:
            self._settle(now)
        elif self.status is InvoiceStatus.OPEN:
            # NOTE: an overdue invoice stays overdue until paid in full.
            self.status = InvoiceStatus.PARTIALLY_PAID
        return applied, amount_minor - applied

    def mark_overdue(self, today: date) -> bool:
        """Open or partly paid past its due date: overdue (True when it just became so)."""
        if self.status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
            return False
        if self.due_on is None or today <= self.due_on:
            return False
        self.status = InvoiceStatus.OVERDUE
        self.events.append(InvoiceOverdue(self))
        return True

    def remind(self, today: date) -> int:
        """Record one reminder per pending day that has come (none once nothing is owed); how many."""
        if self.status not in PAYABLE or self.due_on is None:
            self.reminders_pending = ()
            return 0
        due_on = self.due_on
        come = [day for day in self.reminders_pending if due_on + timedelta(days=day) <= today]
        self.reminders_pending = self.reminders_pending[len(come) :]
        self.events.extend(InvoiceReminded(self, day) for day in come)
        return len(come)

    def void(self, reason: str, now: datetime) -> None:
        """Cancel an issued invoice nothing was paid or credited on (otherwise: a credit note)."""
        self._require(PAYABLE, "void")
        if self.paid_minor or self.credited_minor:
            raise InvoiceStateConflict(
                f"invoice {self.number} has payments or credit notes; issue a credit note instead"
            )
        self.status, self.closed_at, self.status_note = InvoiceStatus.VOID, now, reason
        self.events.append(InvoiceVoided(self))

    def write_off(self, reason: str, now: datetime) -> int:
        """Give up collecting: uncollectible; the balance written off."""
        self._require(PAYABLE, "write off")
        written_off = self.balance_minor
        self.status, self.closed_at, self.status_note = InvoiceStatus.UNCOLLECTIBLE, now, reason
        self.events.append(InvoiceMarkedUncollectible(self, written_off))
        return written_off

    def credit(self, credit_note_id: str, number: str, amount_minor: int, reason: str, now: datetime) -> CreditNote:
        """Issue a credit note of `amount_minor` (tax included): it reduces the balance, any rest is refunded."""
        self._require(PAYABLE | {InvoiceStatus.PAID}, "credit")
        creditable = self.totals.total_minor - self.credited_minor
        if not 0 < amount_minor <= creditable:
            raise CreditNoteExceedsInvoice.field("amount.amount_minor", f"must be between 1 and {creditable}")
        # NOTE: the credit note's tax share is pro rata and exact in sum (the platform's refund rule).
        already = TaxBreakdown(
            self.credited_minor, self.credited_tax_minor, self.credited_minor - self.credited_tax_minor
        )
        share = split_refund_tax(amount_minor, self.totals.breakdown, already)
        to_balance = min(amount_minor, self.balance_minor)
        note = CreditNote(
            credit_note_id=credit_note_id,
            invoice_id=self.invoice_id,
            invoice_number=self.number,
            customer_id=self.customer_id,
            storefront_id=self.storefront_id,
            currency=self.currency,
            number=number,
            amount_minor=amount_minor,
            tax_minor=share.tax_minor,
            to_balance_minor=to_balance,
            refund_minor=amount_minor - to_balance,
            reason=reason,
            issued_at=now,
        )
        self.credited_minor += amount_minor
        self.credited_tax_minor += share.tax_minor
        if self.status in PAYABLE and self.balance_minor == 0:
            self._settle(now)
        self.events.append(CreditNoteIssued(note, self))
        return note

    def _settle(self, now: datetime) -> None:
        self.status, self.closed_at = InvoiceStatus.PAID, now
        self.events.append(InvoicePaid(self))

    def _require(self, states: frozenset[InvoiceStatus] | set[InvoiceStatus], action: str) -> None:
        if self.status not in states:
            raise InvoiceStateConflict(f"cannot {action} invoice {self.number or self.invoice_id} ({self.status})")


@dataclass(frozen=True)
class CreditNote:
    """A correction or refund of an issued invoice, with its own gap-free number; amounts include tax."""

    credit_note_id: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    storefront_id: str
    currency: str
    number: str
    amount_minor: int
    tax_minor: int
    to_balance_minor: int
    refund_minor: int
    reason: str
    issued_at: datetime

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.tax_minor


@dataclass(frozen=True)
class InvoiceQuery:
    """Which invoices a list keeps: of one customer or subscription, in some states."""

    customer_id: str = ""
    subscription_id: str = ""
    statuses: tuple[InvoiceStatus, ...] = ()


@dataclass(frozen=True)
class InvoiceProfile:
    """The seller as its invoices show it, per storefront: name, address, tax id and the bank account to pay."""

    storefront_id: str
    seller_name: str
    seller_address: str = ""
    seller_tax_id: str = ""
    bank_account_holder: str = ""
    iban: str = ""
    bic: str = ""

    def validated(self) -> InvoiceProfile:
        """The profile with a compact IBAN, or INVALID_ARGUMENT naming the field."""
        if not self.storefront_id:
            raise InvalidArgument.field("profile.storefront_id", "is required")
        if not self.seller_name.strip():
            raise InvalidArgument.field("profile.seller_name", "is required")
        iban = "".join(self.iban.split()).upper()
        if iban and not valid_iban(iban):
            raise InvalidArgument.field("profile.iban", "is not a valid IBAN")
        bic = self.bic.strip().upper()
        if bic and not (len(bic) in (8, 11) and bic.isalnum()):
            raise InvalidArgument.field("profile.bic", "must be 8 or 11 letters and digits")
        return replace(self, iban=iban, bic=bic)


def valid_iban(iban: str) -> bool:
    """ISO 13616: two letters, two check digits, up to 30 letters/digits, mod 97 of the rotated text is 1."""
    if not (15 <= len(iban) <= 34 and iban[:2].isalpha() and iban[2:4].isdigit() and iban.isalnum()):
        return False
    return _mod97(iban[4:] + iban[:4]) == 1
