"""What the App Store schedules or takes back, applied to a store-billed subscription: a downgrade at the next
renewal, a price increase told then accepted, a refund reversed (access back), a consumption request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azotte_lifecycle.domain.channel_events import (
    ChannelEvent,
    ChannelEventKind,
    ChannelEventOutcome,
    apply_channel_event,
    subscription_from_purchase,
)
from azotte_lifecycle.domain.events import EventType, PendingPriceChange, PriceChangeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import LifecyclePolicy
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_platform.enums import Channel, SubscriptionState

K, S = ChannelEventKind, SubscriptionState
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = BillingInterval(IntervalUnit.MONTH)
PREMIUM = PlanTerms("premium", 1999, "USD", MONTH)
BASIC = PlanTerms("basic", 999, "USD", MONTH)


def event(event_id: str, kind: ChannelEventKind, day: int, **fields: object) -> ChannelEvent:
    at = T0 + timedelta(days=day)
    if kind in (K.PURCHASED, K.RENEWED, K.RECOVERED):
        fields.setdefault("period_end", at + timedelta(days=30))
    return ChannelEvent(event_id, kind, at, **fields)  # type: ignore[arg-type]


def premium() -> Subscription:
    return subscription_from_purchase(
        event("buy", K.PURCHASED, 0),
        subscription_id="sub-1",
        tenant_id="tenant-1",
        customer_id="cus-1",
        plan=PREMIUM,
        storefront_id="us",
        channel=Channel.APP_STORE,
    )


def apply(sub: Subscription, *events: ChannelEvent) -> list[ChannelEventOutcome]:
    return [apply_channel_event(sub, e, LifecyclePolicy()) for e in events]


def pending_price(sub: Subscription) -> PendingPriceChange | None:
    """Read anew (after `apply`), never narrowed by an earlier assertion."""
    return sub.pending_price_change


def state_of(sub: Subscription) -> SubscriptionState:
    return sub.state


def published(sub: Subscription) -> list[EventType]:
    return [e.event_type for e in sub.pull_events()]


def test_a_downgrade_waits_for_the_next_renewal_the_store_reports() -> None:
    sub = premium()
    sub.pull_events()
    apply(sub, event("pref", K.PLAN_CHANGE_SCHEDULED, 10, plan=BASIC))
    assert (sub.plan_id, sub.state) == ("premium", S.ACTIVE)  # premium until the period ends
    assert sub.pending_plan_change is not None and sub.pending_plan_change.effective_at == sub.current_period_end
    assert published(sub) == [EventType.SUBSCRIPTION_PLAN_CHANGE_SCHEDULED]

    apply(sub, event("renew", K.RENEWED, 30))
    assert (sub.plan_id, sub.renewal_amount_minor, sub.current_period_amount_minor) == ("basic", 999, 999)
    assert sub.pending_plan_change is None
    assert published(sub) == [EventType.SUBSCRIPTION_PLAN_CHANGED, EventType.SUBSCRIPTION_RENEWED]


def test_choosing_the_current_plan_again_drops_the_pending_downgrade() -> None:
    sub = premium()
    apply(sub, event("down", K.PLAN_CHANGE_SCHEDULED, 10, plan=BASIC))
    apply(sub, event("undo", K.PLAN_CHANGE_SCHEDULED, 12, plan=PREMIUM))
    apply(sub, event("renew", K.RENEWED, 30))
    assert (sub.plan_id, sub.renewal_amount_minor, sub.pending_plan_change) == ("premium", 1999, None)


def test_a_price_increase_is_told_then_accepted_and_renews_at_the_new_price() -> None:
    sub = premium()
    sub.pull_events()
    apply(sub, event("told", K.PRICE_INCREASE_NOTIFIED, 5, price_minor=2499))
    change = sub.pending_price_change
    assert change is not None and change.awaiting_consent
    assert (change.old_amount_minor, change.amount_minor) == (1999, 2499)
    apply(sub, event("yes", K.PRICE_INCREASE_ACCEPTED, 6, price_minor=2499))
    assert sub.pending_price_change is not None and sub.pending_price_change.consented_at is not None
    told, accepted = sub.pull_events()
    assert (told.event_type, accepted.event_type) == (
        EventType.SUBSCRIPTION_PRICE_CHANGE_SCHEDULED,
        EventType.SUBSCRIPTION_PRICE_CHANGE_CONSENTED,
    )
    assert accepted.price_change is not None and accepted.price_change.amount_minor == 2499

    apply(sub, event("renew", K.RENEWED, 30))
    assert (sub.renewal_amount_minor, sub.current_period_amount_minor) == (2499, 2499)
    assert pending_price(sub) is None
    outcomes = [record.outcome for record in sub.price_records]
    assert outcomes == [PriceChangeOutcome.NOTIFIED, PriceChangeOutcome.CONSENTED, PriceChangeOutcome.RENEWED]


def test_an_increase_accepted_without_a_notice_first_still_applies_at_renewal() -> None:
    sub = premium()
    apply(sub, event("yes", K.PRICE_INCREASE_ACCEPTED, 6, price_minor=2499), event("renew", K.RENEWED, 30))
    assert sub.renewal_amount_minor == 2499


def test_a_reversed_refund_gives_access_back_until_the_period_ends() -> None:
    sub = premium()
    apply(sub, event("refund", K.REFUNDED, 3))
    assert sub.state is S.EXPIRED and not sub.entitled
    sub.pull_events()

    assert apply(sub, event("reversed", K.REFUND_REVERSED, 4)) == [ChannelEventOutcome.APPLIED]
    assert state_of(sub) is S.ACTIVE and sub.entitled
    assert published(sub) == [EventType.SUBSCRIPTION_REINSTATED]


def test_a_refund_reversed_after_the_period_ended_changes_nothing() -> None:
    sub = premium()
    apply(sub, event("refund", K.REFUNDED, 3))
    assert apply(sub, event("reversed", K.REFUND_REVERSED, 45)) == [ChannelEventOutcome.IGNORED]
    assert sub.state is S.EXPIRED


def test_a_consumption_request_is_announced_without_changing_the_subscription() -> None:
    sub = premium()
    apply(sub, event("refund", K.REFUNDED, 3))
    sub.pull_events()
    before = sub.snapshot()
    assert apply(sub, event("consumption", K.CONSUMPTION_REQUESTED, 4)) == [ChannelEventOutcome.APPLIED]
    [requested] = sub.pull_events()
    assert requested.event_type is EventType.SUBSCRIPTION_CONSUMPTION_REQUESTED
    assert (requested.cause_ref, sub.snapshot()) == ("consumption", before)
