"""Double-entry revenue journal per tenant and currency, and the reports built on it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_payments.domain.charge import Charge
from azotte_payments.domain.dispute import Dispute
from azotte_payments.domain.events import RevenueRecorded
from azotte_payments.domain.refund import Refund, RefundDestination
from azotte_platform.errors import InvalidArgument


class Account(StrEnum):
    """Ledger accounts; revenue accounts are read credit-positive, the others debit-positive."""

    PSP_CLEARING = "psp_clearing"
    GROSS_SALES = "gross_sales"
    TAX_PAYABLE = "tax_payable"
    DISCOUNTS = "discounts"
    REFUNDS = "refunds"
    CUSTOMER_CREDIT = "customer_credit"
    # NOTE: chargebacks and the PSP's dispute fees are losses of their own, not part of net revenue.
    DISPUTES = "disputes"
    DISPUTE_FEES = "dispute_fees"
    # NOTE: invoices are owed (receivable) until a bank transfer pays them; a transfer nobody matched yet is
    # unapplied cash; what is written off is bad debt (outside net revenue, like disputes).
    ACCOUNTS_RECEIVABLE = "accounts_receivable"
    BANK = "bank"
    UNAPPLIED_CASH = "unapplied_cash"
    BAD_DEBT = "bad_debt"
    # NOTE: a store (App Store, Google Play) collects the price, keeps its commission and pays out the rest.
    STORE_RECEIVABLE = "store_receivable"
    STORE_COMMISSION = "store_commission"


class Side(StrEnum):
    """Debit or credit."""

    DEBIT = "debit"
    CREDIT = "credit"


class EntryKind(StrEnum):
    """What caused a journal entry."""

    CHARGE = "charge"
    REFUND = "refund"
    CREDIT_GRANT = "credit_grant"
    VOID = "void"
    DISPUTE = "dispute"
    DISPUTE_WON = "dispute_won"
    INVOICE = "invoice"
    INVOICE_VOID = "invoice_void"
    INVOICE_WRITE_OFF = "invoice_write_off"
    CREDIT_NOTE = "credit_note"
    BANK_PAYMENT = "bank_payment"
    BANK_PAYMENT_ASSIGNED = "bank_payment_assigned"
    STORE_SALE = "store_sale"


@dataclass(frozen=True)
class Dimensions:
    """Reporting dimensions carried by every posting; period is the accounting month YYYY-MM."""

    storefront_id: str
    channel: str
    plan_id: str
    period: str


@dataclass(frozen=True)
class Posting:
    """One debit or credit line."""

    account: Account
    side: Side
    amount_minor: int

    @property
    def signed_minor(self) -> int:
        """Debit-positive amount."""
        return self.amount_minor if self.side is Side.DEBIT else -self.amount_minor


@dataclass(frozen=True)
class JournalEntry:
    """A balanced set of postings in one currency, for one tenant."""

    entry_id: str
    tenant_id: str
    kind: EntryKind
    source_id: str
    currency: str
    dimensions: Dimensions
    occurred_at: datetime
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if any(posting.amount_minor <= 0 for posting in self.postings):
            raise InvalidArgument.field("amount", "ledger postings must be positive")
        # NOTE: double entry: debits equal credits in every entry (one currency per entry).
        if sum(posting.signed_minor for posting in self.postings) != 0:
            raise InvalidArgument.field("postings", f"entry {self.entry_id} does not balance")

    def total(self, account: Account) -> int:
        """Debit-positive movement of `account` in this entry."""
        return sum(p.signed_minor for p in self.postings if p.account is account)


def accounting_period(moment: datetime) -> str:
    """Accounting month of a moment, YYYY-MM (UTC)."""
    return f"{moment.year:04d}-{moment.month:02d}"


def _lines(*lines: tuple[Account, Side, int]) -> tuple[Posting, ...]:
    return tuple(Posting(account, side, amount) for account, side, amount in lines if amount > 0)


def _charge_dimensions(charge: Charge, occurred_at: datetime) -> Dimensions:
    request = charge.request
    return Dimensions(request.storefront_id, request.channel, request.plan_id, accounting_period(occurred_at))


def postings_for_charge(charge: Charge, tenant_id: str, entry_id: str, occurred_at: datetime) -> JournalEntry:
    """Succeeded charge: PSP clearing + credit spent + discount = gross sales + tax payable."""
    amounts, discount = charge.amounts, charge.request.discount_minor
    postings = _lines(
        (Account.PSP_CLEARING, Side.DEBIT, charge.psp_amount_minor),
        (Account.CUSTOMER_CREDIT, Side.DEBIT, charge.credit_applied_minor),
        # NOTE: sales are booked before discount and net of tax; the discount is contra revenue.
        (Account.DISCOUNTS, Side.DEBIT, discount),
        (Account.GROSS_SALES, Side.CREDIT, amounts.net_minor + discount),
        (Account.TAX_PAYABLE, Side.CREDIT, amounts.tax_minor),
    )
    dimensions = _charge_dimensions(charge, occurred_at)
    return JournalEntry(
        entry_id,
        tenant_id,
        EntryKind.CHARGE,
        charge.charge_id,
        charge.currency,
        dimensions,
        occurred_at,
        postings,
    )


def postings_for_refund(
    charge: Charge, refund: Refund, tenant_id: str, entry_id: str, occurred_at: datetime
) -> JournalEntry:
    """Refund: refunds (net) + tax payable (its share) = PSP clearing or customer credit."""
    paid_back_to = (
        Account.CUSTOMER_CREDIT if refund.destination is RefundDestination.CUSTOMER_CREDIT else Account.PSP_CLEARING
    )
    postings = _lines(
        (Account.REFUNDS, Side.DEBIT, refund.amounts.net_minor),
        # NOTE: the refund's pro-rata tax share is no longer owed.
        (Account.TAX_PAYABLE, Side.DEBIT, refund.amounts.tax_minor),
        (paid_back_to, Side.CREDIT, refund.amount_minor),
    )
    dimensions = _charge_dimensions(charge, occurred_at)
    return JournalEntry(
        entry_id,
        tenant_id,
        EntryKind.REFUND,
        refund.refund_id,
        refund.currency,
        dimensions,
        occurred_at,
        postings,
    )


def postings_for_dispute(
    dispute: Dispute, charge: Charge, tenant_id: str, entry_id: str, occurred_at: datetime
) -> JournalEntry:
    """Dispute opened: disputes (amount) + dispute fees (fee) = PSP clearing (both are withdrawn)."""
    postings = _lines(
        (Account.DISPUTES, Side.DEBIT, dispute.amount_minor),
        (Account.DISPUTE_FEES, Side.DEBIT, dispute.fee_minor),
        (Account.PSP_CLEARING, Side.CREDIT, dispute.amount_minor + dispute.fee_minor),
    )
    dimensions = _charge_dimensions(charge, occurred_at)
    return JournalEntry(
        entry_id, tenant_id, EntryKind.DISPUTE, dispute.dispute_id, dispute.currency, dimensions, occurred_at, postings
    )


def postings_for_dispute_won(
    dispute: Dispute, charge: Charge, tenant_id: str, entry_id: str, occurred_at: datetime
) -> JournalEntry:
    """Dispute won: the amount comes back to PSP clearing; the fee stays spent."""
    postings = _lines(
        (Account.PSP_CLEARING, Side.DEBIT, dispute.amount_minor),
        (Account.DISPUTES, Side.CREDIT, dispute.amount_minor),
    )
    dimensions = _charge_dimensions(charge, occurred_at)
    return JournalEntry(
        entry_id,
        tenant_id,
        EntryKind.DISPUTE_WON,
        dispute.dispute_id,
        dispute.currency,
        dimensions,
        occurred_at,
        postings,
    )


def postings_for_void(charge_entry: JournalEntry, entry_id: str, occurred_at: datetime) -> JournalEntry:
    """Voided charge: the exact reversal of its charge entry, booked in the void's period."""
    if charge_entry.kind is not EntryKind.CHARGE:
        raise InvalidArgument.field("charge_id", f"entry {charge_entry.entry_id} is not a charge entry")
    # NOTE: a void cancels the sale, so every line of the charge entry is reversed.
    flipped = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    postings = tuple(Posting(p.account, flipped[p.side], p.amount_minor) for p in charge_entry.postings)
    dims = charge_entry.dimensions
    dimensions = Dimensions(dims.storefront_id, dims.channel, dims.plan_id, accounting_period(occurred_at))
    return JournalEntry(
        entry_id,
        charge_entry.tenant_id,
        EntryKind.VOID,
        charge_entry.source_id,
        charge_entry.currency,
        dimensions,
        occurred_at,
        postings,
    )


