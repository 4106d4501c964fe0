"""Normalized store/carrier/partner events applied to store-billed subscriptions, without charging.

Per-kind behaviour, in order of arrival:
- purchased, renewed, recovered, resumed: active; the store's `period_end` starts a new period
  (`renewed` from active, `recovered` from past_due/on_hold, `trial.converted` from trialing,
  `resumed` from paused).
- renewal_failed_in_grace: past_due until the store's grace end (else the policy's grace).
- on_hold (grace expired): on_hold until the store's hold end (else the policy's hold).
- auto_renew_off / auto_renew_on: set / clear `cancel_at_period_end`.
- paused: paused until `resume_at` (required).
- expired, refunded, revoked: expired (access ends now).
- plan_changed: the store's new plan and price apply now.
- plan_change_scheduled: the store's plan (a downgrade) applies at the next renewal the store reports; the
  current plan again drops the pending change.
- price_increase_notified / price_increase_accepted: the store told the subscriber of a higher price (it waits
  for their consent) / they accepted it; the next renewal the store reports is at that price.
- refund_reversed: the store took back a refund: a subscription the refund ended lives again until its period end.
- consumption_requested: the store asks the tenant for the refund-requested purchase's consumption data; no state
  changes (`subscription.consumption_requested`, also for an ended subscription).

Duplicates (an event id already applied) are no-ops. An event older than the last applied event
of the subscription is recorded as seen and changes nothing, whatever its kind: the newer event
already carries the store's later truth, so state never regresses. Events for an expired
subscription are ignored (a new purchase after expiry creates a new subscription).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from azotte_lifecycle.domain.events import (
    Cause,
    EventType,
    PendingPlanChange,
    PendingPriceChange,
    PriceChangeOutcome,
    PriceChangeRecord,
)
from azotte_lifecycle.domain.periods import require_utc
from azotte_lifecycle.domain.policy import LifecyclePolicy
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.errors import NotStoreBilled
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.errors import InvalidArgument

S = SubscriptionState


class ChannelEventKind(StrEnum):
    """Kinds of normalized channel events."""

    PURCHASED = "purchased"
    RENEWED = "renewed"
    RENEWAL_FAILED_IN_GRACE = "renewal_failed_in_grace"
    ON_HOLD = "on_hold"
    RECOVERED = "recovered"
    AUTO_RENEW_OFF = "auto_renew_off"
    AUTO_RENEW_ON = "auto_renew_on"
    EXPIRED = "expired"
    PAUSED = "paused"
    RESUMED = "resumed"
    REFUNDED = "refunded"
    REVOKED = "revoked"
    PLAN_CHANGED = "plan_changed"
    PLAN_CHANGE_SCHEDULED = "plan_change_scheduled"
    PRICE_INCREASE_NOTIFIED = "price_increase_notified"
    PRICE_INCREASE_ACCEPTED = "price_increase_accepted"
    REFUND_REVERSED = "refund_reversed"
    CONSUMPTION_REQUESTED = "consumption_requested"


NEEDS_PLAN = frozenset({ChannelEventKind.PLAN_CHANGED, ChannelEventKind.PLAN_CHANGE_SCHEDULED})
PRICE_INCREASES = frozenset({ChannelEventKind.PRICE_INCREASE_NOTIFIED, ChannelEventKind.PRICE_INCREASE_ACCEPTED})


class ChannelEventOutcome(StrEnum):
    """What applying a channel event did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """A store notification normalized by its channel adapter."""

    event_id: str
    kind: ChannelEventKind
    occurred_at: datetime
    period_end: datetime | None = None
    grace_end: datetime | None = None
    hold_end: datetime | None = None
    resume_at: datetime | None = None
    plan: PlanTerms | None = None
    in_trial: bool = False
    price_minor: int | None = None
    """The store's new renewal price (price increases)."""

    def __post_init__(self) -> None:
        if not self.event_id:
            raise InvalidArgument.field("event_id", "is required")
        require_utc(self.occurred_at, "occurred_at")
        needs_period = (ChannelEventKind.PURCHASED, ChannelEventKind.RENEWED, ChannelEventKind.RECOVERED)
        if self.kind in needs_period and self.period_end is None:
            raise InvalidArgument.field("period_end", f"{self.kind} needs the end of the paid period")
        if self.period_end is not None and self.period_end <= self.occurred_at:
            raise InvalidArgument.field("period_end", "must be after the event time")
        if self.kind is ChannelEventKind.PAUSED and (self.resume_at is None or self.resume_at <= self.occurred_at):
            raise InvalidArgument.field("resume_at", "paused needs a resume time after the event time")
        if self.kind in NEEDS_PLAN and self.plan is None:
            raise InvalidArgument.field("plan", f"{self.kind} needs the new plan")
        if self.kind in PRICE_INCREASES and (self.price_minor is None or self.price_minor <= 0):
            raise InvalidArgument.field("price", f"{self.kind} needs the new price")


