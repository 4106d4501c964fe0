"""Prices: versions per plan, storefront and channel, their schedule and their resolution."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from azotte_catalog.errors import ChannelNotEnabled, PlanNotSellable, PriceNotFound
from azotte_platform.enums import Channel

from .plan import Plan
from .storefront import Storefront, TaxMode
from .validation import Violations, check_aware, join

MAX_AMOUNT_MINOR = 2**63 - 1


class ExistingSubscribers(StrEnum):
    """Whether a price change reaches subscriptions started before it takes effect."""

    GRANDFATHERED = "grandfathered"
    AT_NEXT_RENEWAL = "at_next_renewal"


@dataclass(frozen=True)
class PriceKey:
    """What a price is for; `channel` None is the storefront default."""

    plan_id: str
    storefront_id: str
    channel: Channel | None = None

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.storefront_id}/{self.channel or 'default'}"


@dataclass(frozen=True)
class Price:
    """One version of a price, in minor units of the storefront currency, from `effective_from` on."""

    id: str
    key: PriceKey
    amount_minor: int
    currency: str
    effective_from: datetime
    scheduled_at: datetime
    existing_subscribers: ExistingSubscribers = ExistingSubscribers.GRANDFATHERED


@dataclass(frozen=True)
class ResolvedPrice:
    """The price a subscriber pays, with the storefront's tax treatment."""

    price_id: str
    amount_minor: int
    currency: str
    tax_mode: TaxMode
    tax_rate: Decimal
    effective_from: datetime
    channel_override: bool
    price_increase_notice_days: int = 0
    price_increase_consent_required: bool = False
    # NOTE: when the next version of the key (the channel's or the storefront's) takes effect; None: none is
    # scheduled. Until then the same question gets the same answer, unless the catalog changes.
    next_change: datetime | None = None


def price_id(key: PriceKey, effective_from: datetime) -> str:
    """The deterministic id of a price version: key and effective time are unique together."""
    stamp = effective_from.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{key.plan_id}.{key.storefront_id}.{key.channel or 'default'}.{stamp}"


def versions_of(prices: Iterable[Price], key: PriceKey) -> list[Price]:
    """The versions of one key, oldest first."""
    return sorted((p for p in prices if p.key == key), key=lambda p: p.effective_from)


def check_price(
    history: Sequence[Price],
    key: PriceKey,
    amount_minor: int,
    effective_from: datetime | None,
    storefront: Storefront,
    now: datetime,
    path: str = "price",
) -> Violations:
    """Violations of scheduling a new version of `key` next to the existing `history` of that key."""
    v = Violations()
    if not 0 <= amount_minor <= MAX_AMOUNT_MINOR:
        v.add(join(path, "amount_minor"), "must be a whole number of minor units >= 0")
    if key.channel is not None and not storefront.sells_on(key.channel):
        v.add(join(path, "channel"), f"channel {key.channel} is not enabled in storefront {storefront.id!r}")
    same_key = [p for p in history if p.key == key]
    field = join(path, "effective_from")
    if effective_from is None:
        if same_key:
            v.add(field, f"required: {key} already has a price, so a change must be scheduled ahead")
        return v
    check_aware(v, field, effective_from)
    if v:
        return v
    # NOTE: history is never rewritten: no backdating, no second version at the same instant, and
    # only the very first price of a key may take effect immediately (effective_from == now).
    if effective_from < now:
        v.add(field, f"backdated: {effective_from.isoformat()} is before now ({now.isoformat()})")
    elif effective_from == now and same_key:
        v.add(field, f"a price change for {key} must take effect after now; only a first price may start now")
    clash = next((p for p in same_key if p.effective_from == effective_from), None)
    if clash is not None:
        v.add(field, f"overlaps price {clash.id!r}: {key} already has a price from {effective_from.isoformat()}")
    return v


