"""Fixtures of the lifecycle unit tests: a default policy, a subscription in any state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lifecycle_builders import T0, SubscriptionFactory, new_subscription

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.states import SubscriptionState
from azotte_lifecycle.domain.subscription import Subscription


@pytest.fixture
def policy() -> LifecyclePolicy:
    """Grace 3 days, retries on days 1, 3, 5, 7, hold 30 days, pauses up to 90 days."""
    return LifecyclePolicy(
        grace_period=timedelta(days=3),
        retry_schedule_days=(1, 3, 5, 7),
        hold_period=timedelta(days=30),
        max_pause=timedelta(days=90),
    )


@pytest.fixture
def subscription_in(policy: LifecyclePolicy) -> SubscriptionFactory:
    """Build a subscription in a named state by driving real commands."""

    def build(state: str) -> Subscription:
        sub = new_subscription(trial=state == "trialing")
        if state in ("past_due", "on_hold"):
            renewal_at = sub.current_period_end
            sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SOFT_DECLINE, renewal_at, policy)
            while state == "on_hold" and sub.state is SubscriptionState.PAST_DUE:
                work = sub.next_due_work()
                assert work is not None
                if work.kind.charges:
                    sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SOFT_DECLINE, work.due_at, policy)
                else:
                    sub.apply_due_work(work, work.due_at, policy)
        elif state == "active_cancel_pending":
            sub.cancel(T0, policy, mode=CancelMode.AT_PERIOD_END)
        elif state == "paused":
            sub.pause(T0, policy, periods=1)
        elif state == "expired":
            sub.cancel(T0, policy, mode=CancelMode.IMMEDIATE)
        sub.pull_events()
        return sub

    return build
