"""A campaign extends a trial: the trial end moves later, the first charge waits for it, and only a trialing
subscription's trial can be extended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import renewal_charge_key
from azotte_lifecycle.errors import IllegalTransition
from azotte_platform.convert import from_timestamp
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import T0, UseCases

TRIAL_END = T0 + timedelta(days=14)  # the "trial" plan's 14 days


async def extend(use_cases: UseCases, subscription_id: str, days: int, request_id: str = "extend-1") -> pb.Subscription:
    request = pb.ExtendTrialRequest(request_id=request_id, subscription_id=subscription_id, days=days)
    return (await use_cases.call(use_cases.servicer.ExtendTrial, request)).subscription


async def test_an_extended_trial_converts_at_its_new_end_once_however_often_the_request_is_repeated(
    use_cases: UseCases,
) -> None:
    sub = await use_cases.subscribe("trial")
    extended = await extend(use_cases, sub.id, 7)
    again = await extend(use_cases, sub.id, 7)
    assert from_timestamp(extended.trial_end_time) == from_timestamp(again.trial_end_time) == TRIAL_END + timedelta(7)
    assert use_cases.uow.published_types()[-1] == "trial.extended"
    use_cases.clock.set(TRIAL_END)
    await use_cases.scheduler.sweep()
    assert (use_cases.stored(sub).state, use_cases.payments.calls) == (S.TRIALING, {})
    use_cases.clock.set(TRIAL_END + timedelta(days=7))
    await use_cases.scheduler.sweep()
    stored = use_cases.stored(sub)
    assert (stored.state, stored.current_period_end) == (S.ACTIVE, datetime(2025, 5, 22, tzinfo=UTC))  # a month on
    assert list(use_cases.payments.calls) == [renewal_charge_key(sub.id, 1, 0)]


async def test_only_a_trial_is_extended_by_a_sensible_number_of_days(use_cases: UseCases) -> None:
    trialing, active = await use_cases.subscribe("trial"), await use_cases.subscribe("basic")
    with pytest.raises(IllegalTransition):
        await extend(use_cases, active.id, 7)
    for days in (0, 366):
        with pytest.raises(InvalidArgument) as refused:
            await extend(use_cases, trialing.id, days, request_id=f"extend-{days}")
        assert refused.value.violations[0].field == "days"
