"""Fixtures of the lifecycle unit tests: a clock origin, plans, a policy, subscriptions in any state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.states import BillingOrigin, Channel, SubscriptionState
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription

T0 = datetime(2025, 4, 1, tzinfo=UTC)
MONTHLY = BillingInterval(IntervalUnit.MONTH)


class Plans:
    """Three monthly USD plans ranked lite < basic < premium."""

    lite = PlanTerms("lite", 500, "USD", MONTHLY, rank=0)
    basic = PlanTerms("basic", 1000, "USD", MONTHLY, rank=1)
    premium = PlanTerms("premium", 2000, "USD", MONTHLY, rank=2)


NewSubscription = Callable[..., Subscription]
SubscriptionFactory = Callable[[str], Subscription]


@pytest.fixture
def t0() -> datetime:
    """Creation time of built subscriptions: 2025-04-01T00:00Z (a 30-day month)."""
    return T0


@pytest.fixture
def plans() -> Plans:
    """The test plans."""
    return Plans()


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
def new_subscription() -> NewSubscription:
    """Build a fresh subscription to basic created at T0 (keywords override the defaults)."""

    def build(
        *,
        trial: bool = False,
        origin: BillingOrigin = BillingOrigin.AZOTTE_BILLED,
        plan: PlanTerms = Plans.basic,
        now: datetime = T0,
    ) -> Subscription:
        return Subscription.create(
            subscription_id="sub-1",
            tenant_id="tenant-1",
            customer_id="cus-1",
            plan=plan,
            storefront_id="us",
            channel=Channel.WEB,
            billing_origin=origin,
            now=now,
            trial_end=now + timedelta(days=14) if trial else None,
        )

    return build


@pytest.fixture
def subscription_in(policy: LifecyclePolicy, new_subscription: NewSubscription) -> SubscriptionFactory:
    """Build a subscription in a named state by driving real commands."""

    def build(state: str) -> Subscription:
        sub = new_subscription(trial=state == "trialing")
        if state in ("past_due", "on_hold"):
            sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SOFT_DECLINE, sub.current_period_end, policy)
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
