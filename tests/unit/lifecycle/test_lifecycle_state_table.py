"""Every command in every state: legal commands land in the expected state, illegal ones are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import FailedPrecondition

Command = Callable[[Subscription, LifecyclePolicy], object]
T0 = datetime(2025, 4, 1, tzinfo=UTC)
LITE = PlanTerms("lite", 500, "USD", BillingInterval(IntervalUnit.MONTH), rank=0)
PREMIUM = PlanTerms("premium", 2000, "USD", BillingInterval(IntervalUnit.MONTH), rank=2)


def _charge(outcome: ChargeOutcome) -> Command:
    return lambda sub, policy: sub.apply_charge_result(
        sub.renewal_charge(), outcome, sub.current_period_end + timedelta(days=10), policy
    )


COMMANDS: dict[str, Command] = {
    "cancel_at_period_end": lambda sub, policy: sub.cancel(T0, policy, mode=CancelMode.AT_PERIOD_END),
    "cancel_immediately": lambda sub, policy: sub.cancel(T0, policy, mode=CancelMode.IMMEDIATE),
    "reactivate": lambda sub, policy: sub.reactivate(T0),
    "pause": lambda sub, policy: sub.pause(T0, policy, periods=1),
    "resume": lambda sub, policy: sub.resume(T0 + timedelta(days=2)),
    "upgrade": lambda sub, policy: sub.change_plan(PREMIUM, T0 + timedelta(days=1), current_rank=1),
    "downgrade": lambda sub, policy: sub.change_plan(LITE, T0 + timedelta(days=1), current_rank=1),
    "charge_succeeded": _charge(ChargeOutcome.SUCCEEDED),
    "soft_decline": _charge(ChargeOutcome.SOFT_DECLINE),
    "hard_decline": _charge(ChargeOutcome.HARD_DECLINE),
}

STATES = ("trialing", "active", "active_cancel_pending", "past_due", "on_hold", "paused", "expired")
X = None  # illegal
PENDING = "cancel_pending"  # active with cancel_at_period_end

# fmt: off
TABLE: dict[str, tuple[S | str | None, ...]] = {
    #                        trialing    active    active_cp  past_due   on_hold    paused     expired
    "cancel_at_period_end": ("trialing_cp", PENDING, X,        S.EXPIRED, S.EXPIRED, S.EXPIRED, X),
    "cancel_immediately":   (S.EXPIRED, S.EXPIRED, S.EXPIRED, S.EXPIRED, S.EXPIRED, S.EXPIRED, X),
    "reactivate":           (X,          X,        S.ACTIVE,  X,         X,         X,         X),
    "pause":                (X,          S.PAUSED, X,         X,         X,         X,         X),
    "resume":               (X,          X,        X,         X,         X,         S.ACTIVE,  X),
    "upgrade":              (S.TRIALING, S.ACTIVE, PENDING,   X,         X,         X,         X),
    "downgrade":            (S.TRIALING, S.ACTIVE, PENDING,   X,         X,         X,         X),
    "charge_succeeded":     (S.ACTIVE,   S.ACTIVE, X,         S.ACTIVE,  S.ACTIVE,  X,         X),
    "soft_decline":         (S.PAST_DUE, S.PAST_DUE, X,       S.PAST_DUE, S.ON_HOLD, X,        X),
    "hard_decline":         (S.ON_HOLD,  S.ON_HOLD, X,        S.ON_HOLD, S.ON_HOLD, X,         X),
}
# fmt: on

CASES = [(command, state, TABLE[command][i]) for command in COMMANDS for i, state in enumerate(STATES)]


@pytest.mark.parametrize(("command", "state", "expected"), CASES, ids=[f"{c}-{s}" for c, s, _ in CASES])
def test_command_in_state(
    command: str,
    state: str,
    expected: S | str | None,
    subscription_in: Callable[[str], Subscription],
    policy: LifecyclePolicy,
) -> None:
    sub = subscription_in(state)
    before = (sub.snapshot(), len(sub.history))
    if expected is None:
        with pytest.raises(FailedPrecondition) as refused:
            COMMANDS[command](sub, policy)
        assert refused.value.reason == "ILLEGAL_TRANSITION"
        assert str(sub.state) in refused.value.message
        assert (sub.snapshot(), len(sub.history)) == before
        assert sub.pull_events() == []
        return
    COMMANDS[command](sub, policy)
    if expected == PENDING:
        assert (sub.state, sub.cancel_at_period_end) == (S.ACTIVE, True)
    elif expected == "trialing_cp":
        assert (sub.state, sub.cancel_at_period_end) == (S.TRIALING, True)
    else:
        assert sub.state is expected
    events = sub.pull_events()
    assert events, "every transition records an event"
    assert events[-1].subscription.state is sub.state
    assert sub.history[-1].to_state is sub.state


def test_table_covers_every_command_and_state() -> None:
    assert set(TABLE) == set(COMMANDS)
    assert all(len(row) == len(STATES) for row in TABLE.values())


@pytest.mark.parametrize("command", ["cancel_immediately", "reactivate", "pause", "resume", "upgrade"])
def test_store_billed_subscriptions_refuse_customer_commands(
    command: str, policy: LifecyclePolicy, new_subscription: Callable[..., Subscription]
) -> None:
    sub = new_subscription(origin=BillingOrigin.STORE_BILLED)
    with pytest.raises(FailedPrecondition) as refused:
        COMMANDS[command](sub, policy)
    assert refused.value.reason == "STORE_BILLED_SUBSCRIPTION"


def test_expired_is_entitled_to_nothing_and_has_no_due_work(subscription_in: Callable[[str], Subscription]) -> None:
    sub = subscription_in("expired")
    assert not sub.entitled
    assert sub.next_due_work() is None


@pytest.mark.parametrize(
    ("state", "entitled"),
    [("trialing", True), ("active", True), ("past_due", True), ("on_hold", False), ("paused", False)],
)
def test_access_follows_state(state: str, entitled: bool, subscription_in: Callable[[str], Subscription]) -> None:
    assert subscription_in(state).entitled is entitled
