"""Enterprise contracts: negotiated, versioned terms billed by invoice, and the invoice each period ends with.

A contract owns a subscription of channel `direct` that follows the one lifecycle; its periods are invoiced
at their end (in arrears): the recurring price, the period's usage at the negotiated meter prices (metering's
own price for a meter not negotiated), and a true-up line when that falls short of the committed minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from azotte_lifecycle.domain.periods import BillingInterval, shift
from azotte_lifecycle.errors import IllegalTransition
from azotte_platform.errors import InvalidArgument

MAX_PAYMENT_TERMS_DAYS = 365
MAX_RENEWAL_PERIODS = 120
MAX_SCHEDULED_AHEAD = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class ContractFeature:
    """A feature a contract grants besides its plan's: a catalog feature key and its quota amount or seat count
    (None: a boolean feature, or an unlimited quota)."""

    feature_key: str
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class MeterPrice:
    """A negotiated usage price: `unit_price_minor` per unit beyond `included_quantity` units per period."""

    meter_key: str
    unit_price_minor: Decimal
    included_quantity: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class BillingContact:
    """Who the invoices are addressed to; a foreign tax id means reverse charge (payments decides)."""

    name: str
    email: str = ""
    address: str = ""
    country_code: str = ""
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What one version of a contract agrees; amounts in minor units of the storefront's currency."""

    plan_id: str
    recurring_minor: int
    committed_minimum_minor: int
    end_time: datetime
    renewal_periods: int
    payment_terms_days: int
    billing_contact: BillingContact
    meter_prices: tuple[MeterPrice, ...] = ()
    features: tuple[ContractFeature, ...] = ()
    interval: BillingInterval | None = None

    def violations(self, start: datetime) -> None:
        """Raise INVALID_ARGUMENT naming the first field (`terms.<field>`) these terms break."""
        if not self.plan_id and not self.features:
            raise InvalidArgument.field("terms.plan_id", "is required unless the terms list features")
        if not self.plan_id and self.interval is None:
            raise InvalidArgument.field("terms.interval", "is required without a plan")
        if not self.plan_id and self.meter_prices:
            # NOTE: metering rates usage under the plan's storefront prices; without a plan none is measured.
            raise InvalidArgument.field("terms.meter_prices", "need a plan whose storefront prices the meters")
        if self.recurring_minor < 0:
            raise InvalidArgument.field("terms.recurring_price.amount_minor", "must not be negative")
        if self.committed_minimum_minor < 0:
            raise InvalidArgument.field("terms.committed_minimum.amount_minor", "must not be negative")
        if self.end_time <= start:
            raise InvalidArgument.field("terms.end_time", "must be after the contract's start")
        if not 0 <= self.renewal_periods <= MAX_RENEWAL_PERIODS:
            raise InvalidArgument.field("terms.renewal_periods", f"must be between 0 and {MAX_RENEWAL_PERIODS}")
        if not 0 <= self.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
            raise InvalidArgument.field("terms.payment_terms_days", f"must be between 0 and {MAX_PAYMENT_TERMS_DAYS}")
        if not self.billing_contact.name.strip():
            raise InvalidArgument.field("terms.billing_contact.name", "is required")
        seen: set[str] = set()
        for index, price in enumerate(self.meter_prices):
            where = f"terms.meter_prices[{index}]"
            if not price.meter_key or price.meter_key in seen:
                raise InvalidArgument.field(f"{where}.meter_key", "is required and must be unique")
            if price.unit_price_minor < 0:
                raise InvalidArgument.field(f"{where}.unit_price_minor", "must not be negative")
            if price.included_quantity < 0:
                raise InvalidArgument.field(f"{where}.included_quantity", "must not be negative")
            seen.add(price.meter_key)
        keys: set[str] = set()
        for index, feature in enumerate(self.features):
            where = f"terms.features[{index}]"
            if not feature.feature_key or feature.feature_key in keys:
                raise InvalidArgument.field(f"{where}.feature_key", "is required and must be unique")
            if feature.limit is not None and feature.limit < 0:
                raise InvalidArgument.field(f"{where}.limit", "must not be negative")
            keys.add(feature.feature_key)

    def billed_interval(self, plan_interval: BillingInterval | None) -> BillingInterval:
        """The interval the contract bills in: its plan's (`plan_interval`), which a given interval must match, else
        its own."""
        if plan_interval is None:
            assert self.interval is not None  # NOTE: `violations` requires it without a plan
            return self.interval
        if self.interval is not None and self.interval != plan_interval:
            raise InvalidArgument.field("terms.interval", "must be unset or the plan's interval")
        return plan_interval


