"""Renewal prices over fakes: the catalog is asked once per batch, each distinct query once, before charging;
increases wait for their notice, and for consent where the storefront requires it."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import renewal_charge_key
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import IllegalTransition
from azotte_lifecycle.ports import RenewalPriceQuery
from azotte_lifecycle.service_layer import subscriptions
from azotte_platform.clock import tenant_times
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases
from tests.unit.lifecycle.test_lifecycle_use_cases_plan_changes import change

MAY_1 = T0 + timedelta(days=30)
UNSETTLED_DELAY = timedelta(minutes=5)  # the scheduler's default


async def test_a_batch_asks_the_catalog_once_with_each_distinct_renewal_once(use_cases: UseCases) -> None:
    subs = [await use_cases.subscribe("basic") for _ in range(3)] + [await use_cases.subscribe("songs")]
    use_cases.catalog.renewal_price["basic"] = 1250
    use_cases.clock.set(MAY_1)
    assert (await use_cases.scheduler.sweep()).processed == 4
    end = T0 + timedelta(days=30)
    (call,) = use_cases.catalog.renewal_calls
    assert sorted(call, key=lambda q: q.plan_id) == [
        RenewalPriceQuery("basic", "us", Channel.WEB, end, T0),
        RenewalPriceQuery("songs", "us", Channel.WEB, end, T0),
    ]
    amounts = [use_cases.payments.amounts[renewal_charge_key(s.id, 2, 0)] for s in subs]
    assert amounts == [1250, 1250, 1250, 500]
    assert [use_cases.stored(s).renewal_amount_minor for s in subs] == [1250, 1250, 1250, 500]


async def test_while_the_catalog_cannot_answer_nothing_is_charged_and_the_renewal_waits(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.unavailable = True
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert (use_cases.payments.charged, use_cases.stored(sub).period_index) == ({}, 1)
    assert await use_cases.uow.subscriptions.next_due_in(tenant_times(use_cases.clock)) == UNSETTLED_DELAY
    use_cases.catalog.unavailable = False
    use_cases.clock.advance(UNSETTLED_DELAY)
    await use_cases.scheduler.sweep()
    assert use_cases.stored(sub).period_index == 2


async def test_a_plan_the_catalog_no_longer_prices_renews_on_its_stored_terms(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = None
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 1000}


async def test_after_a_plan_change_renewals_are_priced_for_the_time_of_the_change(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.set(T0 + timedelta(days=10))
    await change(use_cases, sub, "premium")
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    (query,) = use_cases.catalog.renewal_calls[0]
    assert (query.plan_id, query.started_at) == ("premium", T0 + timedelta(days=10))


async def test_with_a_notice_period_a_rise_is_told_that_long_before_the_renewal_that_charges_it(
    use_cases: UseCases,
) -> None:
    use_cases.catalog.notice_days = 10
    sub = await use_cases.subscribe("basic")  # T0, renews at MAY_1 (30 days)
    use_cases.catalog.renewal_price["basic"] = 1500
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    told = use_cases.stored(sub).pending_price_change
    assert told is not None and (told.old_amount_minor, told.amount_minor, told.effective_at) == (1000, 1500, MAY_1)
    event = use_cases.uow.published[-1]
    assert event.type == "subscription.price_change_scheduled"
    change = event.payload.subscription.pending_price_change  # type: ignore[attr-defined]
    assert (change.old_renewal_price.amount_minor, change.new_renewal_price.amount_minor) == (1000, 1500)
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 1500}
    assert use_cases.stored(sub).pending_price_change is None


async def test_a_rise_found_with_less_notice_left_waits_for_the_renewal_after(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days = 10
    sub = await use_cases.subscribe("basic")
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()  # nothing to tell yet
    use_cases.catalog.renewal_price["basic"] = 1500  # scheduled 5 days before the renewal
    use_cases.clock.set(MAY_1 - timedelta(days=5))
    await use_cases.scheduler.sweep()
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 1000}
    june_1 = use_cases.stored(sub).current_period_end
    use_cases.clock.set(june_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    told = use_cases.stored(sub).pending_price_change
    assert told is not None and told.effective_at == june_1
    assert use_cases.uow.published_types()[-2:] == ["subscription.renewed", "subscription.price_change_scheduled"]
    use_cases.clock.set(june_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts[renewal_charge_key(sub.id, 3, 0)] == 1500


async def test_a_decrease_needs_no_notice(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days = 10
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 800
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 800}
    assert "subscription.price_change_scheduled" not in use_cases.uow.published_types()


async def told_of_a_rise_needing_consent(use_cases: UseCases) -> Subscription:
    """A subscription told 10 days before MAY_1 that it renews at 1500 from then, if it accepts."""
    use_cases.catalog.notice_days, use_cases.catalog.consent_required = 10, True
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 1500
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    told = use_cases.stored(sub).pending_price_change
    assert told is not None and told.awaiting_consent
    return sub


async def test_a_rise_accepted_is_charged_at_its_renewal(use_cases: UseCases) -> None:
    sub = await told_of_a_rise_needing_consent(use_cases)
    use_cases.clock.advance(timedelta(days=2))
    request = pb.ConsentToPriceChangeRequest(request_id="consent-1", subscription_id=sub.id)
    answer = await use_cases.call(use_cases.servicer.ConsentToPriceChange, request)
    assert answer.subscription.pending_price_change.consent_time.ToDatetime(UTC) == MAY_1 - timedelta(days=8)
    assert use_cases.uow.published_types()[-1] == "subscription.price_change_consented"
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 1500}
    assert use_cases.stored(sub).state is S.ACTIVE


async def test_a_rise_not_accepted_by_its_renewal_ends_the_subscription_then_uncharged(use_cases: UseCases) -> None:
    sub = await told_of_a_rise_needing_consent(use_cases)
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.charged == {}
    assert use_cases.stored(sub).state is S.EXPIRED
    assert use_cases.uow.published_types()[-2:] == ["subscription.price_change_declined", "subscription.expired"]


async def test_a_decrease_asks_no_consent(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days, use_cases.catalog.consent_required = 10, True
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 800
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    assert use_cases.stored(sub).pending_price_change is None
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): 800}


async def test_consent_without_a_rise_awaiting_it_is_refused(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    with pytest.raises(IllegalTransition):
        await use_cases.run(lambda uow: subscriptions.consent_to_price_change(uow, TENANT, sub.id))
