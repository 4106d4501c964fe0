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

Duplicates (an event id already applied) are no-ops. An event older than the last applied event
of the subscription is recorded as seen and changes nothing, whatever its kind: the newer event
already carries the store's later truth, so state never regresses. Events for an expired
subscription are ignored (a new purchase after expiry creates a new subscription).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_lifecycle.domain.events import Cause, EventType
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
        if self.kind is ChannelEventKind.PLAN_CHANGED and self.plan is None:
            raise InvalidArgument.field("plan", "plan_changed needs the new plan")


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
        case _:
            # auto_renew_off/on that matches the current flag: nothing changes.
            pass


def _activate(sub: Subscription, event: ChannelEvent) -> None:
    previous = sub.state
    new_period = event.period_end is not None and event.period_end > sub.current_period_end
    if previous is S.ACTIVE and not new_period:
        return
    if previous is S.PAUSED:
        sub.paused_at = sub.resume_at = None
    if new_period:
        assert event.period_end is not None
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


def _move(sub: Subscription, target: SubscriptionState, event_type: EventType, event: ChannelEvent) -> None:
    previous = sub.state
    if previous is target:
        return
    if previous is S.PAUSED:
        sub.paused_at = sub.resume_at = None
    sub.state = target
    sub.record_transition(event_type, previous, Cause.CHANNEL_EVENT, event.occurred_at, cause_ref=event.event_id)
