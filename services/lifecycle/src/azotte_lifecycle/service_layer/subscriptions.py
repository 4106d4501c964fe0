"""Use cases on subscriptions: create, read and list, reactivate, pause, resume.

Cancelling (and refunding) is in `cancellation`, changing plan (and paying for it) in `plan_changes`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.events import HistoryEntry
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import LIVE_STATES, Subscription
from azotte_lifecycle.errors import AlreadySubscribed, SubscriptionExists, SubscriptionNotFound
from azotte_lifecycle.ports import Catalog, HistoryQuery, LifecycleUnitOfWork, SubscriptionQuery
from azotte_lifecycle.service_layer.customers import require_customer
from azotte_lifecycle.service_layer.pricing import PlanQuote, quote
from azotte_lifecycle.service_layer.queries import keyset_after, sequence_after
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.paging import Page, PageRequest
from azotte_platform.validation import require_fields


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What CreateSubscription asks for."""

    customer_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    billing_origin: BillingOrigin
    trial_end: datetime | None = None
    period_end: datetime | None = None
    initial_charge_id: str = ""
    # NOTE: empty allocates one; a caller names it to refer to the subscription before it exists.
    subscription_id: str = ""
    discount: RecurringDiscount | None = None


SUBSCRIPTION_ID = re.compile(r"sub_[0-9a-f]{32}")


def new_subscription_id() -> str:
    """A fresh subscription id (`sub_` and 32 lowercase hex digits)."""
    return f"sub_{uuid.uuid4().hex}"


async def create_subscription(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    new: NewSubscription,
    *,
    validate_only: bool = False,
) -> Subscription:
    """Create a subscription priced by the catalog, trialing when asked or when the plan has a trial.

    A customer holds at most one live subscription per plan and per plan family (add-ons excepted):
    another is `AlreadySubscribed`. The customer's row is locked first, so that of two concurrent
    creates the second sees the first. `validate_only` checks all of it and writes nothing.
    """
    require_fields(customer_id=new.customer_id, plan_id=new.plan_id, storefront_id=new.storefront_id)
    if new.period_end is not None and new.billing_origin is not BillingOrigin.STORE_BILLED:
        raise InvalidArgument.field("period_end_time", "only store-billed subscriptions take the store's period end")
    if new.subscription_id and not SUBSCRIPTION_ID.fullmatch(new.subscription_id):
        raise InvalidArgument.field("subscription_id", "must be 'sub_' followed by 32 lowercase hex digits")
    await require_customer(uow, tenant_id, new.customer_id)
    if new.subscription_id and await uow.subscriptions.get(tenant_id, new.subscription_id) is not None:
        # NOTE: the id is named so that a caller retrying its own create (a checkout after a crash) knows it.
        raise SubscriptionExists(
            f"subscription {new.subscription_id} already exists", metadata={"subscription_id": new.subscription_id}
        )
    now = uow.clock.now()
    priced = await quote(catalog, new.plan_id, new.storefront_id, new.channel, now)
    if not validate_only:
        # NOTE: locked after pricing, so the lock is not held while the catalog answers.
        await require_customer(uow, tenant_id, new.customer_id, lock=True)
    await refuse_second_subscription(uow, catalog, tenant_id, new.customer_id, priced)
    trial_end = new.trial_end
    if trial_end is None and new.period_end is None and not new.initial_charge_id and priced.trial_days > 0:
        # NOTE: without an explicit trial end, the plan's trial length from the catalog applies, unless a
        # charge already paid the first period (a checkout that bought the plan without its trial).
        trial_end = now + timedelta(days=priced.trial_days)
    sub = Subscription.create(
        subscription_id=new.subscription_id or new_subscription_id(),
        tenant_id=tenant_id,
        customer_id=new.customer_id,
        plan=priced.terms,
        storefront_id=new.storefront_id,
        channel=new.channel,
        billing_origin=new.billing_origin,
        now=now,
        trial_end=trial_end,
        period_end=new.period_end,
        initial_charge_id=new.initial_charge_id,
        discount=new.discount,
    )
    if new.billing_origin is BillingOrigin.AZOTTE_BILLED:
        sub.price_notice_days = priced.increase_notice_days
    if not validate_only:
        await add(uow, sub)
    return sub


