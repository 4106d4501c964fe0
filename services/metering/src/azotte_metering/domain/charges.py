"""A customer's usage per billing period and the charge lines it rates to.

A customer with a subscription bills usage in the subscription's periods (`UsageAccount`, kept from
lifecycle's events); one without bills by calendar month (UTC). Usage of a period accumulates per
(meter, dimension values) as `UsageRecorded` arrives; usage that arrives for a period already billed
becomes an adjustment line on the next charge. A period ending with a renewal is billed once: its charges
are frozen in a `UsageBill` that the renewal charge carries as lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from azotte_metering.domain.pricing import PriceModel, to_minor

ZERO = Decimal(0)

ADDITIVE = frozenset({"sum", "count", "unique_count"})
"""Aggregations whose batches add up over a period (UNIQUE_COUNT counts events, see `accumulate`)."""
PRICEABLE = ADDITIVE | {"max", "latest"}


@dataclass(frozen=True, slots=True)
class Period:
    """A billing period [start, end)."""

    start: datetime
    end: datetime


def calendar_month(at: datetime) -> Period:
    """The UTC calendar month holding `at`."""
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    end = datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class UsageAccount:
    """Where a customer's usage is priced and in which period: their subscription's plan and storefront."""

    customer_id: str
    subscription_id: str
    storefront_id: str
    plan_id: str
    currency_code: str
    period: Period


def period_for(account: UsageAccount | None, at: datetime) -> tuple[Period, bool]:
    """The period usage at `at` is counted in, and whether it is late: its own period is already billed.

    NOTE: the renewal that starts a period charges the usage of the one before, so usage from before the
    current period's start is late: it is counted in the current period as an adjustment. Usage after the
    period's end stays in it until lifecycle announces the renewal.
    """
    if account is None:
        return calendar_month(at), False
    return account.period, at < account.period.start


def dimensions_key(dimensions: Mapping[str, str]) -> str:
    """Dimension values as canonical JSON (sorted keys); "" for none."""
    return json.dumps(dict(sorted(dimensions.items())), separators=(",", ":")) if dimensions else ""


def accumulate(
    aggregation: str, current: UsageTotal | None, quantity: Decimal, event_count: int, last_event_time: datetime
) -> Decimal:
    """A period's quantity after one batch (`quantity` over `event_count` events, the last at `last_event_time`),
    the same in whatever order the batches come: additive meters add up; MAX keeps the largest, MIN the smallest;
    AVG weighs each batch by its events; LATEST keeps the value of the latest event, of events at the same time
    the largest (as the rollups do).

    NOTE: a UNIQUE_COUNT meter is billed by the events it counted (each batch's count), not by distinct
    values, which do not add up across batches.
    """
    if current is None:
        return quantity
    if aggregation in ADDITIVE:
        return current.quantity + quantity
    if aggregation == "max":
        return max(current.quantity, quantity)
    if aggregation == "min":
        return min(current.quantity, quantity)
    if aggregation == "avg":
        events = current.event_count + event_count
        return (current.quantity * current.event_count + quantity * event_count) / events if events else quantity
    return max((current.latest_time, current.quantity), (last_event_time, quantity))[1]


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """A customer's usage of one meter and dimension values in a period, and what it rated to."""

    meter_key: str
    dimensions: Mapping[str, str]
    quantity: Decimal
    event_count: int
    latest_time: datetime
    currency_code: str = ""
    rated_minor: int = 0


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One line of a usage charge: the quantity of a meter (and dimension values), its included units, the
    overage beyond them and its amount."""

    meter_key: str
    dimensions: Mapping[str, str]
    quantity: Decimal
    included_units: Decimal
    billable_units: Decimal
    currency_code: str
    amount_minor: int
    model: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Usage that arrived after its period was billed, charged on the next one."""

    adjustment_id: str
    usage_time: datetime
    """When the late usage happened (its earliest event)."""
    meter_key: str
    dimensions: Mapping[str, str]
    quantity: Decimal
    currency_code: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class UsageCharges:
    """What a period's usage comes to: its lines, the adjustments it carries, and what is due in arrears
    after the credit the wallet paid as usage arrived."""

    customer_id: str
    period: Period
    currency_code: str
    lines: tuple[ChargeLine, ...]
    adjustments: tuple[Adjustment, ...]
    credited_minor: int
    subscription_id: str = ""
    """The subscription whose renewal charges them ("" for a customer without one)."""

    @property
    def subtotal_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines) + sum(a.amount_minor for a in self.adjustments)

    @property
    def due_minor(self) -> int:
        return max(self.subtotal_minor - self.credited_minor, 0)


def line_for(total: UsageTotal, price: PriceModel, currency_code: str) -> ChargeLine:
    """The charge line of one usage total: its amount as rated when its usage arrived (what the wallet paid
    from), or under `price` if it was not rated in that currency."""
    rated = total.rated_minor if total.currency_code == currency_code else to_minor(price.amount(total.quantity))
    return ChargeLine(
        total.meter_key,
        total.dimensions,
        total.quantity,
        min(price.included_units, total.quantity),
        price.billable(total.quantity),
        currency_code,
        rated,
        price.model.value,
    )


def charges_of(
    customer_id: str,
    period: Period,
    currency_code: str,
    lines: Iterable[ChargeLine],
    adjustments: Iterable[Adjustment],
    credited_minor: int,
    subscription_id: str = "",
) -> UsageCharges:
    """The period's charges in one currency, lines ordered by meter then dimension values."""
    ordered = sorted(
        (line for line in lines if line.currency_code == currency_code),
        key=lambda line: (line.meter_key, dimensions_key(line.dimensions)),
    )
    carried = tuple(a for a in adjustments if a.currency_code == currency_code)
    return UsageCharges(customer_id, period, currency_code, tuple(ordered), carried, credited_minor, subscription_id)


@dataclass(frozen=True, slots=True)
class PeriodToClose:
    """A subscription's period ending with a renewal, and the period the renewal starts."""

    subscription_id: str
    customer_id: str
    period: Period
    next_period: Period


@dataclass(frozen=True, slots=True)
class UsageBill:
    """A period's usage charges as billed with its renewal (frozen: later usage of it is an adjustment)."""

    subscription_id: str
    charges: UsageCharges
    billed_at: datetime = field(compare=False)
