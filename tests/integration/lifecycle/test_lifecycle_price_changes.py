"""Price changes shown the way renewals charge them, on PostgreSQL and a real catalog replica under time travel:
a channel's own price on renewal and in the subscription's outlook, the upcoming charge (tax included) equal to
the renewal's actual charge, the plan-change preview's next renewal price, a dry run, and the impact report."""

from __future__ import annotations

from datetime import timedelta

from azotte.catalog.v1 import catalog_pb2 as cpb
from azotte.common.v1 import subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_platform.convert import from_timestamp, timestamp
from tests.integration.catalog.catalog_support import TenantStub, premium_plan, us_storefront
from tests.integration.lifecycle.conftest import T0, Service
from tests.integration.lifecycle.test_lifecycle_renewal_prices import (
    TELECOM,
    WEB,
    charged,
    priced,
    schedule,
    subscribe,
)
from tests.integration.lifecycle.test_lifecycle_year import get, rid, travel

__all__ = ["priced"]  # the fixture: lifecycle pricing through a real catalog replica

RISE = cpb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL
State = pb.PriceChangeState
FEB_1, MAR_1 = T0.replace(month=2), T0.replace(month=3)


async def seed(catalog: TenantStub, *, notice_days: int = 0, consent: bool = False) -> None:
    """Storefront "us" (8.25 % added on top of prices) on web and telecom; monthly plans premium ($10) and basic
    ($10 on web, $8 on telecom)."""
    storefront = us_storefront(
        channels=[WEB, TELECOM],
        tax_policy=cpb.TaxPolicy(mode=cpb.TAX_MODE_EXCLUSIVE, rate="0.0825"),
        price_increase_notice_days=notice_days,
        price_increase_consent_required=consent,
    )
    await catalog.CreateStorefront(cpb.CreateStorefrontRequest(storefront=storefront, request_id=rid()))
    feature = cpb.Feature(key="hd_streaming", display_name="HD", kind=cpb.FEATURE_KIND_BOOLEAN)
    await catalog.CreateFeature(cpb.CreateFeatureRequest(feature=feature, request_id=rid()))
    for plan in (premium_plan(), premium_plan(id="basic", display_name="Basic", family="music", rank=10)):
        await catalog.CreatePlan(cpb.CreatePlanRequest(plan=plan, request_id=rid()))
        await catalog.ActivatePlan(cpb.ActivatePlanRequest(id=plan.id, request_id=rid()))
    for plan_id, channel, amount in (("premium", None, 1000), ("basic", None, 1000), ("basic", TELECOM, 800)):
        await schedule(catalog, plan_id, amount, channel=channel)


async def test_a_channel_override_reaches_the_renewal_on_that_channel_and_the_subscription_shows_it(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog)
    web, carrier = await subscribe(svc, "basic"), await subscribe(svc, "basic", TELECOM)
    await schedule(catalog, "basic", 900, channel=TELECOM, after=timedelta(days=5), existing=RISE, now=svc.clock)
    await travel(svc, timedelta(days=6))
    shown = {s: (await get(svc, s)).price_outlook for s in (web, carrier)}
    assert [(o.state, o.current_price.amount_minor, o.next_price.amount_minor) for o in shown.values()] == [
        (State.PRICE_CHANGE_STATE_NONE, 1000, 1000),
        (State.PRICE_CHANGE_STATE_SCHEDULED, 800, 900),  # no notice period: the carrier's own rise applies
    ]
    await travel(svc, timedelta(days=26))  # 2025-02-02
    assert [charged(svc, web, 2), charged(svc, carrier, 2)] == [1000, 900]


async def test_the_upcoming_charge_is_the_renewal_charge_after_time_travel(priced: tuple[Service, TenantStub]) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=10)
    sub = await subscribe(svc, "premium")
    await schedule(catalog, "premium", 1500, after=timedelta(days=5), existing=RISE, now=svc.clock)
    await travel(svc, timedelta(days=21))  # 2025-01-22: told 10 days before February's renewal
    upcoming = await svc.stub.GetUpcomingCharge(pb.GetUpcomingChargeRequest(subscription_id=sub), metadata=svc.metadata)
    assert from_timestamp(upcoming.charge_time) == FEB_1
    # 1500 + 8.25 % = 1500 + 123.75, rounded half up
    assert (upcoming.amount.amount_minor, upcoming.tax.amount_minor, upcoming.gross.amount_minor) == (1500, 124, 1624)
    assert (upcoming.discount.amount_minor, upcoming.price_change_state) == (0, State.PRICE_CHANGE_STATE_NOTICE_GIVEN)
    await travel(svc, timedelta(days=11))  # 2025-02-02
    assert charged(svc, sub, 2) == upcoming.amount.amount_minor


