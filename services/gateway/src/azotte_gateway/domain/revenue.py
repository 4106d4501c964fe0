"""Revenue analytics: how each subscription event moves MRR, and the rates read off the revenue stream.

MRR follows the definition analysts use (ChartMogul's): recurring amounts only, normalized to a month
(an annual price / 12), after discounts, excluding tax; one-time, usage and proration charges are not MRR.
A subscription counts while it is ACTIVE or PAST_DUE (in grace); trials are counted apart and add no MRR;
churn is dated when the subscription stops counting — the end of the grace period (ON_HOLD), a pause, or
its expiry. Every figure is a sum of per-event deltas, so it can be drilled down to the events behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from babel.numbers import get_currency_precision


class Standing(StrEnum):
    """Where a subscription stands for MRR."""

    UNSEEN = "unseen"
    TRIAL = "trial"
    PAYING = "paying"
    LAPSED = "lapsed"


class Movement(StrEnum):
    """The MRR movement an event causes (ChartMogul's five kinds), or none."""

    NONE = ""
    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
    REACTIVATION = "reactivation"


STANDING_OF_STATE: Mapping[str, Standing] = {
    "TRIALING": Standing.TRIAL,
    "ACTIVE": Standing.PAYING,
    "PAST_DUE": Standing.PAYING,
    "ON_HOLD": Standing.LAPSED,
    "PAUSED": Standing.LAPSED,
    "EXPIRED": Standing.LAPSED,
}


class IntervalUnit(StrEnum):
    """A plan's billing interval unit."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_MONTHS_PER_UNIT: Mapping[IntervalUnit, Decimal] = {
    IntervalUnit.DAY: Decimal(12) / Decimal(365),
    IntervalUnit.WEEK: Decimal(12) / Decimal(52),
    IntervalUnit.MONTH: Decimal(1),
    IntervalUnit.YEAR: Decimal(12),
}


def round_minor(value: Decimal) -> int:
    """A Decimal amount of minor units rounded half up to a whole one."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_minor(amount_minor: int, unit: IntervalUnit, count: int) -> int:
    """The monthly equivalent of a price billed every `count` `unit`s (9,999 a year -> 833 a month)."""
    return round_minor(Decimal(amount_minor) / (_MONTHS_PER_UNIT[unit] * max(count, 1)))


@dataclass(frozen=True)
class SubscriptionStanding:
    """What analytics remembers of a subscription between its events."""

    standing: Standing
    mrr_minor: int
    ever_paid: bool
    in_dunning: bool = False

    @classmethod
    def unseen(cls) -> SubscriptionStanding:
        return cls(Standing.UNSEEN, 0, False)


@dataclass(frozen=True)
class StandingChange:
    """An event's effect on one subscription: its new standing and the deltas the figures sum."""

    after: SubscriptionStanding
    movement: Movement
    mrr_delta_minor: int
    trial_delta: int
    paying_delta: int
    dunning_started: bool


def move(before: SubscriptionStanding, state: str, mrr_minor: int) -> StandingChange:
    """The change of a subscription now in `state` whose recurring amount is `mrr_minor` a month."""
    standing = STANDING_OF_STATE.get(state, before.standing)
    paying_before = before.standing is Standing.PAYING
    paying_after = standing is Standing.PAYING
    mrr_after = mrr_minor if paying_after else 0
    if paying_after and not paying_before:
        movement = Movement.REACTIVATION if before.ever_paid else Movement.NEW
    elif paying_before and not paying_after:
        movement = Movement.CHURN
    elif paying_after and mrr_after != before.mrr_minor:
        movement = Movement.EXPANSION if mrr_after > before.mrr_minor else Movement.CONTRACTION
    else:
        movement = Movement.NONE
    in_dunning = state in ("PAST_DUE", "ON_HOLD")
    after = SubscriptionStanding(standing, mrr_after, before.ever_paid or paying_after, in_dunning)
    return StandingChange(
        after=after,
        movement=movement,
        mrr_delta_minor=mrr_after - before.mrr_minor,
        trial_delta=int(standing is Standing.TRIAL) - int(before.standing is Standing.TRIAL),
        paying_delta=int(paying_after) - int(paying_before),
        dunning_started=in_dunning and not before.in_dunning,
    )


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """numerator / denominator to four decimals (0.1234 = 12.34 %), or None when nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MovementTotals:
    """MRR moved in a window, by kind; churn and contraction are negative."""

    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0

    @property
    def net(self) -> int:
        return self.new + self.expansion + self.contraction + self.churn + self.reactivation


def gross_mrr_churn(movements: MovementTotals, mrr_at_start: int) -> Decimal | None:
    """MRR lost to churn in a window / MRR at its start."""
    return ratio(-movements.churn, mrr_at_start)


def net_mrr_churn(movements: MovementTotals, mrr_at_start: int) -> Decimal | None:
    """(churn + contraction - expansion - reactivation) / MRR at the start; negative when expansion wins."""
    lost = -movements.churn - movements.contraction - movements.expansion - movements.reactivation
    return ratio(lost, mrr_at_start)


@dataclass(frozen=True)
class ExchangeRate:
    """Units of the reporting currency one unit of `currency` buys, from `effective_date` on."""

    currency: str
    reporting_currency: str
    rate: Decimal
    effective_date: date


class MissingExchangeRate(Exception):
    """No stored rate converts a currency into the reporting currency at a date."""

    def __init__(self, currency: str, reporting_currency: str, on: date) -> None:
        super().__init__(f"no exchange rate from {currency} to {reporting_currency} on {on.isoformat()}")
        self.currency = currency
        self.on = on


@dataclass(frozen=True)
class Rates:
    """The stored rates into one reporting currency, each effective from its date until the next."""

    reporting_currency: str
    rates: tuple[ExchangeRate, ...]

    def rate(self, currency: str, on: date) -> Decimal:
        if currency == self.reporting_currency:
            return Decimal(1)
        effective = [r for r in self.rates if r.currency == currency and r.effective_date <= on]
        if not effective:
            raise MissingExchangeRate(currency, self.reporting_currency, on)
        return max(effective, key=lambda r: r.effective_date).rate

    def convert(self, amount_minor: int, currency: str, on: date) -> int:
        """`amount_minor` of `currency` in minor units of the reporting currency, at the rate of `on`."""
        if currency == self.reporting_currency:
            return amount_minor
        major = Decimal(amount_minor).scaleb(-get_currency_precision(currency))
        converted = major * self.rate(currency, on)
        return round_minor(converted.scaleb(get_currency_precision(self.reporting_currency)))


@dataclass(frozen=True)
class UsageLine:
    """What a charge billed for one meter's usage in arrears: the quantity, the amount, and the part of it
    already paid from prepaid credit (negative)."""

    meter_key: str
    quantity: Decimal
    billed_minor: int
    credit_minor: int = 0


@dataclass(frozen=True)
class RevenueEntry:
    """One event of the revenue stream, with its amounts (minor units of `currency`) and its effects.

    Payments' facts carry money (gross after discount, discount, tax, net; refunds; credit; the ledger's
    net and tax), lifecycle's facts carry the MRR movement and the counts they change.
    """

    event_id: str
    occur_time: datetime
    source: str
    type: str
    customer_id: str = ""
    subscription_id: str = ""
    plan_id: str = ""
    storefront_id: str = ""
    channel: str = ""
    currency: str = ""
    state: str = ""
    cause: str = ""
    charge_id: str = ""
    period_key: str = ""
    promotion_id: str = ""
    # Campaign offers and experiment assignments: which campaign, experiment and variant.
    campaign_id: str = ""
    experiment_id: str = ""
    variant_id: str = ""
    psp: str = ""
    decline_reason: str = ""
    gross_minor: int = 0
    discount_minor: int = 0
    tax_minor: int = 0
    net_minor: int = 0
    refund_minor: int = 0
    credit_minor: int = 0
    # A charge: the part of its gross the customer's credit paid.
    credit_applied_minor: int = 0
    ledger_net_minor: int = 0
    ledger_tax_minor: int = 0
    # A store-billed sale: what the store kept of it.
    store_commission_minor: int = 0
    movement: Movement = Movement.NONE
    mrr_delta_minor: int = 0
    trial_delta: int = 0
    paying_delta: int = 0
    customer_paying_delta: int = 0
    dunning_started: bool = False
    recovered: bool = False
    # A charge that billed usage: per meter, what it billed.
    usage: tuple[UsageLine, ...] = ()
    # Its place in the stream (given when stored).
    seq: int = 0


@dataclass(frozen=True)
class Slice:
    """Which entries a figure counts: empty fields match anything."""

    storefront_id: str = ""
    channel: str = ""
    plan_id: str = ""
    currency: str = ""


@dataclass(frozen=True)
class Balances:
    """Running totals of one currency at an instant: the sums of every delta up to it."""

    currency: str
    mrr_minor: int = 0
    trials: int = 0
    paying_subscriptions: int = 0
    paying_customers: int = 0


# What a day of entries adds up to, measure by measure (the daily read model's columns, in this order).
MEASURES = (
    "new_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "reactivation_minor",
    "trial_delta",
    "paying_delta",
    "customers_gained",
    "customers_lost",
    "gross_minor",
    "discount_minor",
    "refund_minor",
    "credit_minor",
    "ledger_net_minor",
    "ledger_tax_minor",
    "store_commission_minor",
    "dunning_started",
    "recovered",
)
_MOVEMENT_MEASURE = {m: f"{m.value}_minor" for m in Movement if m is not Movement.NONE}


def measures(entry: RevenueEntry) -> tuple[int, ...]:
    """An entry's contribution to its day, one value per `MEASURES` name."""
    # What a subscriber paid: an Azotte-billed charge, or a sale a store billed.
    paid = entry.type == "payment.succeeded" or (entry.type == "revenue.recorded" and entry.cause == "store_sale")
    values = {
        "trial_delta": entry.trial_delta,
        "paying_delta": entry.paying_delta,
        "customers_gained": int(entry.customer_paying_delta > 0),
        "customers_lost": int(entry.customer_paying_delta < 0),
        "gross_minor": entry.gross_minor if paid else 0,
        "discount_minor": entry.discount_minor if paid else 0,
        "refund_minor": entry.refund_minor,
        # NOTE: credit given as a refund is counted once, as the refund.
        "credit_minor": entry.credit_minor if entry.cause != "refund" else 0,
        "ledger_net_minor": entry.ledger_net_minor,
        "ledger_tax_minor": entry.ledger_tax_minor,
        "store_commission_minor": entry.store_commission_minor,
        "dunning_started": int(entry.dunning_started),
        "recovered": int(entry.recovered),
    }
    if entry.movement is not Movement.NONE:
        values[_MOVEMENT_MEASURE[entry.movement]] = entry.mrr_delta_minor
    return tuple(values.get(name, 0) for name in MEASURES)


