"""Applying normalized store/carrier/partner events to store-billed subscriptions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from azotte_lifecycle.domain.channel_events import (
    NEEDS_PLAN,
    PRICE_INCREASES,
    ChannelEvent,
    ChannelEventKind,
    ChannelEventOutcome,
    apply_channel_event,
    subscription_from_purchase,
)
from azotte_lifecycle.domain.customer import ChannelIdentity
from azotte_lifecycle.domain.policy import DuplicateAcrossChannels
from azotte_lifecycle.domain.subscription import LIVE_STATES, PlanTerms, Subscription
from azotte_lifecycle.errors import EventInFlight, SubscriptionNotFound
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Price
from azotte_lifecycle.service_layer.customers import require_customer
from azotte_lifecycle.service_layer.pricing import quote
from azotte_lifecycle.service_layer.subscriptions import add, load, save
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, NotFound


@dataclass(frozen=True, slots=True)
class IncomingChannelEvent:
    """A channel event as received, with what locates (or, for a purchase, creates) its subscription."""

    event_id: str
    kind: ChannelEventKind
    occurred_at: datetime
    channel: Channel
    identity: ChannelIdentity
    period_end: datetime | None = None
    grace_end: datetime | None = None
    hold_end: datetime | None = None
    resume_at: datetime | None = None
    in_trial: bool = False
    plan_id: str = ""
    price: Price | None = None
    customer_id: str = ""
    storefront_id: str = ""

    def to_event(self, plan: PlanTerms | None = None) -> ChannelEvent:
        """The domain event, with the new plan's terms for purchases and plan changes."""
        return ChannelEvent(
            event_id=self.event_id,
            kind=self.kind,
            occurred_at=self.occurred_at,
            period_end=self.period_end,
            grace_end=self.grace_end,
            hold_end=self.hold_end,
            resume_at=self.resume_at,
            plan=plan,
            in_trial=self.in_trial,
            price_minor=self.price.amount_minor if self.kind in PRICE_INCREASES and self.price else None,
        )


async def apply(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, incoming: IncomingChannelEvent
) -> tuple[Subscription, ChannelEventOutcome]:
    """Apply the event once per event id; older events never regress the state."""
    if not incoming.event_id:
        raise InvalidArgument.field("event.event_id", "is required")
    seen = await uow.channel_events.subscription_of(tenant_id, incoming.event_id)
    if seen is not None:
        return await load(uow, tenant_id, seen, lock=False), ChannelEventOutcome.DUPLICATE
    subscription_id = await uow.subscriptions.find_by_identity(tenant_id, incoming.identity)
    existing = None if subscription_id is None else await load(uow, tenant_id, subscription_id)
    if incoming.kind is ChannelEventKind.PURCHASED and (existing is None or existing.state.terminal):
        # NOTE: a purchase after expiry starts a new subscription under the same store identity.
        sub = await _purchase(uow, catalog, tenant_id, incoming)
        outcome = ChannelEventOutcome.APPLIED
    elif existing is None:
        raise SubscriptionNotFound(f"no subscription has {incoming.identity.kind} {incoming.identity.value!r}")
    else:
        sub, plan = existing, None
        if incoming.kind in NEEDS_PLAN:
            plan = await _plan_terms(catalog, incoming, sub.storefront_id)
        policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
        outcome = apply_channel_event(sub, incoming.to_event(plan), policy)
        await save(uow, sub)
    if not await uow.channel_events.claim(tenant_id, incoming.event_id, sub.id, uow.clock.now()):
        raise EventInFlight(f"channel event {incoming.event_id} is being applied concurrently")
    return sub, outcome


async def _plan_terms(catalog: Catalog, incoming: IncomingChannelEvent, storefront_id: str) -> PlanTerms:
    """The store's plan: interval and rank from the catalog, price as the store reports it."""
    priced = await quote(catalog, incoming.plan_id, storefront_id, incoming.channel, incoming.occurred_at)
    if incoming.price is None:
        return priced.terms
    return replace(priced.terms, amount_minor=incoming.price.amount_minor, currency_code=incoming.price.currency_code)


async def _purchase(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, incoming: IncomingChannelEvent
) -> Subscription:
    for name in ("customer_id", "storefront_id", "plan_id"):
        if not getattr(incoming, name):
            raise InvalidArgument.field(f"event.{name}", "is required for a purchased event")
    await require_customer(uow, tenant_id, incoming.customer_id)
    terms = await _plan_terms(catalog, incoming, incoming.storefront_id)
    sub = subscription_from_purchase(
        incoming.to_event(terms),
        subscription_id=f"sub_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        customer_id=incoming.customer_id,
        plan=terms,
        storefront_id=incoming.storefront_id,
        channel=incoming.channel,
    )
    await _flag_duplicate(uow, catalog, sub, incoming.event_id)
    await add(uow, sub)
    await uow.subscriptions.link_identity(tenant_id, incoming.identity, sub.id)
    return sub


async def _flag_duplicate(uow: LifecycleUnitOfWork, catalog: Catalog, sub: Subscription, event_id: str) -> None:
    """Flag the purchase when the customer holds its product line live on another channel and the policy says so."""
    policy = (await uow.policies.get(sub.tenant_id)).for_plan(sub.plan_id)
    if policy.duplicate_across_channels is not DuplicateAcrossChannels.FLAG:
        return
    held = [
        other
        for other in await uow.subscriptions.of_customer(sub.tenant_id, sub.customer_id)
        if other.state in LIVE_STATES and other.channel is not sub.channel
    ]
    if not held:
        return
    family = await _family(catalog, sub.plan_id)
    for other in held:
        if other.plan_id == sub.plan_id or (family and await _family(catalog, other.plan_id) == family):
            sub.flag_duplicate_across_channels(other, uow.clock.now(), event_id)
            return


async def _family(catalog: Catalog, plan_id: str) -> str:
    """The plan's product line; "" for a plan the catalog no longer has."""
    try:
        return (await catalog.plan(plan_id)).family
    except NotFound:
        return ""