async def test_the_plan_change_preview_shows_the_price_the_next_renewal_charges(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=10)
    sub = await subscribe(svc, "basic")
    await schedule(catalog, "premium", 1200, after=timedelta(days=20), existing=RISE, now=svc.clock)
    await travel(svc, timedelta(days=5))  # 2025-01-06: premium costs 1000 now, 1200 from 2025-01-21
    request = pb.PreviewPlanChangeRequest(
        subscription_id=sub, plan_id="premium", timing=pb.PLAN_CHANGE_TIMING_IMMEDIATE
    )
    preview = (await svc.stub.PreviewPlanChange(request, metadata=svc.metadata)).plan_change
    assert preview.next_renewal_price.amount_minor == 1200  # told on 2025-01-22, ten days before FEB_1
    change = pb.ChangeSubscriptionPlanRequest(
        request_id=rid(), subscription_id=sub, plan_id="premium", timing=pb.PLAN_CHANGE_TIMING_IMMEDIATE
    )
    await svc.stub.ChangeSubscriptionPlan(change, metadata=svc.metadata)
    await travel(svc, timedelta(days=16))  # 2025-01-22: the notice of FEB_1's price
    await travel(svc, timedelta(days=11))  # 2025-02-02
    assert charged(svc, sub, 2) == preview.next_renewal_price.amount_minor


async def test_a_dry_run_on_the_stored_subscriptions_names_each_first_renewal(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=30)
    first = await subscribe(svc, "premium")  # 2025-01-01
    await travel(svc, timedelta(days=14))
    second = await subscribe(svc, "premium")  # 2025-01-15
    await subscribe(svc, "basic")
    request = pb.ListPriceChangeSubscribersRequest(
        storefront_id="us",
        plan_id="premium",
        amount_minor=1250,
        effective_time=timestamp(T0 + timedelta(days=20)),
        existing_subscribers=pb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
    )
    answer = await svc.stub.ListPriceChangeSubscribers(request, metadata=svc.metadata)
    # 30 days' notice from 2025-01-15: the first renewals on or after 2025-02-14
    assert [(s.subscription_id, from_timestamp(s.first_renewal_time)) for s in answer.subscribers] == [
        (second, T0.replace(month=2, day=15)),
        (first, MAR_1),
    ]
    assert (answer.affected_count, answer.unaffected_count, answer.notice_days) == (2, 0, 30)
    assert (answer.revenue_before.amount_minor, answer.revenue_after.amount_minor) == (2000, 2500)


async def test_the_impact_report_counts_consent_refusal_renewals_and_churn_per_cohort(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=10, consent=True)
    accepts, refuses, silent = [await subscribe(svc, "premium") for _ in range(3)]  # cohort 2025-01
    await travel(svc, timedelta(days=21))  # 2025-01-22: February's renewal checked for a notice, none
    await travel(svc, timedelta(days=11))  # 2025-02-02: renewed at 1000
    february = await subscribe(svc, "premium")  # cohort 2025-02, renews on the 2nd
    await schedule(catalog, "premium", 1500, after=timedelta(days=3), existing=RISE, now=svc.clock)
    await travel(svc, timedelta(days=17))  # 2025-02-19: the three renewing on MAR_1 are told
    await travel(svc, timedelta(days=1))  # 2025-02-20: february, renewing 03-02, is told
    for sub, rpc in ((accepts, svc.stub.ConsentToPriceChange), (february, svc.stub.ConsentToPriceChange)):
        await rpc(pb.ConsentToPriceChangeRequest(request_id=rid(), subscription_id=sub), metadata=svc.metadata)
    await svc.stub.DeclinePriceChange(
        pb.DeclinePriceChangeRequest(request_id=rid(), subscription_id=refuses), metadata=svc.metadata
    )
    await travel(svc, timedelta(days=11))  # 2025-03-03: every renewal of the rise has run
    assert [charged(svc, accepts, 3), charged(svc, february, 2)] == [1500, 1500]
    report = await svc.stub.GetPriceChangeImpact(
        pb.GetPriceChangeImpactRequest(plan_id="premium"), metadata=svc.metadata
    )
    rows = [
        (
            c.cohort,
            c.subscriber_count,
            c.consented_count,
            c.declined_count,
            c.renewed_count,
            c.churned_count,
            c.revenue_before.amount_minor,
            c.revenue_after.amount_minor,
        )
        for c in report.cohorts
    ]
    assert rows == [("2025-01", 3, 1, 2, 1, 0, 3000, 1500), ("2025-02", 1, 1, 0, 1, 0, 1000, 1500)]
    assert {from_timestamp(c.price_effective_time) for c in report.cohorts} == {T0.replace(month=2, day=5)}
    assert (await get(svc, silent)).state == subscription_state_pb2.SUBSCRIPTION_STATE_EXPIRED