async def refuse_second_subscription(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, customer_id: str, plan: PlanQuote
) -> None:
    """`AlreadySubscribed` when the customer has a live subscription to the plan or another base plan of its family.

    The catalog has no "may be held several times" flag: add-on plans may be, base plans of one family
    (product line) may not. Expired (and cancelled) subscriptions do not count.
    """
    if plan.add_on:
        return
    plan_id = plan.terms.plan_id
    live = [sub for sub in await uow.subscriptions.of_customer(tenant_id, customer_id) if sub.state in LIVE_STATES]
    for sub in live:
        if sub.plan_id == plan_id:
            raise AlreadySubscribed(
                f"customer {customer_id} is already subscribed to plan {plan_id!r}",
                metadata={"subscription_id": sub.id, "plan_id": sub.plan_id},
            )
    if not plan.family:
        return
    for other_id in sorted({sub.plan_id for sub in live}):
        try:
            other = await catalog.plan(other_id)
        except NotFound:
            continue
        if other.family == plan.family and not other.add_on:
            held = next(sub for sub in live if sub.plan_id == other_id)
            raise AlreadySubscribed(
                f"customer {customer_id} is already subscribed to plan {other_id!r} of family {plan.family!r};"
                " change that subscription's plan instead",
                metadata={"subscription_id": held.id, "plan_id": other_id},
            )


async def add(uow: LifecycleUnitOfWork, sub: Subscription) -> None:
    """Insert a new subscription and emit the events it recorded."""
    await uow.subscriptions.add(sub, uow.clock.now())
    uow.emit(sub.tenant_id, *sub.pull_events())


async def save(uow: LifecycleUnitOfWork, *subs: Subscription) -> None:
    """Write back changed subscriptions and emit the events they recorded."""
    await uow.subscriptions.save_many(subs, uow.clock.now())
    for sub in subs:
        uow.emit(sub.tenant_id, *sub.pull_events())


async def load(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str, *, lock: bool = True) -> Subscription:
    """The subscription, locked for the rest of the unit of work unless `lock` is False."""
    if not subscription_id:
        raise InvalidArgument.field("subscription_id", "is required")
    sub = await uow.subscriptions.get(tenant_id, subscription_id, for_update=lock)
    if sub is None:
        raise SubscriptionNotFound(f"subscription {subscription_id} not found")
    return sub


async def list_subscriptions(
    uow: LifecycleUnitOfWork, tenant_id: str, page: PageRequest, query: SubscriptionQuery
) -> Page[Subscription]:
    """One page of the tenant's subscriptions that match `query`, in its order."""
    rows = await uow.subscriptions.find(tenant_id, page.limit, query=query, after=keyset_after(page, timed=True))
    return page.page(rows, lambda sub: [_sort_time(sub, query.order_by), sub.id])


def _sort_time(sub: Subscription, order_by: str) -> str:
    at = sub.current_period_end if order_by == "current_period_end" else sub.created_at
    # NOTE: a stored subscription always has its create time.
    assert at is not None
    return at.isoformat()


async def list_history(
    uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str, page: PageRequest, query: HistoryQuery
) -> Page[HistoryEntry]:
    """One page of a subscription's audit history (`HistoryEntry` items) that matches `query`, oldest first
    unless `descending`."""
    await load(uow, tenant_id, subscription_id, lock=False)
    rows = await uow.subscriptions.history(tenant_id, subscription_id, page.limit, sequence_after(page), query)
    listed = page.page(rows, lambda row: [row[0]])
    return Page([entry for _, entry in listed.items], listed.next_page_token)


async def reactivate(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    """Undo a scheduled cancellation."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.reactivate(uow.clock.now())
    await save(uow, sub)
    return sub


async def extend_trial(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str, days: int) -> Subscription:
    """Move a trialing subscription's trial end `days` later."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.extend_trial(days, uow.clock.now())
    await save(uow, sub)
    return sub


async def consent_to_price_change(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    """The subscriber accepts the announced price increase."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.consent_to_price_change(uow.clock.now())
    await save(uow, sub)
    return sub


async def pause(
    uow: LifecycleUnitOfWork,
    tenant_id: str,
    subscription_id: str,
    *,
    until: datetime | None,
    periods: int | None,
) -> Subscription:
    """Pause access and billing until a time or for some periods, within the policy's maximum."""
    sub = await load(uow, tenant_id, subscription_id)
    policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
    sub.pause(uow.clock.now(), policy, until=until, periods=periods)
    await save(uow, sub)
    return sub


async def resume(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    """Resume a paused subscription now."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.resume(uow.clock.now())
    await save(uow, sub)
    return sub
