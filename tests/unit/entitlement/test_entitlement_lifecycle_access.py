"""Access follows the subscription's lifecycle state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import (
    PlanFeature,
    SubscriptionSnapshot,
    subscription_corrections,
)
from azotte_entitlement.domain.events import EntitlementGranted, EntitlementRevoked, events_for
from azotte_entitlement.domain.grants import FeatureKind
from azotte_entitlement.domain.projection import AccessProjection
from azotte_platform.enums import SubscriptionState

START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD_END = START + timedelta(days=30)
FEATURES = (
    PlanFeature("hd_streaming", FeatureKind.BOOLEAN),
    PlanFeature("ai_tokens", FeatureKind.QUOTA, 1000),
)


def snapshot(state: SubscriptionState, cancel_at_period_end: bool = False) -> SubscriptionSnapshot:
    return SubscriptionSnapshot("t1", "sub-1", "cust-1", state, cancel_at_period_end, START, PERIOD_END, FEATURES)


def apply_lifecycle(projection: AccessProjection, snap: SubscriptionSnapshot, revoked: bool = False) -> None:
    corrections = subscription_corrections(snap, None, projection.grants_of("t1", "cust-1"), revoked=revoked)
    projection.apply(corrections)


@pytest.mark.parametrize("state", [SubscriptionState.TRIALING, SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE])
def test_live_states_keep_access(state: SubscriptionState) -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(state))

    decision = projection.check("t1", "cust-1", "hd_streaming", START + timedelta(days=400))

    assert decision.allowed
    assert decision.valid_until is None
    assert [s.source_ref for s in decision.sources] == ["sub-1"]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (SubscriptionState.ON_HOLD, AccessReason.ON_HOLD),
        (SubscriptionState.PAUSED, AccessReason.PAUSED),
        (SubscriptionState.EXPIRED, AccessReason.EXPIRED),
    ],
)
def test_suspending_states_deny_with_their_reason(state: SubscriptionState, reason: AccessReason) -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))
    apply_lifecycle(projection, snapshot(state))

    for feature in ("hd_streaming", "ai_tokens"):
        decision = projection.check("t1", "cust-1", feature, START + timedelta(days=1))
        assert not decision.allowed
        assert decision.reason is reason


def test_resume_after_pause_restores_access() -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.PAUSED))
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))

    assert projection.check("t1", "cust-1", "hd_streaming", START + timedelta(days=1)).allowed


def test_cancel_at_period_end_keeps_access_until_period_end_then_expired() -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE, cancel_at_period_end=True))

    before = projection.check("t1", "cust-1", "hd_streaming", PERIOD_END - timedelta(seconds=1))
    after = projection.check("t1", "cust-1", "hd_streaming", PERIOD_END)

    assert before.allowed and before.valid_until == PERIOD_END
    assert not after.allowed and after.reason is AccessReason.EXPIRED


def test_reactivate_clears_the_end_of_access() -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE, cancel_at_period_end=True))
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))

    assert projection.check("t1", "cust-1", "hd_streaming", PERIOD_END + timedelta(days=1)).allowed


def test_refund_revokes_access_as_no_grant() -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE), revoked=True)

    decision = projection.check("t1", "cust-1", "hd_streaming", START + timedelta(days=1))
    assert not decision.allowed and decision.reason is AccessReason.NO_GRANT


def test_lifecycle_events_produce_granted_then_revoked_events() -> None:
    projection = AccessProjection()
    snap = snapshot(SubscriptionState.ACTIVE)
    granted = subscription_corrections(snap, None, [])
    projection.apply(granted)
    revoked = subscription_corrections(snapshot(SubscriptionState.ON_HOLD), None, projection.grants_of("t1", "cust-1"))

    events = events_for(granted, START) + events_for(revoked, START)

    assert [type(e) for e in events] == [EntitlementGranted] * 2 + [EntitlementRevoked] * 2
    assert all(e.why_not is AccessReason.ON_HOLD for e in events if isinstance(e, EntitlementRevoked))


def test_replaying_the_same_event_changes_nothing() -> None:
    projection = AccessProjection()
    apply_lifecycle(projection, snapshot(SubscriptionState.ACTIVE))

    again = subscription_corrections(snapshot(SubscriptionState.ACTIVE), None, projection.grants_of("t1", "cust-1"))

    assert again == []