def schedule_price(
    history: Sequence[Price],
    key: PriceKey,
    amount_minor: int,
    effective_from: datetime | None,
    existing_subscribers: ExistingSubscribers,
    storefront: Storefront,
    now: datetime,
    path: str = "price",
) -> Price:
    """A new price version of `key`, or InvalidArgument naming the field; None means effective now."""
    check_price(history, key, amount_minor, effective_from, storefront, now, path).raise_if_any("price")
    starts = now if effective_from is None else effective_from
    return Price(
        id=price_id(key, starts),
        key=key,
        amount_minor=amount_minor,
        currency=storefront.currency,
        effective_from=starts,
        scheduled_at=now,
        existing_subscribers=existing_subscribers,
    )


def applicable_version(
    versions: Sequence[Price], at: datetime, subscription_started_at: datetime | None = None
) -> Price | None:
    """The version of one key charged at `at`; for a renewal, of a subscription started at the given time."""
    effective = sorted((p for p in versions if p.effective_from <= at), key=lambda p: p.effective_from, reverse=True)
    if subscription_started_at is None:
        # NOTE: a new subscription always pays the latest price in effect.
        return effective[0] if effective else None
    for price in effective:
        # NOTE: an at_next_renewal change reaches every renewal after it takes effect; a grandfathered
        # change reaches only subscriptions started at or after its effective_from, so older
        # subscriptions keep the version they were sold under (the next older one that reaches them).
        if price.existing_subscribers is ExistingSubscribers.AT_NEXT_RENEWAL:
            return price
        if subscription_started_at >= price.effective_from:
            return price
    return None


def resolve_price(
    prices: Iterable[Price],
    plan: Plan,
    storefront: Storefront,
    channel: Channel,
    at: datetime,
    subscription_started_at: datetime | None = None,
) -> ResolvedPrice:
    """The price of `plan` in `storefront` on `channel` at `at` (a renewal if started_at is given)."""
    renewal = subscription_started_at is not None
    if not (plan.renewable if renewal else plan.sellable):
        raise PlanNotSellable(f"plan {plan.id!r} is {plan.status}; it cannot be {'renewed' if renewal else 'sold'}")
    if not storefront.sells_on(channel):
        raise ChannelNotEnabled(f"channel {channel} is not enabled in storefront {storefront.id!r}")
    pool = list(prices)
    override = versions_of(pool, PriceKey(plan.id, storefront.id, channel))
    default = versions_of(pool, PriceKey(plan.id, storefront.id))
    # NOTE: a channel-specific price overrides the storefront default when one applies at `at`.
    price = applicable_version(override, at, subscription_started_at) or applicable_version(
        default, at, subscription_started_at
    )
    if price is None and renewal:
        # NOTE: a subscription older than every price in effect renews at the oldest one it could have bought.
        price = next((p for p in (*override, *default) if p.effective_from <= at), None)
    if price is None:
        raise PriceNotFound(
            f"no price for plan {plan.id!r} in storefront {storefront.id!r} on {channel} at {at.isoformat()}"
        )
    return ResolvedPrice(
        price_id=price.id,
        amount_minor=price.amount_minor,
        currency=price.currency,
        tax_mode=storefront.tax.mode,
        tax_rate=storefront.tax.rate,
        effective_from=price.effective_from,
        channel_override=price.key.channel is not None,
        price_increase_notice_days=storefront.price_increase_notice_days,
        price_increase_consent_required=storefront.price_increase_consent_required,
        next_change=min((p.effective_from for p in (*override, *default) if p.effective_from > at), default=None),
    )


def activations_due(prices: Iterable[Price], after: datetime, until: datetime) -> list[Price]:
    """Scheduled-ahead prices taking effect in (after, until], oldest first (each is a price.activated)."""
    # NOTE: a price effective at its scheduling time is activated when scheduled, not here.
    due = (p for p in prices if after < p.effective_from <= until and p.effective_from > p.scheduled_at)
    return sorted(due, key=lambda p: (p.effective_from, p.id))