def check_start(start: datetime, now: datetime, interval: BillingInterval) -> None:
    """A contract may start at most one `interval` back (back-dated) and at most a year ahead (scheduled)."""
    if start < shift(now, interval, -1):
        raise InvalidArgument.field("start_time", "must be at most one billing interval in the past")
    if start > now + MAX_SCHEDULED_AHEAD:
        raise InvalidArgument.field("start_time", "must be at most a year in the future")


@dataclass(frozen=True, slots=True)
class TermsRequest:
    """Terms as a request gives them: whether it negotiated a recurring price, and the currencies it named."""

    terms: ContractTerms
    recurring_given: bool
    currencies: dict[str, str]

    def require_currency(self, currency_code: str) -> None:
        """Every amount must be in the contract's currency (an empty code means it)."""
        for name, code in self.currencies.items():
            if code and code != currency_code:
                raise InvalidArgument.field(name, f"must be the storefront's currency {currency_code}")


def decimal_field(value: str, field_name: str) -> Decimal:
    """A decimal string of a request (empty is 0); anything else is INVALID_ARGUMENT naming `field_name`."""
    try:
        number = Decimal(value or "0")
    except InvalidOperation:
        raise InvalidArgument.field(field_name, "must be a decimal number") from None
    if not number.is_finite():
        raise InvalidArgument.field(field_name, "must be a decimal number")
    return number


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """One version of a contract's terms, who made it and when."""

    version: int
    terms: ContractTerms
    created_at: datetime
    actor: str


@dataclass(eq=False)
class Contract:
    """A customer's contract: the current terms (the newest version), the subscription it owns, its end.

    `end_requested_at` is when EndContract was called: the contract then ends with the period running at that time.
    `scheduled` while its start is ahead: its subscription (`subscription_id`) is created when the start comes.
    """

    id: str
    tenant_id: str
    customer_id: str
    storefront_id: str
    currency_code: str
    subscription_id: str
    interval: BillingInterval
    start: datetime
    versions: list[ContractVersion]
    end_requested_at: datetime | None = None
    final_end: datetime | None = None
    created_at: datetime | None = None
    scheduled: bool = False
    new_versions: list[ContractVersion] = field(default_factory=list)

    @classmethod
    def sign(
        cls,
        *,
        contract_id: str,
        tenant_id: str,
        customer_id: str,
        storefront_id: str,
        currency_code: str,
        subscription_id: str,
        interval: BillingInterval,
        terms: ContractTerms,
        now: datetime,
        actor: str,
        start: datetime | None = None,
    ) -> Contract:
        """Version 1 of a contract signed `now`, starting at `start` (None: now; scheduled when ahead)."""
        start = now if start is None else start
        check_start(start, now, interval)
        terms.violations(start)
        first = ContractVersion(1, terms, now, actor)
        contract = cls(
            contract_id,
            tenant_id,
            customer_id,
            storefront_id,
            currency_code,
            subscription_id,
            interval,
            start,
            [first],
            scheduled=start > now,
            new_versions=[first],
        )
        contract.final_end = contract.term_end()
        return contract

    @property
    def terms(self) -> ContractTerms:
        return self.versions[-1].terms

    @property
    def version(self) -> int:
        return self.versions[-1].version

    def term_end(self) -> datetime:
        """When the last period ends: the first period boundary at or after the end time, plus the renewals."""
        terms = self.terms
        index = 1
        while shift(self.start, self.interval, index) < terms.end_time:
            index += 1
        return shift(self.start, self.interval, index + terms.renewal_periods)

    def amend(self, terms: ContractTerms, now: datetime, actor: str) -> ContractVersion:
        """A new version with `terms`, applied from the next invoice on."""
        if self.end_requested_at is not None:
            raise IllegalTransition(f"contract {self.id} has been ended", metadata={"state": "ended"})
        terms.violations(self.start)
        if terms.end_time <= now:
            raise InvalidArgument.field("terms.end_time", "must be in the future")
        added = ContractVersion(self.version + 1, terms, now, actor)
        self.versions.append(added)
        self.new_versions.append(added)
        self.final_end = self.term_end()
        return added

    def end(self, period_end: datetime | None, now: datetime) -> None:
        """End with the current period (ending at `period_end`); a scheduled contract never starts (`period_end`
        None); ending again changes nothing."""
        if self.end_requested_at is not None:
            return
        self.end_requested_at = now
        if period_end is None:
            self.scheduled, self.final_end = False, self.start
            return
        self.final_end = min(period_end, self.final_end or period_end)

    def due_to_start(self, now: datetime) -> bool:
        """Whether its scheduled start has come."""
        return self.scheduled and self.start <= now

    def started(self) -> None:
        """Its subscription was created: no longer scheduled."""
        self.scheduled = False

    def ends_with(self, period_end: datetime) -> bool:
        """Whether the period ending at `period_end` is the contract's last."""
        return self.final_end is not None and period_end >= self.final_end


