"""Proration of plan changes and refunds: exact to the second, integer minor units, half up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from azotte_lifecycle.domain.events import EventType
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.proration import prorate_change, unused_share
from azotte_lifecycle.domain.subscription import ChangeDirection, ChangeTiming, PlanTerms, Subscription
from azotte_platform.enums import SubscriptionState

APRIL = (datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))  # 30 days
HALFWAY = datetime(2025, 4, 16, tzinfo=UTC)
NewSubscription = Callable[..., Subscription]


def test_ten_to_twenty_dollars_exactly_halfway_nets_five_dollars() -> None:
    proration = prorate_change(1000, 2000, *APRIL, HALFWAY)
    assert (proration.credit_minor, proration.charge_minor, proration.net_minor) == (500, 1000, 500)


def test_annual_upgrade_one_fifth_through_the_year() -> None:
    year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    proration = prorate_change(12000, 24000, *year, year[0] + timedelta(days=73))
    assert (proration.credit_minor, proration.charge_minor, proration.net_minor) == (9600, 19200, 9600)


def test_half_a_minor_unit_rounds_up_and_just_under_rounds_down() -> None:
    start, end = APRIL  # 2,592,000 s; $10 over it is 1/2592 of a cent per second
    assert unused_share(1000, start, end, end - timedelta(seconds=1296)) == 1  # exactly 0.5
    assert unused_share(1000, start, end, end - timedelta(seconds=1295)) == 0  # 0.4996...


def test_sub_second_parts_are_ignored() -> None:
    start, end = APRIL
    assert unused_share(1000, start, end, HALFWAY + timedelta(microseconds=999_999)) == 500


def test_downgrade_proration_credits_the_customer() -> None:
    assert prorate_change(2000, 1000, *APRIL, HALFWAY).net_minor == -500


@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=30 * 86400),
)
def test_lines_stay_within_their_amounts_and_net_is_charge_minus_credit(old: int, new: int, used: int) -> None:
    proration = prorate_change(old, new, *APRIL, APRIL[0] + timedelta(seconds=used))
    assert 0 <= proration.credit_minor <= old
    assert 0 <= proration.charge_minor <= new
    assert proration.net_minor == proration.charge_minor - proration.credit_minor


def test_upgrade_applies_now_with_proration(new_subscription: NewSubscription) -> None:
    sub = new_subscription()
    premium = PlanTerms("premium", 2000, "USD", BillingInterval(IntervalUnit.MONTH), rank=2)
    change = sub.change_plan(premium, HALFWAY, current_rank=1)
    assert change.direction is ChangeDirection.UPGRADE and change.timing is ChangeTiming.IMMEDIATE
    assert change.proration.net_minor == 500
    assert (sub.plan_id, sub.renewal_amount_minor) == ("premium", 2000)
    event = sub.pull_events()[-1]
    assert event.event_type is EventType.SUBSCRIPTION_PLAN_CHANGED
    assert (event.previous_plan_id, event.proration) == ("basic", change.proration)


def test_preview_does_not_mutate(new_subscription: NewSubscription) -> None:
    sub = new_subscription()
    before = (sub.snapshot(), len(sub.history), len(sub.events))
    premium = PlanTerms("premium", 2000, "USD", BillingInterval(IntervalUnit.MONTH), rank=2)
    assert sub.preview_plan_change(premium, HALFWAY, current_rank=1).proration.net_minor == 500
    assert (sub.snapshot(), len(sub.history), len(sub.events)) == before


def test_downgrade_waits_for_period_end_then_renews_at_the_lower_price(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    lite = PlanTerms("lite", 500, "USD", BillingInterval(IntervalUnit.MONTH), rank=0)
    change = sub.change_plan(lite, HALFWAY, current_rank=1)
    assert change.timing is ChangeTiming.PERIOD_END and change.proration.net_minor == 0
    assert sub.plan_id == "basic"
    work = sub.next_due_work()
    assert work is not None and work.due_at == APRIL[1]
    sub.apply_due_work(work, APRIL[1], policy)
    assert (sub.plan_id, sub.renewal_charge().amount_minor) == ("lite", 500)


def test_interval_change_restarts_the_period_and_charges_a_full_new_period(
    new_subscription: NewSubscription,
) -> None:
    sub = new_subscription()
    annual = PlanTerms("annual", 10000, "USD", BillingInterval(IntervalUnit.YEAR), rank=2)
    change = sub.change_plan(annual, HALFWAY, current_rank=1)
    assert (change.proration.credit_minor, change.proration.charge_minor) == (500, 10000)
    assert (sub.current_period_start, sub.current_period_end) == (HALFWAY, datetime(2026, 4, 16, tzinfo=UTC))


def test_immediate_cancel_refunds_the_unused_seconds(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    assert sub.cancel(HALFWAY, policy, mode=CancelMode.IMMEDIATE, refund=True) == 500
    assert sub.state is SubscriptionState.EXPIRED
    assert sub.pull_events()[-1].refund_amount_minor == 500


def test_where_prices_exclude_tax_the_refund_carries_the_tax_paid_on_the_unused_seconds(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    refund = sub.cancel(HALFWAY, policy, mode=CancelMode.IMMEDIATE, refund=True, added_tax_rate=Decimal("0.2"))
    assert refund == 600
    assert sub.pull_events()[-1].refund_amount_minor == 600
