"""No sequence of commands, time advances and charge results reaches an impossible state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from azotte_lifecycle.domain.dunning import ChargeOutcome, WorkKind
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy, TrialEndBehavior
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import ChangeTiming, PlanTerms, Subscription
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import FailedPrecondition, InvalidArgument

T0 = datetime(2025, 1, 31, 12, tzinfo=UTC)
MONTH = BillingInterval(IntervalUnit.MONTH)
PLANS = [
    PlanTerms("lite", 500, "USD", MONTH, rank=0),
    PlanTerms("basic", 1000, "USD", MONTH, rank=1),
    PlanTerms("premium", 2000, "USD", MONTH, rank=2),
    PlanTerms("annual", 10000, "USD", BillingInterval(IntervalUnit.YEAR), rank=2),
]
RANKS = {plan.plan_id: plan.rank for plan in PLANS}
POLICIES = st.builds(
    LifecyclePolicy,
    grace_period=st.sampled_from([timedelta(0), timedelta(days=3), timedelta(days=16)]),
    retry_schedule_days=st.sampled_from([(), (1,), (1, 3, 5, 7)]),
    hold_period=st.sampled_from([timedelta(0), timedelta(days=30)]),
    trial_end_behavior=st.sampled_from(list(TrialEndBehavior)),
    max_pause=st.sampled_from([timedelta(days=10), timedelta(days=90)]),
)
OUTCOMES = st.sampled_from(list(ChargeOutcome))
REFUSED = (FailedPrecondition, InvalidArgument)


class SubscriptionMachine(RuleBasedStateMachine):
    """Drives one Azotte-billed subscription with random commands and scheduler runs."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.was_expired = False

    @initialize(policy=POLICIES, trial=st.booleans(), plan=st.sampled_from(PLANS))
    def create(self, policy: LifecyclePolicy, trial: bool, plan: PlanTerms) -> None:
        self.policy = policy
        self.sub = Subscription.create(
            subscription_id="sub-1",
            tenant_id="tenant-1",
            customer_id="cus-1",
            plan=plan,
            storefront_id="us",
            channel=Channel.WEB,
            billing_origin=BillingOrigin.AZOTTE_BILLED,
            now=T0,
            trial_end=T0 + timedelta(days=7) if trial else None,
        )

    def _attempt(self, command: object) -> None:
        """Run a command; a refused one must leave the subscription untouched."""
        before = (self.sub.snapshot(), len(self.sub.history))
        try:
            assert callable(command)
            command()
        except REFUSED:
            assert (self.sub.snapshot(), len(self.sub.history)) == before

    @rule(
        days=st.integers(min_value=0, max_value=20),
        seconds=st.integers(min_value=1, max_value=86400),
        outcomes=st.lists(OUTCOMES, min_size=1, max_size=8),
        has_payment_method=st.booleans(),
    )
    def advance_clock_and_run_due_work(
        self, days: int, seconds: int, outcomes: list[ChargeOutcome], has_payment_method: bool
    ) -> None:
        """Move time on and run everything due, as the scheduler does, charging with `outcomes`."""
        self.now += timedelta(days=days, seconds=seconds)
        for step in range(50):
            work = self.sub.next_due_work()
            if work is None or not work.is_due(self.now):
                return
            if not work.kind.charges:
                self.sub.apply_due_work(work, self.now, self.policy)
            elif work.kind is WorkKind.TRIAL_END and not self.policy.trial_end_charges(has_payment_method):
                self.sub.end_trial_without_payment_method(self.now)
            else:
                outcome = outcomes[min(step, len(outcomes) - 1)]
                self.sub.apply_charge_result(self.sub.renewal_charge(), outcome, self.now, self.policy)
        raise AssertionError("due work never settles")

    @rule(outcome=OUTCOMES)
    def early_retry(self, outcome: ChargeOutcome) -> None:
        self._attempt(lambda: self.sub.apply_charge_result(self.sub.renewal_charge(), outcome, self.now, self.policy))

    @rule(mode=st.sampled_from([None, *CancelMode]), refund=st.booleans())
    def cancel(self, mode: CancelMode | None, refund: bool) -> None:
        paid = self.sub.current_period_amount_minor

        def command() -> None:
            refunded = self.sub.cancel(self.now, self.policy, mode=mode, refund=refund)
            assert 0 <= refunded <= paid

        self._attempt(command)

    @rule()
    def reactivate(self) -> None:
        self._attempt(lambda: self.sub.reactivate(self.now))

    @rule(days=st.integers(min_value=-1, max_value=120), periods=st.none() | st.integers(min_value=0, max_value=4))
    def pause(self, days: int, periods: int | None) -> None:
        until = None if periods is not None else self.now + timedelta(days=days)
        self._attempt(lambda: self.sub.pause(self.now, self.policy, until=until, periods=periods))

    @rule()
    def resume(self) -> None:
        self._attempt(lambda: self.sub.resume(self.now))

    @rule(plan=st.sampled_from(PLANS), timing=st.sampled_from([None, *ChangeTiming]))
    def change_plan(self, plan: PlanTerms, timing: ChangeTiming | None) -> None:
        rank = RANKS[self.sub.plan_id]
        self._attempt(lambda: self.sub.change_plan(plan, self.now, current_rank=rank, timing=timing))

    @invariant()
    def no_impossible_state(self) -> None:
        sub = self.sub
        if sub.state is S.PAST_DUE:
            assert sub.grace_end is not None and sub.first_failure_at is not None
        if sub.state is S.ON_HOLD:
            assert sub.hold_end is not None
        if sub.state is S.PAUSED:
            assert sub.paused_at is not None and sub.resume_at is not None and sub.resume_at > sub.paused_at
        else:
            assert sub.paused_at is None and sub.resume_at is None
        if sub.state is S.TRIALING:
            assert sub.trial_end is not None and sub.period_index == 0
        if sub.state in (S.TRIALING, S.ACTIVE):
            assert sub.retry_attempt == 0 and sub.grace_end is None and sub.hold_end is None
        if sub.cancel_at_period_end:
            assert sub.state in (S.TRIALING, S.ACTIVE)
        if sub.pending_plan_change is not None:
            assert sub.state in (S.ACTIVE, S.PAUSED)
        assert sub.current_period_start < sub.current_period_end

    @invariant()
    def expired_is_terminal_and_only_live_subscriptions_have_work(self) -> None:
        if self.was_expired:
            assert self.sub.state is S.EXPIRED
        self.was_expired = self.sub.state is S.EXPIRED
        assert (self.sub.next_due_work() is None) == self.was_expired

    @invariant()
    def history_is_a_chain_and_events_match(self) -> None:
        history = self.sub.history
        assert history[0].from_state is None
        for earlier, later in pairwise(history):
            assert later.from_state is earlier.to_state
        assert history[-1].to_state is self.sub.state
        for event in self.sub.pull_events():
            assert event.entitled is event.subscription.state.entitled


SubscriptionMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_subscription_state_machine = SubscriptionMachine.TestCase