def invoice_key(subscription_id: str, period_index: int) -> str:
    """The payments idempotency key of the invoice of period `period_index`: one invoice per period."""
    return f"lifecycle:contract-invoice:{subscription_id}:{period_index}"


class InvoiceLineKind(StrEnum):
    """What a contract invoice line bills (payments' `InvoiceLineKind`)."""

    RECURRING = "recurring"
    USAGE = "usage"
    TRUE_UP = "true_up"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """A line of a period's invoice; `amount_minor` is positive, a credit is subtracted."""

    kind: InvoiceLineKind
    description: str
    amount_minor: int
    quantity: str = ""
    unit_price_minor: str = ""
    meter_key: str = ""
    dimension: str = ""


@dataclass(frozen=True, slots=True)
class UsageQuantity:
    """Usage of the period as metering billed it: `amount_minor` at metering's price (negative: prepaid credit)."""

    meter_key: str
    dimension: str
    quantity: Decimal
    amount_minor: int
    description: str


def _minor(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def period_invoice_lines(
    terms: ContractTerms, plan_label: str, usage: list[UsageQuantity], period: tuple[datetime, datetime]
) -> list[InvoiceLine]:
    """The lines of the invoice the period `period` ends with.

    A negotiated meter price bills `max(0, quantity - still included) * unit price`, rounded half up per line,
    the included quantity spent by the meter's lines in order; a meter without one keeps metering's amount.
    When recurring plus usage less credits falls short of the committed minimum, a true-up line adds the rest.
    """
    start, end = period
    lines = [
        InvoiceLine(
            InvoiceLineKind.RECURRING,
            f"{plan_label}, {start:%Y-%m-%d} to {end:%Y-%m-%d}",
            terms.recurring_minor,
        )
    ]
    prices = {price.meter_key: price for price in terms.meter_prices}
    included = {key: price.included_quantity for key, price in prices.items()}
    for used in usage:
        if used.amount_minor < 0:
            lines.append(InvoiceLine(InvoiceLineKind.CREDIT, used.description, -used.amount_minor))
            continue
        price = prices.get(used.meter_key)
        if price is None:
            lines.append(
                InvoiceLine(
                    InvoiceLineKind.USAGE,
                    used.description,
                    used.amount_minor,
                    str(used.quantity),
                    meter_key=used.meter_key,
                    dimension=used.dimension,
                )
            )
            continue
        free = min(included[used.meter_key], used.quantity)
        included[used.meter_key] -= free
        billable = used.quantity - free
        description = f"{used.meter_key}{f' ({used.dimension})' if used.dimension else ''}: {billable} billable"
        lines.append(
            InvoiceLine(
                InvoiceLineKind.USAGE,
                f"{description} of {used.quantity}",
                _minor(billable * price.unit_price_minor),
                str(billable),
                str(price.unit_price_minor),
                used.meter_key,
                used.dimension,
            )
        )
    total = sum(-line.amount_minor if line.kind is InvoiceLineKind.CREDIT else line.amount_minor for line in lines)
    if total < terms.committed_minimum_minor:
        lines.append(
            InvoiceLine(
                InvoiceLineKind.TRUE_UP,
                "True-up to the committed minimum",
                terms.committed_minimum_minor - total,
            )
        )
    return lines
