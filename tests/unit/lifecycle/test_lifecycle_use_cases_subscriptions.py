"""Subscription use cases over fakes: create (paid, trial), pause and resume, reactivate, request id replays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.errors import CustomerNotFound, PauseTooLong
from azotte_lifecycle.service_layer import cancellation, subscriptions
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import InvalidArgument, RequestIdReused
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

MAY_1 = T0 + timedelta(days=30)


async def test_a_paid_subscription_starts_active_with_its_first_period_paid(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    stored = use_cases.stored(sub)
    assert (stored.state, stored.period_index, stored.renewal_amount_minor, stored.currency_code) == (
        S.ACTIVE,
        1,
        1000,
        "USD",
    )
    assert (stored.current_period_start, stored.current_period_end, stored.created_at) == (T0, MAY_1, T0)
    assert use_cases.uow.published_types() == ["subscription.created", "subscription.activated"]


async def test_a_plan_with_trial_days_starts_trialing_for_them(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("trial")
    stored = use_cases.stored(sub)
    assert (stored.state, stored.period_index, stored.entitled) == (S.TRIALING, 0, True)
    assert stored.trial_end == stored.current_period_end == T0 + timedelta(days=14)
    assert use_cases.uow.published_types() == ["subscription.created", "trial.started"]


async def test_an_explicit_trial_end_makes_any_plan_trial(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic", trial_end=T0 + timedelta(days=3))
    assert (use_cases.stored(sub).state, use_cases.stored(sub).trial_end) == (S.TRIALING, T0 + timedelta(days=3))


async def test_an_unknown_customer_creates_and_publishes_nothing(use_cases: UseCases) -> None:
    new = subscriptions.NewSubscription("cus_unknown", "basic", "us", Channel.WEB, BillingOrigin.AZOTTE_BILLED)
    with pytest.raises(CustomerNotFound):
        await use_cases.run(lambda uow: subscriptions.create_subscription(uow, use_cases.catalog, TENANT, new))
    assert use_cases.uow.data.subscriptions == {}
    assert use_cases.uow.published == []


async def test_a_missing_storefront_names_the_field(use_cases: UseCases) -> None:
    new = subscriptions.NewSubscription(
        await use_cases.customer(), "basic", "", Channel.WEB, BillingOrigin.AZOTTE_BILLED
    )
    with pytest.raises(InvalidArgument) as refused:
        await use_cases.run(lambda uow: subscriptions.create_subscription(uow, use_cases.catalog, TENANT, new))
    assert [v.field for v in refused.value.violations] == ["storefront_id"]


async def test_a_pause_suspends_access_and_a_resume_keeps_the_paid_time_left(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.advance(timedelta(days=10))
    await use_cases.run(lambda uow: subscriptions.pause(uow, TENANT, sub.id, until=None, periods=1))
    paused = use_cases.stored(sub)
    assert (paused.state, paused.entitled, paused.resume_at) == (S.PAUSED, False, T0 + timedelta(days=40))
    use_cases.clock.advance(timedelta(days=5))
    await use_cases.run(lambda uow: subscriptions.resume(uow, TENANT, sub.id))
    resumed = use_cases.stored(sub)
    assert (resumed.state, resumed.current_period_end) == (S.ACTIVE, MAY_1 + timedelta(days=5))
    assert use_cases.uow.published_types()[-2:] == ["subscription.paused", "subscription.resumed"]


async def test_a_pause_longer_than_the_policy_allows_changes_nothing(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    until = T0 + timedelta(days=91)  # the default policy pauses at most 90 days
    with pytest.raises(PauseTooLong) as refused:
        await use_cases.run(lambda uow: subscriptions.pause(uow, TENANT, sub.id, until=until, periods=None))
    assert [v.field for v in refused.value.violations] == ["resume_at"]
    assert use_cases.stored(sub).state is S.ACTIVE


async def test_reactivating_undoes_a_cancel_at_period_end(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    cancel = cancellation.CancelRequest(sub.id, CancelMode.AT_PERIOD_END, False, "cancel-1")
    await use_cases.run(lambda uow: cancellation.cancel(uow, use_cases.catalog, use_cases.payments, TENANT, cancel))
    assert use_cases.stored(sub).cancel_at_period_end
    await use_cases.run(lambda uow: subscriptions.reactivate(uow, TENANT, sub.id))
    assert (use_cases.stored(sub).state, use_cases.stored(sub).cancel_at_period_end) == (S.ACTIVE, False)
    assert use_cases.uow.published_types()[-2:] == ["subscription.cancel_scheduled", "subscription.reactivated"]


async def test_a_repeated_request_id_gets_the_first_answer_and_works_once(use_cases: UseCases) -> None:
    request = pb.CreateCustomerRequest(
        request_id="r-1", external_id="ext-1", email="ana@example.com", country_code="FR"
    )
    first = await use_cases.call(use_cases.servicer.CreateCustomer, request)
    again = await use_cases.call(use_cases.servicer.CreateCustomer, request)
    assert first == again
    assert [c.id for c in use_cases.uow.data.customers.values()] == [first.customer.id]


async def test_a_request_id_reused_for_other_content_is_refused(use_cases: UseCases) -> None:
    request = pb.CreateCustomerRequest(
        request_id="r-1", external_id="ext-1", email="ana@example.com", country_code="FR"
    )
    await use_cases.call(use_cases.servicer.CreateCustomer, request)
    other = pb.CreateCustomerRequest(request_id="r-1", external_id="ext-2", email="b@b.co", country_code="FR")
    with pytest.raises(RequestIdReused):
        await use_cases.call(use_cases.servicer.CreateCustomer, other)
    assert [c.external_id for c in use_cases.uow.data.customers.values()] == ["ext-1"]


async def test_a_pause_answers_a_consistency_token_naming_the_event_it_published(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe()
    published = len(use_cases.uow.published)
    request = pb.PauseSubscriptionRequest(request_id="pause-1", subscription_id=sub.id)
    request.resume_time.FromDatetime(use_cases.clock.now() + timedelta(days=10))
    answer = await use_cases.call(use_cases.servicer.PauseSubscription, request)
    paused = [event for event in use_cases.uow.published[published:] if event.type == "subscription.paused"]
    assert paused and answer.consistency_token == "ct1." + ".".join(e.id for e in use_cases.uow.published[published:])
    # NOTE: a repeat of the request answers the same token (the answer is kept with the request id).
    assert (
        await use_cases.call(use_cases.servicer.PauseSubscription, request)
    ).consistency_token == answer.consistency_token
