"""Price changes as they reach existing subscribers: each subscription's outlook, the upcoming charge, a dry run
of a price before it is scheduled, the subscriber's answer and the impact per cohort.

Every price shown asks the catalog what the renewal itself asks (`scheduler.renewal_price_query`, one
`renewal_prices` call for a whole page) and applies the renewal's own rule (`Subscription.renewal_amount_for`),
so what a subscriber is shown is what the renewal charges.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from azotte_lifecycle.domain.price_changes import (
    AffectedSubscription,
    CatalogPrice,
    ChargeAmounts,
    CohortImpact,
    PriceChangeState,
    PriceOutlook,
    ProposedPrice,
    affected,
    charge_amounts,
    impact,
    price_outlook,
    reaches,
)
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import NoUpcomingCharge
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Price, SubscriptionQuery
from azotte_lifecycle.service_layer.scheduler import renewal_price_query
from azotte_lifecycle.service_layer.subscriptions import load, save
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest

log = logging.getLogger(__name__)

MAX_INT64 = 2**63 - 1
SCAN_PAGE = 1000  # NOTE: subscriptions read per query while a dry run scans a plan's subscribers


async def renewal_prices(catalog: Catalog, subs: Sequence[Subscription]) -> list[Price | None] | None:
    """The catalog's price of each subscription's next renewal, asked together (None: the catalog cannot answer)."""
    if not subs:
        return []
    try:
        return await catalog.renewal_prices([renewal_price_query(s) for s in subs])
    except Exception:
        log.warning("renewal prices of %d subscriptions unavailable; their outlook is left out", len(subs))
        return None


async def outlooks(catalog: Catalog, subs: Sequence[Subscription], now: datetime) -> list[PriceOutlook | None]:
    """Each subscription's price outlook (None for all when the catalog cannot answer)."""
    prices = await renewal_prices(catalog, subs)
    if prices is None:
        return [None] * len(subs)
    return [price_outlook(s, _catalog_price(s, p), now) for s, p in zip(subs, prices, strict=True)]


def _catalog_price(sub: Subscription, price: Price | None) -> CatalogPrice | None:
    if price is None or price.currency_code != sub.currency_code:
        return None  # NOTE: as the renewal does: no catalog price here, the stored terms apply
    return CatalogPrice(price.amount_minor, price.increase_notice_days)


@dataclass(frozen=True, slots=True)
class UpcomingCharge:
    """The next renewal's charge: when, how much (tax split as payments splits it), the promotion discount it takes
    off the price, and the price change state."""

    subscription: Subscription
    charge_at: datetime
    amounts: ChargeAmounts
    state: PriceChangeState
    discount_minor: int = 0


async def upcoming_charge(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, subscription_id: str
) -> UpcomingCharge:
    """What the subscription's next renewal will charge; one that renews no more is `NoUpcomingCharge`."""
    sub = await load(uow, tenant_id, subscription_id, lock=False)
    price = (await catalog.renewal_prices([renewal_price_query(sub)]))[0]
    outlook = price_outlook(sub, _catalog_price(sub, price), uow.clock.now())
    if outlook.next_amount_minor is None or outlook.next_renewal_at is None:
        raise NoUpcomingCharge(f"subscription {sub.id} has no upcoming charge (state {sub.state})")
    if price is None or price.currency_code != sub.currency_code:
        price = await catalog.price(sub.plan_id, sub.storefront_id, sub.channel, outlook.next_renewal_at)
    discount = sub.renewal_discount_minor(outlook.next_amount_minor)
    amounts = charge_amounts(outlook.next_amount_minor - discount, price.added_tax_rate, price.included_tax_rate)
    return UpcomingCharge(sub, outlook.next_renewal_at, amounts, outlook.state, discount)


async def decline_price_change(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    """The subscriber refuses the increase awaiting consent."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.decline_price_change(uow.clock.now())
    await save(uow, sub)
    return sub


@dataclass(frozen=True, slots=True)
class DryRun:
    """Who a proposed price reaches: a page of them by first renewal, and the counts and revenue of all."""

    page: Page[AffectedSubscription]
    affected_count: int
    unaffected_count: int
    notice_days: int
    consent_required: bool
    revenue_before_minor: int
    revenue_after_minor: int
    currency_code: str


async def dry_run(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, proposed: ProposedPrice, page: PageRequest
) -> DryRun:
    """The live subscriptions of the plan in the storefront the proposed price would reprice (nothing changes).

    The storefront's notice period and currency come from the catalog's current price of the plan there.
    """
    if not proposed.storefront_id:
        raise InvalidArgument.field("storefront_id", "is required")
    if not proposed.plan_id:
        raise InvalidArgument.field("plan_id", "is required")
    if proposed.amount_minor < 0:
        raise InvalidArgument.field("amount_minor", "must not be negative")
    now = uow.clock.now()
    current = await catalog.price(proposed.plan_id, proposed.storefront_id, proposed.channel or Channel.WEB, now)
    subscribers = await _plan_subscribers(uow, tenant_id, proposed.plan_id)
    considered = [s for s in subscribers if s.storefront_id == proposed.storefront_id]
    reached = [affected(s, proposed, current.increase_notice_days, now) for s in considered if reaches(s, proposed)]
    revenue_after = sum(a.new_amount_minor for a in reached)
    if revenue_after > MAX_INT64:
        raise InvalidArgument.field("amount_minor", "too large: the reached subscriptions' revenue exceeds an int64")
    listed = page.page_in_memory(reached, lambda a: f"{a.first_renewal_at.isoformat()}|{a.subscription_id}")
    return DryRun(
        listed,
        len(reached),
        len(considered) - len(reached),
        current.increase_notice_days,
        current.increase_consent_required,
        sum(a.old_amount_minor for a in reached),
        revenue_after,
        current.currency_code,
    )


async def _plan_subscribers(uow: LifecycleUnitOfWork, tenant_id: str, plan_id: str) -> list[Subscription]:
    found: list[Subscription] = []
    query = SubscriptionQuery(plan_id=plan_id, not_states=(SubscriptionState.EXPIRED,))
    while True:
        after = [_created(found[-1]), found[-1].id] if found else None
        batch = await uow.subscriptions.find(tenant_id, SCAN_PAGE, query=query, after=after)
        found += batch
        if len(batch) < SCAN_PAGE:
            return found


def _created(sub: Subscription) -> str:
    assert sub.created_at is not None  # NOTE: a stored subscription always has its create time
    return sub.created_at.isoformat()


async def price_change_impact(
    uow: LifecycleUnitOfWork, tenant_id: str, storefront_id: str = "", plan_id: str = ""
) -> list[CohortImpact]:
    """Each price change's impact per cohort, from the subscribers' recorded changes."""
    return impact(await uow.subscriptions.price_changes(tenant_id, storefront_id, plan_id))
