"""Builders shared by the lifecycle unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import BillingOrigin, Channel
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription

T0 = datetime(2025, 4, 1, tzinfo=UTC)
MONTHLY = BillingInterval(IntervalUnit.MONTH)
BASIC = PlanTerms("basic", 1000, "USD", MONTHLY, rank=1)
PREMIUM = PlanTerms("premium", 2000, "USD", MONTHLY, rank=2)
LITE = PlanTerms("lite", 500, "USD", MONTHLY, rank=0)

SubscriptionFactory = Callable[[str], Subscription]


def new_subscription(trial: bool = False, origin: BillingOrigin = BillingOrigin.AZOTTE_BILLED) -> Subscription:
    """A fresh subscription to BASIC created at T0."""
    return Subscription.create(
        subscription_id="sub-1",
        tenant_id="tenant-1",
        customer_id="cus-1",
        plan=BASIC,
        storefront_id="us",
        channel=Channel.WEB,
        billing_origin=origin,
        now=T0,
        trial_end=T0 + timedelta(days=14) if trial else None,
    )
