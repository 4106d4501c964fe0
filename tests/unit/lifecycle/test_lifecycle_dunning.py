"""Renewal, trial end and dunning as pure decisions: due work, charge keys and charge results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from azotte_lifecycle.domain.dunning import ChargeOutcome, WorkKind, renewal_charge_key
from azotte_lifecycle.domain.events import Cause, EventType
from azotte_lifecycle.domain.policy import LifecyclePolicy, PolicyOverride, TenantLifecyclePolicy, TrialEndBehavior
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import FailedPrecondition, InvalidArgument

APRIL_END = datetime(2025, 5, 1, tzinfo=UTC)
NewSubscription = Callable[..., Subscription]


def _run_next(sub: Subscription, policy: LifecyclePolicy, outcome: ChargeOutcome) -> tuple[WorkKind, datetime]:
    """Run the next due work at its due time, charging with `outcome` when it charges."""
    work = sub.next_due_work()
    assert work is not None
    if work.kind.charges:
        sub.apply_charge_result(sub.renewal_charge(), outcome, work.due_at, policy)
    else:
        sub.apply_due_work(work, work.due_at, policy)
    return work.kind, work.due_at


def test_retry_schedule_days_1_3_5_7_then_expiry(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription()
    keys: list[str] = []
    steps = []
    while sub.state is not S.EXPIRED:
        work = sub.next_due_work()
        if work is not None and work.kind.charges:
            keys.append(sub.renewal_charge().idempotency_key)
        kind, due_at = _run_next(sub, policy, ChargeOutcome.SOFT_DECLINE)
        steps.append((kind, (due_at - APRIL_END).days, sub.state))
    assert steps == [
        (WorkKind.RENEWAL, 0, S.PAST_DUE),
        (WorkKind.RETRY, 1, S.PAST_DUE),
        (WorkKind.RETRY, 3, S.PAST_DUE),  # a retry due with the grace end runs first
        (WorkKind.GRACE_END, 3, S.ON_HOLD),
        (WorkKind.RETRY, 5, S.ON_HOLD),
        (WorkKind.RETRY, 7, S.EXPIRED),
    ]
    assert keys == [f"lifecycle:renewal:sub-1:2:{attempt}" for attempt in range(5)]
    assert sub.history[-1].cause is Cause.RETRIES_EXHAUSTED
    assert [e.event_type for e in sub.pull_events()][2:] == [
        EventType.SUBSCRIPTION_RENEWAL_FAILED,
        EventType.SUBSCRIPTION_RENEWAL_FAILED,
        EventType.SUBSCRIPTION_RENEWAL_FAILED,
        EventType.SUBSCRIPTION_ON_HOLD,
        EventType.SUBSCRIPTION_RENEWAL_FAILED,
        EventType.SUBSCRIPTION_EXPIRED,
    ]


def test_past_due_keeps_access_and_recovery_keeps_the_billing_anchor(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    _run_next(sub, policy, ChargeOutcome.SOFT_DECLINE)
    assert (sub.state, sub.entitled, sub.grace_end) == (S.PAST_DUE, True, APRIL_END + timedelta(days=3))
    _run_next(sub, policy, ChargeOutcome.SUCCEEDED)
    assert (sub.state, sub.period_index, sub.retry_attempt, sub.grace_end) == (S.ACTIVE, 2, 0, None)
    assert (sub.current_period_start, sub.current_period_end) == (APRIL_END, datetime(2025, 6, 1, tzinfo=UTC))
    assert sub.pull_events()[-1].event_type is EventType.SUBSCRIPTION_RECOVERED


def test_recovery_from_hold_starts_a_fresh_period(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription()
    _run_next(sub, policy, ChargeOutcome.HARD_DECLINE)
    assert (sub.state, sub.entitled, sub.hold_end) == (S.ON_HOLD, False, APRIL_END + timedelta(days=30))
    assert sub.next_due_work().kind is WorkKind.HOLD_END  # type: ignore[union-attr]  # no retries after hard
    recovered_at = APRIL_END + timedelta(days=10)
    sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SUCCEEDED, recovered_at, policy)
    assert (sub.state, sub.current_period_start) == (S.ACTIVE, recovered_at)
    assert sub.current_period_end == datetime(2025, 6, 11, tzinfo=UTC)


def test_hard_decline_without_hold_expires(new_subscription: NewSubscription) -> None:
    sub = new_subscription()
    _run_next(sub, LifecyclePolicy(hold_period=timedelta(0)), ChargeOutcome.HARD_DECLINE)
    assert sub.state is S.EXPIRED and sub.history[-1].cause is Cause.HARD_DECLINE


def test_hold_end_expires(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription()
    _run_next(sub, policy, ChargeOutcome.HARD_DECLINE)
    assert _run_next(sub, policy, ChargeOutcome.SOFT_DECLINE) == (WorkKind.HOLD_END, APRIL_END + timedelta(days=30))
    assert sub.state is S.EXPIRED


def test_successful_renewals_advance_periods_with_distinct_keys(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    keys = []
    for _ in range(3):
        keys.append(sub.renewal_charge().idempotency_key)
        _run_next(sub, policy, ChargeOutcome.SUCCEEDED)
    assert keys == [renewal_charge_key("sub-1", index, 0) for index in (2, 3, 4)]
    assert (sub.period_index, sub.current_period_end) == (4, datetime(2025, 8, 1, tzinfo=UTC))
    event = sub.pull_events()[-1]
    assert (event.event_type, event.entitled, event.subscription.period_index) == (
        EventType.SUBSCRIPTION_RENEWED,
        True,
        4,
    )


def test_trial_converts_by_charging_at_trial_end(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription(trial=True)
    assert policy.trial_end_charges(has_payment_method=False)  # CONVERT: charge anyway
    kind, trial_end = _run_next(sub, policy, ChargeOutcome.SUCCEEDED)
    assert kind is WorkKind.TRIAL_END
    assert (sub.state, sub.period_index, sub.current_period_start) == (S.ACTIVE, 1, trial_end)
    assert sub.pull_events()[-1].event_type is EventType.TRIAL_CONVERTED


def test_trial_expires_without_payment_method_when_policy_says_so(new_subscription: NewSubscription) -> None:
    policy = LifecyclePolicy(trial_end_behavior=TrialEndBehavior.EXPIRE_WITHOUT_PAYMENT_METHOD)
    sub = new_subscription(trial=True)
    assert not policy.trial_end_charges(has_payment_method=False)
    assert policy.trial_end_charges(has_payment_method=True)
    with pytest.raises(FailedPrecondition):
        sub.end_trial_without_payment_method(sub.current_period_end - timedelta(seconds=1))
    sub.end_trial_without_payment_method(sub.current_period_end)
    event = sub.pull_events()[-1]
    assert (event.event_type, event.entitled) == (EventType.TRIAL_EXPIRED, False)


def test_cancel_at_period_end_expires_at_period_end_without_charging(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    sub.cancel(APRIL_END - timedelta(days=5), policy)
    with pytest.raises(FailedPrecondition):
        sub.renewal_charge()
    assert _run_next(sub, policy, ChargeOutcome.SUCCEEDED) == (WorkKind.CANCELLATION, APRIL_END)
    assert sub.state is S.EXPIRED and sub.history[-1].cause is Cause.PERIOD_ENDED_AFTER_CANCEL


def test_pause_keeps_the_unused_time_and_resumes_automatically(
    new_subscription: NewSubscription, policy: LifecyclePolicy
) -> None:
    sub = new_subscription()
    paused_at = APRIL_END - timedelta(days=10)
    sub.pause(paused_at, policy, until=paused_at + timedelta(days=20))
    assert (sub.entitled, sub.next_due_work().kind) == (False, WorkKind.PAUSE_END)  # type: ignore[union-attr]
    _run_next(sub, policy, ChargeOutcome.SUCCEEDED)
    assert (sub.state, sub.current_period_end) == (S.ACTIVE, APRIL_END + timedelta(days=20))


def test_pause_is_bounded_by_the_policy(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription()
    with pytest.raises(InvalidArgument) as refused:
        sub.pause(APRIL_END, policy, periods=4)
    assert refused.value.reason == "PAUSE_TOO_LONG"


def test_stale_work_and_charges_are_refused(new_subscription: NewSubscription, policy: LifecyclePolicy) -> None:
    sub = new_subscription()
    charge = sub.renewal_charge()
    sub.apply_charge_result(charge, ChargeOutcome.SUCCEEDED, APRIL_END, policy)
    with pytest.raises(FailedPrecondition) as refused:
        sub.apply_charge_result(charge, ChargeOutcome.SUCCEEDED, APRIL_END, policy)
    assert refused.value.reason == "STALE_CHARGE"
    work = sub.next_due_work()
    assert work is not None
    with pytest.raises(FailedPrecondition):
        sub.apply_due_work(work, work.due_at - timedelta(seconds=1), policy)


def test_plan_overrides_layer_on_the_tenant_policy() -> None:
    tenant = TenantLifecyclePolicy(
        default=LifecyclePolicy(grace_period=timedelta(days=3)),
        plan_overrides={"annual": PolicyOverride(grace_period=timedelta(days=14), retry_schedule_days=(2,))},
    )
    assert tenant.for_plan("basic").grace_period == timedelta(days=3)
    annual = tenant.for_plan("annual")
    assert (annual.grace_period, annual.retry_schedule_days, annual.hold_period) == (
        timedelta(days=14),
        (2,),
        timedelta(days=30),
    )
    with pytest.raises(InvalidArgument):
        TenantLifecyclePolicy(plan_overrides={"x": PolicyOverride(retry_schedule_days=(3, 1))})
