"""Price changes as subscribers and operators see them, over fakes: a subscription's outlook through each state,
the upcoming charge equal to what the renewal charges, an explicit refusal, the renewal event carrying old and new
price, a dry run before scheduling a price, and the impact per cohort (numbers worked out by hand)."""

from __future__ import annotations

from datetime import timedelta

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import renewal_charge_key
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.convert import from_timestamp, timestamp
from azotte_platform.enums import SubscriptionState as S
from tests.unit.lifecycle.conftest import T0, UseCases

MAY_1 = T0 + timedelta(days=30)
JUNE_1 = MAY_1 + timedelta(days=31)
State = pb.PriceChangeState


async def outlook(use_cases: UseCases, sub: Subscription) -> pb.PriceOutlook:
    request = pb.GetSubscriptionRequest(subscription_id=sub.id)
    return (await use_cases.call(use_cases.servicer.GetSubscription, request)).subscription.price_outlook


def amounts(seen: pb.PriceOutlook) -> tuple[int, int | None, int, int]:
    """current, next (None: no renewal follows), and the change's old and new price."""
    following = seen.next_price.amount_minor if seen.HasField("next_price") else None
    change = seen.change
    return (
        seen.current_price.amount_minor,
        following,
        change.old_renewal_price.amount_minor,
        change.new_renewal_price.amount_minor,
    )


async def test_a_subscription_shows_its_next_price_and_the_state_of_a_rise_from_catalog_to_consent(
    use_cases: UseCases,
) -> None:
    use_cases.catalog.notice_days, use_cases.catalog.consent_required = 10, True
    sub = await use_cases.subscribe("basic")  # $10, renews on MAY_1
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)[:2], from_timestamp(seen.next_renewal_time)) == (
        State.PRICE_CHANGE_STATE_NONE,
        (1000, 1000),
        MAY_1,
    )

    use_cases.catalog.renewal_price["basic"] = 1500  # a rise the subscriber has not been told of
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_NOTICE_PENDING, (1000, 1000, 1000, 1500))
    assert from_timestamp(seen.change.effective_time) == MAY_1  # told 10 days before it
    assert not seen.change.HasField("notice_time")

    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_AWAITING_CONSENT, (1000, None, 1000, 1500))
    assert from_timestamp(seen.change.notice_time) == MAY_1 - timedelta(days=10)

    await use_cases.call(
        use_cases.servicer.ConsentToPriceChange,
        pb.ConsentToPriceChangeRequest(request_id="yes", subscription_id=sub.id),
    )
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_CONSENTED, (1000, 1500, 1000, 1500))

    await use_cases.call(
        use_cases.servicer.DeclinePriceChange, pb.DeclinePriceChangeRequest(request_id="no", subscription_id=sub.id)
    )
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_DECLINED, (1000, None, 1000, 1500))
    assert seen.change.HasField("decline_time") and not seen.change.HasField("consent_time")


async def test_without_a_notice_period_a_change_is_scheduled_and_a_decrease_never_waits(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 1200
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_SCHEDULED, (1000, 1200, 1000, 1200))
    use_cases.catalog.notice_days, use_cases.catalog.renewal_price["basic"] = 30, 800
    seen = await outlook(use_cases, sub)
    assert (seen.state, amounts(seen)) == (State.PRICE_CHANGE_STATE_SCHEDULED, (1000, 800, 1000, 800))


