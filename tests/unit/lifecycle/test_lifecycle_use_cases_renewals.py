"""Renewals over fakes: the scheduler charges due subscriptions in their tenant and applies the outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from azotte_lifecycle.domain.dunning import ChargeOutcome, renewal_charge_key
from azotte_lifecycle.domain.policy import TrialEndBehavior
from azotte_lifecycle.service_layer import policies
from azotte_platform.clock import tenant_times
from azotte_platform.enums import SubscriptionState as S
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

MAY_1 = T0 + timedelta(days=30)
UNSETTLED_DELAY = timedelta(minutes=5)  # the scheduler's default


async def test_a_due_renewal_is_charged_in_its_tenant_and_starts_the_next_period(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.set(MAY_1)
    result = await use_cases.scheduler.sweep()
    assert (result.processed, result.remaining) == (1, 0)
    key = renewal_charge_key(sub.id, 2, 0)
    assert (use_cases.payments.amounts, use_cases.payments.tenant_of) == ({key: 1000}, {key: TENANT})
    stored = use_cases.stored(sub)
    assert (stored.state, stored.period_index, stored.current_period_start) == (S.ACTIVE, 2, MAY_1)
    assert stored.current_period_end == MAY_1 + timedelta(days=31)
    assert use_cases.uow.published_types()[-1] == "subscription.renewed"


async def test_a_declined_renewal_keeps_access_in_grace_and_a_retry_recovers_it(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    failed = use_cases.stored(sub)
    assert (failed.state, failed.entitled, failed.retry_attempt, failed.period_index) == (S.PAST_DUE, True, 1, 1)
    assert (failed.grace_end, failed.next_retry_at) == (MAY_1 + timedelta(days=3), MAY_1 + timedelta(days=1))
    assert use_cases.uow.published_types()[-1] == "subscription.renewal_failed"
    use_cases.clock.advance(timedelta(days=1))
    await use_cases.scheduler.sweep()
    assert (use_cases.stored(sub).state, use_cases.stored(sub).period_index) == (S.ACTIVE, 2)
    assert use_cases.uow.published_types()[-1] == "subscription.recovered"
    assert list(use_cases.payments.charged) == [renewal_charge_key(sub.id, 2, 0), renewal_charge_key(sub.id, 2, 1)]


async def test_a_hard_declined_renewal_puts_the_subscription_on_hold(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.payments.script = [ChargeOutcome.HARD_DECLINE]
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    stored = use_cases.stored(sub)
    assert (stored.state, stored.entitled, stored.hold_end) == (S.ON_HOLD, False, MAY_1 + timedelta(days=30))
    assert use_cases.uow.published_types()[-1] == "subscription.on_hold"


async def test_a_renewal_without_an_outcome_yet_is_asked_again_under_the_same_key(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.payments.script = [None]  # e.g. a PSP timeout: money may have moved
    use_cases.clock.set(MAY_1)
    published = len(use_cases.uow.published)
    assert (await use_cases.scheduler.sweep()).remaining == 0
    assert (use_cases.stored(sub).state, use_cases.stored(sub).period_index) == (S.ACTIVE, 1)
    assert len(use_cases.uow.published) == published
    assert await use_cases.uow.subscriptions.next_due_in(tenant_times(use_cases.clock)) == UNSETTLED_DELAY
    use_cases.payments.results.clear()  # payments now knows: succeeded
    use_cases.clock.advance(UNSETTLED_DELAY)
    await use_cases.scheduler.sweep()
    assert use_cases.stored(sub).period_index == 2
    assert use_cases.payments.calls == {renewal_charge_key(sub.id, 2, 0): 2}


async def test_each_tenants_renewals_are_charged_in_their_own_tenant(use_cases: UseCases) -> None:
    acme = await use_cases.subscribe("basic")
    globex = await use_cases.subscribe("premium", tenant="globex")
    use_cases.clock.set(MAY_1)
    assert (await use_cases.scheduler.sweep()).processed == 2
    assert [use_cases.stored(s).period_index for s in (acme, globex)] == [2, 2]
    assert use_cases.payments.tenant_of == {
        renewal_charge_key(acme.id, 2, 0): TENANT,
        renewal_charge_key(globex.id, 2, 0): "globex",
    }


async def test_a_trial_ends_in_a_paid_period_when_a_payment_method_is_on_file(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("trial")
    use_cases.clock.advance(timedelta(days=14))
    await use_cases.scheduler.sweep()
    stored = use_cases.stored(sub)
    assert (stored.state, stored.period_index) == (S.ACTIVE, 1)
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 1, 0): 1000}
    assert use_cases.uow.published_types()[-1] == "trial.converted"


async def test_a_trial_without_a_payment_method_expires_uncharged_when_the_policy_says_so(use_cases: UseCases) -> None:
    await use_cases.run(
        lambda uow: policies.update_policy(
            uow,
            TENANT,
            lambda current: replace(
                current,
                default=replace(current.default, trial_end_behavior=TrialEndBehavior.EXPIRE_WITHOUT_PAYMENT_METHOD),
            ),
        )
    )
    sub = await use_cases.subscribe("trial")
    use_cases.payments.payment_method = False
    use_cases.clock.advance(timedelta(days=14))
    await use_cases.scheduler.sweep()
    assert (use_cases.stored(sub).state, use_cases.payments.calls) == (S.EXPIRED, {})
    assert use_cases.uow.published_types()[-1] == "trial.expired"
