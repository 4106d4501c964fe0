"""Price changes as subscribers and operators see them: a subscription's price outlook, who a change would
reach (a dry run before scheduling it), and its impact per cohort once scheduled. Pure: the catalog's prices
come in as arguments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from azotte_lifecycle.domain.events import PendingPriceChange, PriceChangeOutcome, PriceChangeRecord
from azotte_lifecycle.domain.proration import with_added_tax
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import LIVE_STATES, Subscription, notice_reaches
from azotte_platform.enums import Channel


class PriceChangeState(StrEnum):
    """Where a subscription's next price stands."""

    NONE = "none"
    """The next renewal charges the current price; no change is announced."""
    SCHEDULED = "scheduled"
    """The next renewal charges another catalog price that needs no notice (a decrease, or no notice period)."""
    NOTICE_PENDING = "notice_pending"
    """The catalog has a higher price the subscriber has not been told of yet: it reaches a later renewal."""
    NOTICE_GIVEN = "notice_given"
    AWAITING_CONSENT = "awaiting_consent"
    CONSENTED = "consented"
    DECLINED = "declined"
    """Refused: the subscription ends, uncharged, at the renewal that would have charged it."""


@dataclass(frozen=True, slots=True)
class CatalogPrice:
    """The catalog's price of a renewal and its storefront's notice period for increases."""

    amount_minor: int
    notice_days: int = 0


@dataclass(frozen=True, slots=True)
class PriceOutlook:
    """A subscription's current price, what its next renewal charges and any change on the way.

    `next_amount_minor` is None when no renewal follows (ended, cancelled at period end, store-billed, or an
    increase it did not accept). `change` holds the old and new amounts, the renewal that first charges the
    new one and, once announced, the notice and the subscriber's answer.
    """

    current_amount_minor: int
    next_amount_minor: int | None
    next_renewal_at: datetime | None
    state: PriceChangeState
    change: PendingPriceChange | None = None


def price_outlook(sub: Subscription, price: CatalogPrice | None, now: datetime) -> PriceOutlook:
    """`sub`'s outlook given the catalog's price of its next renewal (None: the catalog has none, so the stored
    terms apply), with the very rule the renewal applies (`Subscription.renewal_amount_for`)."""
    current = sub.renewal_amount_minor
    renews = (
        sub.state in LIVE_STATES and not sub.cancel_at_period_end and sub.billing_origin is BillingOrigin.AZOTTE_BILLED
    )
    catalog = current if price is None else price.amount_minor
    notice_days = sub.price_notice_days if price is None else price.notice_days
    next_amount = sub.renewal_amount_for(catalog, notice_days) if renews else None
    renewal = sub.renewal_time if renews else None
    told = sub.pending_price_change
    if told is not None:
        return PriceOutlook(current, next_amount, renewal, _answered(told), told)
    if next_amount is not None and next_amount != current:
        change = PendingPriceChange(current, next_amount, sub.renewal_time, None)
        return PriceOutlook(current, next_amount, renewal, PriceChangeState.SCHEDULED, change)
    if renews and catalog > current and notice_days > 0:
        reaches = first_renewal_charging(sub, sub.renewal_time, catalog, notice_days, now)
        change = PendingPriceChange(current, catalog, reaches, None)
        return PriceOutlook(current, next_amount, renewal, PriceChangeState.NOTICE_PENDING, change)
    return PriceOutlook(current, next_amount, renewal, PriceChangeState.NONE)


def _answered(change: PendingPriceChange) -> PriceChangeState:
    if change.declined_at is not None:
        return PriceChangeState.DECLINED
    if change.consented_at is not None:
        return PriceChangeState.CONSENTED
    return PriceChangeState.AWAITING_CONSENT if change.consent_required else PriceChangeState.NOTICE_GIVEN


def first_renewal_charging(
    sub: Subscription, effective_at: datetime, amount_minor: int, notice_days: int, now: datetime
) -> datetime:
    """The first renewal of `sub` charging a catalog price of `amount_minor` in effect from `effective_at`:
    an increase needs `notice_days` of notice given from now on (notice checks run that long before each
    renewal), a decrease or an unchanged price none."""
    earliest = effective_at
    if amount_minor > sub.renewal_amount_minor and notice_days > 0:
        earliest = max(earliest, notice_reaches(now, notice_days))
    return sub.first_renewal_from(earliest)


def renewal_after_plan_change(
    bought_minor: int, catalog_minor: int, notice_days: int, renewal_at: datetime, changed_at: datetime
) -> int:
    """What the first renewal after a plan change charges: the plan was bought at `bought_minor` at `changed_at`;
    the catalog prices that renewal at `catalog_minor`. An increase needs its notice, given at the change at the
    earliest."""
    if catalog_minor <= bought_minor or notice_days <= 0:
        return catalog_minor
    return catalog_minor if renewal_at >= notice_reaches(changed_at, notice_days) else bought_minor


@dataclass(frozen=True, slots=True)
class ChargeAmounts:
    """A charge split as payments splits it: the price, the tax in or on it, what is paid."""

    amount_minor: int
    tax_minor: int
    gross_minor: int