def subscription_from_purchase(
    event: ChannelEvent,
    *,
    subscription_id: str,
    tenant_id: str,
    customer_id: str,
    plan: PlanTerms,
    storefront_id: str,
    channel: Channel,
) -> Subscription:
    """Create the store-billed subscription a `purchased` event starts."""
    if event.kind is not ChannelEventKind.PURCHASED:
        raise InvalidArgument.field("kind", "only a purchased event creates a subscription")
    subscription = Subscription.create(
        subscription_id=subscription_id,
        tenant_id=tenant_id,
        customer_id=customer_id,
        plan=plan,
        storefront_id=storefront_id,
        channel=channel,
        billing_origin=BillingOrigin.STORE_BILLED,
        now=event.occurred_at,
        trial_end=event.period_end if event.in_trial else None,
        period_end=None if event.in_trial else event.period_end,
    )
    subscription.channel_event_ids.add(event.event_id)
    subscription.last_channel_event_at = event.occurred_at
    return subscription


def apply_channel_event(
    subscription: Subscription, event: ChannelEvent, policy: LifecyclePolicy
) -> ChannelEventOutcome:
    """Drive the subscription's state machine from a store event; never charges."""
    if subscription.billing_origin is not BillingOrigin.STORE_BILLED:
        raise NotStoreBilled(
            f"subscription {subscription.id} is billed by Azotte; channel events do not apply",
            metadata={"state": str(subscription.state)},
        )
    if event.event_id in subscription.channel_event_ids:
        return ChannelEventOutcome.DUPLICATE
    subscription.channel_event_ids.add(event.event_id)
    last = subscription.last_channel_event_at
    if last is not None and event.occurred_at < last:
        # NOTE: an older notification never regresses the state a newer one produced.
        return ChannelEventOutcome.STALE
    subscription.last_channel_event_at = event.occurred_at
    if event.kind is ChannelEventKind.CONSUMPTION_REQUESTED:
        # NOTE: Apple asks within 12 hours of a refund request, whatever became of the subscription since.
        subscription.record_transition(
            EventType.SUBSCRIPTION_CONSUMPTION_REQUESTED,
            subscription.state,
            Cause.CHANNEL_EVENT,
            event.occurred_at,
            cause_ref=event.event_id,
        )
        return ChannelEventOutcome.APPLIED
    if event.kind is ChannelEventKind.REFUND_REVERSED:
        return _reinstate(subscription, event)
    if subscription.state.terminal:
        return ChannelEventOutcome.IGNORED
    _apply_in_order(subscription, event, policy)
    return ChannelEventOutcome.APPLIED