@dataclass(frozen=True)
class DayFigures:
    """What one day's entries of one currency add up to."""

    day: date
    currency: str
    movements: MovementTotals = MovementTotals()
    trial_delta: int = 0
    paying_delta: int = 0
    customers_gained: int = 0
    customers_lost: int = 0
    gross_minor: int = 0
    discount_minor: int = 0
    refund_minor: int = 0
    credit_minor: int = 0
    ledger_net_minor: int = 0
    ledger_tax_minor: int = 0
    store_commission_minor: int = 0
    dunning_started: int = 0
    recovered: int = 0

    @classmethod
    def of(cls, day: date, currency: str, values: Sequence[int]) -> DayFigures:
        """The figures of `values` given in `MEASURES` order."""
        return cls(day, currency, MovementTotals(*values[:5]), *values[5:])

    def values(self) -> list[int]:
        """The figures in `MEASURES` order."""
        m = self.movements
        return [m.new, m.expansion, m.contraction, m.churn, m.reactivation, *(getattr(self, n) for n in MEASURES[5:])]


def add_up(figures: Iterable[tuple[date, str, Sequence[int]]]) -> list[DayFigures]:
    """Per (day, currency) sums of measure tuples, in day and currency order."""
    totals: dict[tuple[date, str], list[int]] = {}
    for day, currency, values in figures:
        running = totals.setdefault((day, currency), [0] * len(MEASURES))
        for index, value in enumerate(values):
            running[index] += value
    return [DayFigures.of(day, currency, totals[day, currency]) for day, currency in sorted(totals)]