async def test_the_upcoming_charge_is_what_the_renewal_then_charges(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days = 10
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 1500
    request = pb.GetUpcomingChargeRequest(subscription_id=sub.id)
    before_notice = await use_cases.call(use_cases.servicer.GetUpcomingCharge, request)
    assert (before_notice.amount.amount_minor, from_timestamp(before_notice.charge_time)) == (1000, MAY_1)
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()  # the notice: MAY_1 charges the rise
    upcoming = await use_cases.call(use_cases.servicer.GetUpcomingCharge, request)
    assert (upcoming.amount.amount_minor, upcoming.discount.amount_minor, upcoming.tax.amount_minor) == (1500, 0, 0)
    assert upcoming.price_change_state == State.PRICE_CHANGE_STATE_NOTICE_GIVEN
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.payments.amounts == {renewal_charge_key(sub.id, 2, 0): upcoming.gross.amount_minor}
    renewed = use_cases.uow.published[-1]
    assert renewed.type == "subscription.renewed"
    applied = renewed.payload.price_change  # type: ignore[attr-defined]
    assert (applied.old_renewal_price.amount_minor, applied.new_renewal_price.amount_minor) == (1000, 1500)
    assert from_timestamp(applied.notice_time) == MAY_1 - timedelta(days=10)


async def test_a_refused_rise_ends_the_subscription_uncharged_at_its_renewal(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days, use_cases.catalog.consent_required = 10, True
    sub = await use_cases.subscribe("basic")
    use_cases.catalog.renewal_price["basic"] = 1500
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()
    decline = pb.DeclinePriceChangeRequest(request_id="no", subscription_id=sub.id)
    await use_cases.call(use_cases.servicer.DeclinePriceChange, decline)
    await use_cases.call(use_cases.servicer.DeclinePriceChange, decline)  # a retry answers the same
    declined = use_cases.uow.published[-1]
    assert declined.type == "subscription.price_change_declined"
    refused = declined.payload.subscription.pending_price_change  # type: ignore[attr-defined]
    assert (refused.old_renewal_price.amount_minor, refused.new_renewal_price.amount_minor) == (1000, 1500)
    assert use_cases.stored(sub).state is S.ACTIVE  # until the renewal
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    ended = use_cases.stored(sub)
    assert (ended.state, use_cases.payments.amounts) == (S.EXPIRED, {})
    assert use_cases.uow.published_types().count("subscription.price_change_declined") == 1
    assert use_cases.uow.published[-1].payload.cause == "price_change_declined"  # type: ignore[attr-defined]


async def dry_run(use_cases: UseCases, **fields: object) -> pb.ListPriceChangeSubscribersResponse:
    request = pb.ListPriceChangeSubscribersRequest(storefront_id="us", plan_id="basic", **fields)  # type: ignore[arg-type]
    return await use_cases.call(use_cases.servicer.ListPriceChangeSubscribers, request)


async def test_a_dry_run_lists_whom_a_price_would_reach_and_from_which_renewal(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days = 10
    first = await use_cases.subscribe("basic")  # renews MAY_1
    use_cases.clock.set(T0 + timedelta(days=25))
    second = await use_cases.subscribe("basic")  # renews on the 26th of each month
    await use_cases.subscribe("premium")  # another plan
    await use_cases.subscribe("basic", storefront_id="us-tx")  # another storefront
    leaving = await use_cases.subscribe("basic")
    cancel = pb.CancelSubscriptionRequest(
        request_id="bye", subscription_id=leaving.id, mode=pb.CANCEL_MODE_AT_PERIOD_END
    )
    await use_cases.call(use_cases.servicer.CancelSubscription, cancel)
    rise = {"amount_minor": 1300, "existing_subscribers": pb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL}

    answer = await dry_run(use_cases, **rise, page_size=1)
    assert (answer.affected_count, answer.unaffected_count, answer.notice_days) == (2, 1, 10)
    assert (answer.revenue_before.amount_minor, answer.revenue_after.amount_minor) == (2000, 2600)
    # now T0+25d: MAY_1 is 5 days away, too close for the notice: the first renewal charging it is JUNE_1
    (shown,) = answer.subscribers
    assert (shown.subscription_id, from_timestamp(shown.first_renewal_time)) == (second.id, T0 + timedelta(days=55))
    assert (shown.old_renewal_price.amount_minor, shown.new_renewal_price.amount_minor) == (1000, 1300)
    rest = await dry_run(use_cases, **rise, page_size=1, page_token=answer.next_page_token)
    assert [(s.subscription_id, from_timestamp(s.first_renewal_time)) for s in rest.subscribers] == [(first.id, JUNE_1)]
    assert rest.next_page_token == ""

    cheaper = await dry_run(use_cases, amount_minor=900, existing_subscribers=pb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL)
    assert [from_timestamp(s.first_renewal_time) for s in cheaper.subscribers] == [MAY_1, T0 + timedelta(days=55)]
    kept = await dry_run(use_cases, amount_minor=1300, effective_time=timestamp(MAY_1))  # grandfathered
    assert (kept.affected_count, kept.unaffected_count) == (0, 3)
    on_telecom = await dry_run(use_cases, **rise, channel=channel_pb2.CHANNEL_TELECOM)
    assert (on_telecom.affected_count, on_telecom.unaffected_count) == (0, 3)


async def test_the_impact_report_counts_each_cohort_and_its_revenue_before_and_after(use_cases: UseCases) -> None:
    use_cases.catalog.notice_days, use_cases.catalog.consent_required = 10, True
    accepts, refuses, silent, leaves = [await use_cases.subscribe("basic") for _ in range(4)]  # cohort 2025-04
    use_cases.clock.set(MAY_1 - timedelta(days=12))
    late = await use_cases.subscribe("basic")  # also 2025-04, renews 2025-05-19
    use_cases.catalog.renewal_price["basic"], use_cases.catalog.price_since = 1500, MAY_1 - timedelta(days=11)
    use_cases.clock.set(MAY_1 - timedelta(days=10))
    await use_cases.scheduler.sweep()  # the four renewing MAY_1 are told
    consent = pb.ConsentToPriceChangeRequest(request_id="yes", subscription_id=accepts.id)
    await use_cases.call(use_cases.servicer.ConsentToPriceChange, consent)
    decline = pb.DeclinePriceChangeRequest(request_id="no", subscription_id=refuses.id)
    await use_cases.call(use_cases.servicer.DeclinePriceChange, decline)
    cancel = pb.CancelSubscriptionRequest(request_id="bye", subscription_id=leaves.id, mode=pb.CANCEL_MODE_IMMEDIATE)
    await use_cases.call(use_cases.servicer.CancelSubscription, cancel)
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.stored(silent).state is S.EXPIRED
    assert late.current_period_end > MAY_1  # told on 2025-05-09, not answered yet

    use_cases.clock.set(late.current_period_end - timedelta(days=10))
    await use_cases.scheduler.sweep()
    report = await use_cases.call(use_cases.servicer.GetPriceChangeImpact, pb.GetPriceChangeImpactRequest())
    (cohort,) = report.cohorts
    assert (cohort.storefront_id, cohort.plan_id, cohort.cohort) == ("us", "basic", "2025-04")
    assert from_timestamp(cohort.price_effective_time) == MAY_1 - timedelta(days=11)
    counts = (
        cohort.subscriber_count,
        cohort.consented_count,
        cohort.declined_count,
        cohort.renewed_count,
        cohort.churned_count,
    )
    assert counts == (5, 1, 2, 1, 1)
    # before: five at $10; after: the one renewed at $15 and the late one still to answer, at $15
    assert (cohort.revenue_before.amount_minor, cohort.revenue_after.amount_minor) == (5000, 3000)