def _apply_in_order(sub: Subscription, event: ChannelEvent, policy: LifecyclePolicy) -> None:
    at, previous = event.occurred_at, sub.state
    match event.kind:
        case (
            ChannelEventKind.PURCHASED
            | ChannelEventKind.RENEWED
            | ChannelEventKind.RECOVERED
            | ChannelEventKind.RESUMED
        ):
            _activate(sub, event)
        case ChannelEventKind.RENEWAL_FAILED_IN_GRACE:
            sub.first_failure_at = sub.first_failure_at or at
            sub.grace_end = event.grace_end or at + policy.grace_period
            _move(sub, S.PAST_DUE, EventType.SUBSCRIPTION_RENEWAL_FAILED, event)
        case ChannelEventKind.ON_HOLD:
            sub.first_failure_at = sub.first_failure_at or at
            sub.hold_end = event.hold_end or at + policy.hold_period
            _move(sub, S.ON_HOLD, EventType.SUBSCRIPTION_ON_HOLD, event)
        case ChannelEventKind.AUTO_RENEW_OFF if not sub.cancel_at_period_end:
            sub.cancel_at_period_end = True
            sub.record_transition(
                EventType.SUBSCRIPTION_CANCEL_SCHEDULED,
                previous,
                Cause.CHANNEL_EVENT,
                at,
                cause_ref=event.event_id,
            )
        case ChannelEventKind.AUTO_RENEW_ON if sub.cancel_at_period_end:
            sub.cancel_at_period_end = False
            sub.record_transition(
                EventType.SUBSCRIPTION_REACTIVATED,
                previous,
                Cause.CHANNEL_EVENT,
                at,
                cause_ref=event.event_id,
            )
        case ChannelEventKind.PAUSED:
            sub.paused_at, sub.resume_at = at, event.resume_at
            _move(sub, S.PAUSED, EventType.SUBSCRIPTION_PAUSED, event)
        case ChannelEventKind.EXPIRED | ChannelEventKind.REFUNDED | ChannelEventKind.REVOKED:
            sub.expire(at, Cause.CHANNEL_EVENT, cause_ref=event.event_id)
        case ChannelEventKind.PLAN_CHANGED:
            assert event.plan is not None
            previous_plan_id = sub.plan_id
            sub.plan_id, sub.renewal_amount_minor = event.plan.plan_id, event.plan.amount_minor
            sub.interval, sub.pending_plan_change = event.plan.interval, None
            sub.record_transition(
                EventType.SUBSCRIPTION_PLAN_CHANGED,
                previous,
                Cause.CHANNEL_EVENT,
                at,
                cause_ref=event.event_id,
                previous_plan_id=previous_plan_id,
            )
        case ChannelEventKind.PLAN_CHANGE_SCHEDULED:
            assert event.plan is not None
            _schedule_plan_change(sub, event.plan, event)
        case ChannelEventKind.PRICE_INCREASE_NOTIFIED | ChannelEventKind.PRICE_INCREASE_ACCEPTED:
            assert event.price_minor is not None
            _note_price_increase(sub, event.price_minor, event)
        case _:
            # auto_renew_off/on that matches the current flag: nothing changes.
            pass


def _schedule_plan_change(sub: Subscription, plan: PlanTerms, event: ChannelEvent) -> None:
    back = plan.plan_id == sub.plan_id
    if back and sub.pending_plan_change is None:
        return
    sub.pending_plan_change = (
        None if back else PendingPlanChange(plan.plan_id, plan.amount_minor, plan.interval, sub.current_period_end)
    )
    sub.record_transition(
        EventType.SUBSCRIPTION_PLAN_CHANGE_SCHEDULED,
        sub.state,
        Cause.CHANNEL_EVENT,
        event.occurred_at,
        cause_ref=event.event_id,
    )


