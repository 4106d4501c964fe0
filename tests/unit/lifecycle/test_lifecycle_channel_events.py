"""Store-billed subscriptions driven by normalized channel events: idempotent, never regressing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_lifecycle.domain.channel_events import (
    NEEDS_PLAN,
    PRICE_INCREASES,
    ChannelEvent,
    ChannelEventKind,
    ChannelEventOutcome,
    apply_channel_event,
    subscription_from_purchase,
)
from azotte_lifecycle.domain.events import EventType
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import LifecyclePolicy
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import FailedPrecondition, InvalidArgument

K = ChannelEventKind
T0 = datetime(2025, 4, 1, tzinfo=UTC)
PLAN = PlanTerms("basic", 999, "USD", BillingInterval(IntervalUnit.MONTH))
POLICY = LifecyclePolicy()


def _event(event_id: str, kind: ChannelEventKind, day: float, **fields: object) -> ChannelEvent:
    at = T0 + timedelta(days=day)
    needs_period = kind in (K.PURCHASED, K.RENEWED, K.RECOVERED)
    defaults: dict[str, object] = {
        "period_end": at + timedelta(days=30) if needs_period else None,
        "resume_at": at + timedelta(days=30) if kind is K.PAUSED else None,
        "plan": PlanTerms("premium", 1999, "USD", PLAN.interval) if kind in NEEDS_PLAN else None,
        "price_minor": 1299 if kind in PRICE_INCREASES else None,
    }
    return ChannelEvent(event_id, kind, at, **{**defaults, **fields})  # type: ignore[arg-type]


def _purchased() -> Subscription:
    return subscription_from_purchase(
        _event("e0", K.PURCHASED, 0),
        subscription_id="sub-1",
        tenant_id="tenant-1",
        customer_id="cus-1",
        plan=PLAN,
        storefront_id="us",
        channel=Channel.APP_STORE,
    )


def test_a_store_lifecycle_drives_the_same_state_machine() -> None:
    sub = _purchased()
    steps = [
        (_event("e1", K.RENEWED, 30), S.ACTIVE, EventType.SUBSCRIPTION_RENEWED),
        (_event("e2", K.RENEWAL_FAILED_IN_GRACE, 60), S.PAST_DUE, EventType.SUBSCRIPTION_RENEWAL_FAILED),
        (_event("e3", K.ON_HOLD, 76), S.ON_HOLD, EventType.SUBSCRIPTION_ON_HOLD),
        (_event("e4", K.RECOVERED, 80), S.ACTIVE, EventType.SUBSCRIPTION_RECOVERED),
        (_event("e5", K.AUTO_RENEW_OFF, 81), S.ACTIVE, EventType.SUBSCRIPTION_CANCEL_SCHEDULED),
        (_event("e6", K.AUTO_RENEW_ON, 82), S.ACTIVE, EventType.SUBSCRIPTION_REACTIVATED),
        (_event("e7", K.PAUSED, 83), S.PAUSED, EventType.SUBSCRIPTION_PAUSED),
        (_event("e8", K.RESUMED, 90), S.ACTIVE, EventType.SUBSCRIPTION_RESUMED),
        (_event("e9", K.PLAN_CHANGED, 91), S.ACTIVE, EventType.SUBSCRIPTION_PLAN_CHANGED),
        (_event("e10", K.REFUNDED, 92), S.EXPIRED, EventType.SUBSCRIPTION_EXPIRED),
    ]
    for event, state, event_type in steps:
        assert apply_channel_event(sub, event, POLICY) is ChannelEventOutcome.APPLIED
        assert (sub.state, sub.history[-1].event_type, sub.history[-1].cause_ref) == (state, event_type, event.event_id)
    assert sub.next_due_work() is None  # the store drives renewals, never Azotte


def test_grace_end_comes_from_the_store_or_the_policy() -> None:
    sub = _purchased()
    apply_channel_event(sub, _event("e1", K.RENEWAL_FAILED_IN_GRACE, 30), POLICY)
    assert sub.grace_end == T0 + timedelta(days=30) + POLICY.grace_period
    store_grace = T0 + timedelta(days=46)
    apply_channel_event(sub, _event("e2", K.RENEWAL_FAILED_IN_GRACE, 31, grace_end=store_grace), POLICY)
    assert sub.grace_end == store_grace


def test_duplicates_are_no_ops() -> None:
    sub = _purchased()
    renewed = _event("e1", K.RENEWED, 30)
    apply_channel_event(sub, renewed, POLICY)
    before = (sub.snapshot(), len(sub.history))
    assert apply_channel_event(sub, renewed, POLICY) is ChannelEventOutcome.DUPLICATE
    assert apply_channel_event(sub, _event("e0", K.EXPIRED, 40), POLICY) is ChannelEventOutcome.DUPLICATE
    assert (sub.snapshot(), len(sub.history)) == before


def test_an_older_event_never_regresses_state() -> None:
    sub = _purchased()
    apply_channel_event(sub, _event("e2", K.RENEWED, 30), POLICY)
    before = (sub.snapshot(), len(sub.history))
    late = _event("e1", K.RENEWAL_FAILED_IN_GRACE, 29)
    assert apply_channel_event(sub, late, POLICY) is ChannelEventOutcome.STALE
    assert (sub.snapshot(), len(sub.history)) == before
    assert apply_channel_event(sub, late, POLICY) is ChannelEventOutcome.DUPLICATE


def test_expired_ignores_later_events() -> None:
    sub = _purchased()
    apply_channel_event(sub, _event("e1", K.EXPIRED, 30), POLICY)
    assert apply_channel_event(sub, _event("e2", K.RENEWED, 31), POLICY) is ChannelEventOutcome.IGNORED
    assert sub.state is S.EXPIRED


def test_purchase_into_a_trial_converts_on_renewal() -> None:
    sub = subscription_from_purchase(
        _event("e0", K.PURCHASED, 0, period_end=T0 + timedelta(days=7), in_trial=True),
        subscription_id="sub-1",
        tenant_id="tenant-1",
        customer_id="cus-1",
        plan=PLAN,
        storefront_id="us",
        channel=Channel.GOOGLE_PLAY,
    )
    assert sub.state is S.TRIALING
    apply_channel_event(sub, _event("e1", K.RENEWED, 7), POLICY)
    assert (sub.state, sub.history[-1].event_type) == (S.ACTIVE, EventType.TRIAL_CONVERTED)


def test_invalid_events_and_azotte_billed_subscriptions_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        ChannelEvent("e1", K.PAUSED, T0)
    with pytest.raises(InvalidArgument):
        ChannelEvent("e1", K.RENEWED, T0)
    web = Subscription.create(
        subscription_id="sub-2",
        tenant_id="tenant-1",
        customer_id="cus-1",
        plan=PLAN,
        storefront_id="us",
        channel=Channel.WEB,
        billing_origin=BillingOrigin.AZOTTE_BILLED,
        now=T0,
    )
    with pytest.raises(FailedPrecondition) as refused:
        apply_channel_event(web, _event("e1", K.RENEWED, 30), POLICY)
    assert refused.value.reason == "NOT_STORE_BILLED"


EVENTS = st.lists(
    st.tuples(st.sampled_from(list(ChannelEventKind)), st.integers(min_value=1, max_value=120)),
    min_size=1,
    max_size=12,
)


@given(EVENTS, st.randoms(use_true_random=False))
def test_any_delivery_order_with_redeliveries_keeps_invariants(
    events: list[tuple[ChannelEventKind, int]], rng: random.Random
) -> None:
    sub = _purchased()
    notifications = [_event(f"n{i}", kind, day) for i, (kind, day) in enumerate(events)]
    deliveries = notifications + notifications[: len(notifications) // 2]
    rng.shuffle(deliveries)
    newest_applied: datetime | None = None
    for event in deliveries:
        before = (sub.snapshot(), len(sub.history))
        outcome = apply_channel_event(sub, event, POLICY)
        if outcome is not ChannelEventOutcome.APPLIED:
            assert (sub.snapshot(), len(sub.history)) == before
        if newest_applied is not None and event.occurred_at < newest_applied:
            assert outcome is not ChannelEventOutcome.APPLIED
        if outcome is ChannelEventOutcome.APPLIED:
            newest_applied = event.occurred_at
        assert sub.state is not S.PAST_DUE or sub.grace_end is not None
        assert sub.state is not S.ON_HOLD or sub.hold_end is not None
        assert sub.state is not S.PAUSED or sub.resume_at is not None
        if before[0].state is S.EXPIRED and event.kind is not K.REFUND_REVERSED:
            assert sub.state is S.EXPIRED