def charge_amounts(amount_minor: int, added_tax_rate: Decimal, included_tax_rate: Decimal) -> ChargeAmounts:
    """Tax as payments computes it, one line rounded half up: added on top (`added_tax_rate`, prices exclude
    tax) or extracted from the price (`included_tax_rate`, prices include it)."""
    if added_tax_rate:
        gross = with_added_tax(amount_minor, added_tax_rate)
        return ChargeAmounts(amount_minor, gross - amount_minor, gross)
    extracted = Decimal(amount_minor) * included_tax_rate / (1 + included_tax_rate)
    return ChargeAmounts(amount_minor, int(extracted.quantize(Decimal(1), rounding=ROUND_HALF_UP)), amount_minor)


class ExistingSubscribers(StrEnum):
    """How a scheduled price reaches subscriptions that started before it (the catalog's rule)."""

    AT_NEXT_RENEWAL = "at_next_renewal"
    GRANDFATHERED = "grandfathered"


@dataclass(frozen=True, slots=True)
class ProposedPrice:
    """A price change being considered: the plan's new amount in a storefront (on one channel, or on every
    channel when None) from `effective_at`, and how it treats existing subscribers."""

    storefront_id: str
    plan_id: str
    amount_minor: int
    effective_at: datetime
    existing: ExistingSubscribers
    channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class AffectedSubscription:
    """A subscription a proposed price reaches: its renewal price now, the new one, the first renewal charging it."""

    subscription_id: str
    customer_id: str
    old_amount_minor: int
    new_amount_minor: int
    first_renewal_at: datetime


def reaches(sub: Subscription, proposed: ProposedPrice) -> bool:
    """Whether the proposed price would reprice `sub`'s renewals: a live, renewing, Azotte-billed subscription
    of the plan in the storefront (and channel), not grandfathered."""
    return (
        sub.plan_id == proposed.plan_id
        and sub.storefront_id == proposed.storefront_id
        and (proposed.channel is None or sub.channel is proposed.channel)
        and sub.billing_origin is BillingOrigin.AZOTTE_BILLED
        and sub.state in LIVE_STATES
        and not sub.cancel_at_period_end
        and (proposed.existing is ExistingSubscribers.AT_NEXT_RENEWAL or sub.price_start >= proposed.effective_at)
    )


def affected(sub: Subscription, proposed: ProposedPrice, notice_days: int, now: datetime) -> AffectedSubscription:
    """How the proposed price reaches `sub` (`reaches(sub, proposed)` holds)."""
    first = first_renewal_charging(sub, proposed.effective_at, proposed.amount_minor, notice_days, now)
    return AffectedSubscription(sub.id, sub.customer_id, sub.renewal_amount_minor, proposed.amount_minor, first)


# ---------------------------------------------------------------------------------------- impact


@dataclass(frozen=True, slots=True)
class PriceChangeRow:
    """One subscriber's price change as the impact report reads it."""

    storefront_id: str
    plan_id: str
    price_effective_at: datetime
    cohort: str
    """The subscription's start month, YYYY-MM."""
    currency_code: str
    old_amount_minor: int
    new_amount_minor: int
    outcome: PriceChangeOutcome
    consented: bool
    declined: bool


def row_of(sub: Subscription, record: PriceChangeRecord) -> PriceChangeRow:
    """The impact report's row of a price change `sub` recorded (its cohort is the month it started)."""
    change = record.change
    started = sub.created_at or sub.current_period_start
    return PriceChangeRow(
        sub.storefront_id,
        sub.plan_id,
        change.price_effective_at or change.effective_at,
        started.strftime("%Y-%m"),
        sub.currency_code,
        change.old_amount_minor,
        change.amount_minor,
        record.outcome,
        change.consented_at is not None,
        change.declined_at is not None,
    )


@dataclass(frozen=True, slots=True)
class CohortImpact:
    """A price change's impact on the subscribers who started in one month.

    `revenue_before_minor` sums the old prices of every subscriber the change reached; `revenue_after_minor`
    the new prices of those still subscribed (not declined, not churned).
    """

    storefront_id: str
    plan_id: str
    price_effective_at: datetime
    cohort: str
    currency_code: str
    subscribers: int = 0
    consented: int = 0
    declined: int = 0
    renewed_at_new_price: int = 0
    churned: int = 0
    revenue_before_minor: int = 0
    revenue_after_minor: int = 0


def impact(rows: Iterable[PriceChangeRow]) -> list[CohortImpact]:
    """Counts and recurring revenue per (storefront, plan, price effective time, cohort), in that order."""
    groups: dict[tuple[str, str, datetime, str, str], CohortImpact] = {}
    for row in rows:
        key = (row.storefront_id, row.plan_id, row.price_effective_at, row.cohort, row.currency_code)
        group = groups.get(key) or CohortImpact(*key)
        declined = row.declined or row.outcome is PriceChangeOutcome.DECLINED
        churned = row.outcome is PriceChangeOutcome.CHURNED
        groups[key] = replace(
            group,
            subscribers=group.subscribers + 1,
            consented=group.consented + row.consented,
            declined=group.declined + declined,
            renewed_at_new_price=group.renewed_at_new_price + (row.outcome is PriceChangeOutcome.RENEWED),
            churned=group.churned + churned,
            revenue_before_minor=group.revenue_before_minor + row.old_amount_minor,
            revenue_after_minor=group.revenue_after_minor + (0 if declined or churned else row.new_amount_minor),
        )
    return [groups[key] for key in sorted(groups)]