def _note_price_increase(sub: Subscription, price_minor: int, event: ChannelEvent) -> None:
    at, accepted = event.occurred_at, event.kind is ChannelEventKind.PRICE_INCREASE_ACCEPTED
    change = sub.pending_price_change
    if change is None or change.amount_minor != price_minor:
        change = PendingPriceChange(sub.renewal_amount_minor, price_minor, sub.current_period_end, at, True)
    elif not accepted or change.consented_at is not None:
        return
    if accepted:
        change = replace(change, consented_at=at, declined_at=None)
    sub.pending_price_change = change
    outcome = PriceChangeOutcome.CONSENTED if accepted else PriceChangeOutcome.NOTIFIED
    sub.price_records.append(PriceChangeRecord(change, outcome, at))
    event_type = (
        EventType.SUBSCRIPTION_PRICE_CHANGE_CONSENTED if accepted else EventType.SUBSCRIPTION_PRICE_CHANGE_SCHEDULED
    )
    sub.record_transition(event_type, sub.state, Cause.CHANNEL_EVENT, at, cause_ref=event.event_id, price_change=change)


def _reinstate(sub: Subscription, event: ChannelEvent) -> ChannelEventOutcome:
    """A refund the store took back: the subscription it ended lives again until its paid period ends."""
    if sub.state is not S.EXPIRED or sub.current_period_end <= event.occurred_at:
        return ChannelEventOutcome.IGNORED
    previous, sub.state = sub.state, S.ACTIVE
    sub.clear_dunning()
    sub.record_transition(
        EventType.SUBSCRIPTION_REINSTATED, previous, Cause.CHANNEL_EVENT, event.occurred_at, cause_ref=event.event_id
    )
    return ChannelEventOutcome.APPLIED


def _activate(sub: Subscription, event: ChannelEvent) -> None:
    previous = sub.state
    new_period = event.period_end is not None and event.period_end > sub.current_period_end
    if previous is S.ACTIVE and not new_period:
        return
    if previous is S.PAUSED:
        sub.paused_at = sub.resume_at = None
    if new_period:
        assert event.period_end is not None
        _apply_store_changes(sub, event)
        sub.period_index += 1
        sub.current_period_start, sub.current_period_end = event.occurred_at, event.period_end
        sub.period_anchor, sub.anchor_period_index = event.period_end, sub.period_index + 1
        sub.current_period_amount_minor = sub.renewal_amount_minor
    sub.clear_dunning()
    sub.state = S.ACTIVE
    event_type = {
        S.TRIALING: EventType.TRIAL_CONVERTED,
        S.ACTIVE: EventType.SUBSCRIPTION_RENEWED,
        S.PAUSED: EventType.SUBSCRIPTION_RESUMED,
    }.get(previous, EventType.SUBSCRIPTION_RECOVERED)
    sub.record_transition(event_type, previous, Cause.CHANNEL_EVENT, event.occurred_at, cause_ref=event.event_id)


def _apply_store_changes(sub: Subscription, event: ChannelEvent) -> None:
    """What the store scheduled for this renewal: a downgrade, and a higher price the subscriber accepted."""
    at, change = event.occurred_at, sub.pending_plan_change
    if change is not None and sub.state is S.ACTIVE:
        previous_plan_id = sub.plan_id
        sub.plan_id, sub.renewal_amount_minor, sub.interval = change.plan_id, change.amount_minor, change.interval
        sub.pending_plan_change = sub.pending_price_change = None
        sub.record_transition(
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            sub.state,
            Cause.CHANNEL_EVENT,
            at,
            cause_ref=event.event_id,
            previous_plan_id=previous_plan_id,
        )
    price = sub.pending_price_change
    if price is not None and price.consented_at is not None:
        sub.renewal_amount_minor, sub.pending_price_change = price.amount_minor, None
        sub.price_records.append(PriceChangeRecord(price, PriceChangeOutcome.RENEWED, at))


def _move(sub: Subscription, target: SubscriptionState, event_type: EventType, event: ChannelEvent) -> None:
    previous = sub.state
    if previous is target:
        return
    if previous is S.PAUSED:
        sub.paused_at = sub.resume_at = None
    sub.state = target
    sub.record_transition(event_type, previous, Cause.CHANNEL_EVENT, event.occurred_at, cause_ref=event.event_id)