def postings_for_credit_grant(
    tenant_id: str,
    entry_id: str,
    source_id: str,
    currency: str,
    amount_minor: int,
    dimensions: Dimensions,
    occurred_at: datetime,
) -> JournalEntry:
    """Goodwill credit: a concession (discounts) owed to the customer (customer credit)."""
    if amount_minor <= 0:
        raise InvalidArgument.field("amount", "must be positive")
    # NOTE: refunds to credit are booked by postings_for_refund; this is for goodwill only.
    postings = _lines(
        (Account.DISCOUNTS, Side.DEBIT, amount_minor),
        (Account.CUSTOMER_CREDIT, Side.CREDIT, amount_minor),
    )
    return JournalEntry(
        entry_id, tenant_id, EntryKind.CREDIT_GRANT, source_id, currency, dimensions, occurred_at, postings
    )


def net_revenue_minor(entry: JournalEntry) -> int:
    """Effect of an entry on net revenue: gross sales minus discounts and refunds."""
    return -(entry.total(Account.GROSS_SALES) + entry.total(Account.DISCOUNTS) + entry.total(Account.REFUNDS))


def revenue_recorded(entry: JournalEntry) -> RevenueRecorded:
    """The revenue.recorded event of a posted entry."""
    dims = entry.dimensions
    return RevenueRecorded(
        entry.entry_id,
        entry.kind,
        entry.source_id,
        entry.currency,
        dims.storefront_id,
        dims.channel,
        dims.plan_id,
        dims.period,
        net_revenue_minor(entry),
        -entry.total(Account.TAX_PAYABLE),
        entry.occurred_at,
        store_commission_minor=entry.total(Account.STORE_COMMISSION),
        gross_minor=entry.total(Account.STORE_RECEIVABLE) + entry.total(Account.STORE_COMMISSION),
    )