@dataclass(frozen=True)
class ChargeSeriesCounts:
    """Charge series (a renewal period's attempts, or one checkout charge) started in a window."""

    series: int
    first_attempt_succeeded: int
    succeeded: int


@dataclass(frozen=True)
class DeclineCount:
    """Failed charges of one normalized reason at one PSP."""

    reason: str
    psp: str
    count: int


@dataclass(frozen=True)
class CampaignFigures:
    """One promotion's redemptions in a window, in one currency."""

    promotion_id: str
    currency: str
    redemptions: int
    discount_minor: int
    revenue_minor: int


@dataclass(frozen=True)
class EntryQuery:
    """Which entries of the stream to list: equal fields (customer_id, type, movement, ...) and a time range."""

    equal: Mapping[str, str]
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CampaignConversion:
    """A campaign's offers of one promotion issued in a window, and how many of them were redeemed."""

    campaign_id: str
    promotion_id: str
    offers_issued: int
    offers_redeemed: int


@dataclass(frozen=True)
class VariantFigures:
    """An experiment variant's customers assigned in a window, those who started paying after their assignment,
    and the net revenue (after refunds) they brought since, per currency."""

    variant_id: str
    assigned: int
    converted: int
    revenue_minor: dict[str, int]


@dataclass(frozen=True)
class UsageFigures:
    """A meter's usage billed in a window in one currency: the quantity, the amount billed, the part paid from
    prepaid credit (negative), and what the charges collected for it."""

    meter_key: str
    currency: str
    quantity: Decimal
    billed_minor: int
    credit_minor: int

    @property
    def charged_minor(self) -> int:
        """Billed less what prepaid credit had already paid."""
        return self.billed_minor + self.credit_minor


def usage_lines(lines: Iterable[tuple[str, str, str, int]]) -> tuple[UsageLine, ...]:
    """Per meter, the sum of a charge's usage lines given as (kind, meter_key, quantity, amount_minor) with kind
    `usage`, `usage_adjustment` (billed) or `usage_credit` (credit), in meter order; other lines are not usage."""
    billed: dict[str, UsageLine] = {}
    for kind, meter_key, quantity, amount_minor in lines:
        if kind not in ("usage", "usage_adjustment", "usage_credit") or not meter_key:
            continue
        was = billed.get(meter_key, UsageLine(meter_key, Decimal(0), 0))
        if kind == "usage_credit":
            billed[meter_key] = replace(was, credit_minor=was.credit_minor + amount_minor)
        else:
            billed[meter_key] = replace(
                was, quantity=was.quantity + Decimal(quantity or 0), billed_minor=was.billed_minor + amount_minor
            )
    return tuple(billed[meter] for meter in sorted(billed))
