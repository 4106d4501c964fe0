"""Use cases on subscriptions: create, read and list, reactivate, pause, resume.

Cancelling (and refunding) is in `cancellation`, changing plan (and paying for it) in `plan_changes`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte_lifecycle.domain.events import HistoryEntry
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import SubscriptionNotFound
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork
from azotte_lifecycle.service_layer.customers import get_customer
from azotte_lifecycle.service_layer.pricing import quote
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.errors import InvalidArgument
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


async def create_subscription(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, new: NewSubscription
) -> Subscription:
    """Create a subscription priced by the catalog, trialing when asked or when the plan has a trial."""
    require_fields(customer_id=new.customer_id, plan_id=new.plan_id, storefront_id=new.storefront_id)
    if new.period_end is not None and new.billing_origin is not BillingOrigin.STORE_BILLED:
        raise InvalidArgument.field("period_end_time", "only store-billed subscriptions take the store's period end")
    await get_customer(uow, tenant_id, new.customer_id)
    now = uow.clock.now()
    priced = await quote(catalog, new.plan_id, new.storefront_id, new.channel, now)
    trial_end = new.trial_end
    if trial_end is None and new.period_end is None and priced.trial_days > 0:
        # NOTE: without an explicit trial end, the plan's trial length from the catalog applies.
        trial_end = now + timedelta(days=priced.trial_days)
    sub = Subscription.create(
        subscription_id=f"sub_{uuid.uuid4().hex}",
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
    )
    await add(uow, sub)
    return sub


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
    uow: LifecycleUnitOfWork,
    tenant_id: str,
    page: PageRequest,
    *,
    customer_id: str = "",
    state: SubscriptionState | None = None,
) -> Page[Subscription]:
    """One page of the tenant's subscriptions by id, optionally of one customer or in one state."""
    rows = await uow.subscriptions.find(
        tenant_id, page.limit, after_id=page.after_key(), customer_id=customer_id, state=state
    )
    return page.page(rows, lambda sub: [sub.id])


async def list_history(
    uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str, page: PageRequest
) -> Page[HistoryEntry]:
    """One page of a subscription's audit history (`HistoryEntry` items), oldest first."""
    await load(uow, tenant_id, subscription_id, lock=False)
    after = page.after_key()
    after_seq = None if after is None else int(after)
    rows = await uow.subscriptions.history(tenant_id, subscription_id, page.limit, after_seq)
    listed = page.page(rows, lambda row: [row[0]])
    return Page([entry for _, entry in listed.items], listed.next_page_token)


async def reactivate(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    """Undo a scheduled cancellation."""
    sub = await load(uow, tenant_id, subscription_id)
    sub.reactivate(uow.clock.now())
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