def trial_balance(entries: Iterable[JournalEntry]) -> dict[str, dict[Account, int]]:
    """Debit-positive balance of every account, per currency; each currency sums to zero."""
    balances: dict[str, dict[Account, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        for posting in entry.postings:
            balances[entry.currency][posting.account] += posting.signed_minor
    return {currency: dict(accounts) for currency, accounts in balances.items()}


class GroupBy(StrEnum):
    """Report dimensions."""

    PERIOD = "period"
    STOREFRONT = "storefront"
    CHANNEL = "channel"
    PLAN = "plan"


@dataclass(frozen=True)
class RevenueRow:
    """Revenue of one group in one currency; ungrouped dimensions are empty strings."""

    currency: str
    period: str
    storefront_id: str
    channel: str
    plan_id: str
    gross_sales_minor: int
    discounts_minor: int
    refunds_minor: int
    tax_minor: int
    store_commission_minor: int = 0

    @property
    def net_revenue_minor(self) -> int:
        """Gross sales minus discounts and refunds (tax excluded)."""
        return self.gross_sales_minor - self.discounts_minor - self.refunds_minor

    @property
    def proceeds_minor(self) -> int:
        """Net revenue minus what stores kept of the sales they collected."""
        return self.net_revenue_minor - self.store_commission_minor


def revenue_report(
    entries: Iterable[JournalEntry], period_from: str, period_to: str, group_by: Sequence[GroupBy]
) -> list[RevenueRow]:
    """Revenue per currency and requested dimensions for periods in [period_from, period_to]."""
    if period_from > period_to:
        raise InvalidArgument.field("period_from", "must not be after period_to")
    totals: dict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for entry in entries:
        dims = entry.dimensions
        if not period_from <= dims.period <= period_to:
            continue
        key = (
            entry.currency,
            dims.period if GroupBy.PERIOD in group_by else "",
            dims.storefront_id if GroupBy.STOREFRONT in group_by else "",
            dims.channel if GroupBy.CHANNEL in group_by else "",
            dims.plan_id if GroupBy.PLAN in group_by else "",
        )
        row = totals[key]
        row[0] -= entry.total(Account.GROSS_SALES)
        row[1] += entry.total(Account.DISCOUNTS)
        row[2] += entry.total(Account.REFUNDS)
        row[3] -= entry.total(Account.TAX_PAYABLE)
        row[4] += entry.total(Account.STORE_COMMISSION)
    return [RevenueRow(*key, *values) for key, values in sorted(totals.items())]
