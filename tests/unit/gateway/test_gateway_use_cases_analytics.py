"""AnalyticsService over fakes: events become the revenue stream, the reports add it up by day, month and
currency, every figure drills down to its events, a rebuild gives the same figures, and only the right roles read."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.gateway.v1 import analytics_pb2 as an
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import events_pb2 as payments_events
from azotte.payments.v1 import payments_pb2 as pay
from azotte.promotions.v1 import events_pb2 as promotions_events
from azotte.promotions.v1 import promotions_pb2 as promotions
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import RolePermissionMissing
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.tax import TaxMode, TaxPolicy
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller
from tests.unit.gateway.revenue_fakes import FixedTerms

JAN = datetime(2026, 1, 1, tzinfo=UTC)
State = subscription_state_pb2.SubscriptionState


class Shop:
    """Publishes a tenant's events into the projection the way the consumers do, and keeps them for replays."""

    def __init__(self) -> None:
        self.suite = FakeSuite()
        self.suite.revenue_terms = FixedTerms(
            taxes={"de": TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"))}, yearly=("annual",)
        )
        self.gateway: Gateway = self.suite.gateway()

    async def publish(self, producer: str, event_type: str, payload: Message, at: datetime, about: str = "") -> None:
        event = ReceivedEvent(
            id=uuid.uuid4().hex,
            type=event_type,
            source=f"azotte/{producer}",
            tenant_id=TENANT.id,
            time=at,
            subject="",
            data_schema="",
            data=payload.SerializeToString(),
            headers={"ce-subject": about},
        )
        self.suite.history.published.append((producer, event))
        async with self.suite.uow() as uow:
            await self.gateway.analytics.projection.apply(uow, event)
            await uow.commit()

    async def subscription(
        self, event_type: str, sub: str, state: State.ValueType, at: datetime, **fields: Any
    ) -> None:
        price = fields.pop("price", 999)
        storefront = fields.pop("storefront", "us")
        currency = "EUR" if storefront == "de" else "USD"
        subscription = lc.Subscription(
            id=sub,
            customer_id=fields.pop("customer", f"c-{sub}"),
            plan_id=fields.pop("plan", "basic"),
            storefront_id=storefront,
            channel=channel_pb2.CHANNEL_WEB,
            state=state,
            renewal_price=Money(currency_code=currency, amount_minor=price),
        )
        payload = lifecycle_events.SubscriptionEvent(subscription=subscription, cause="test")
        payload.occur_time.FromDatetime(at)
        await self.publish("lifecycle", event_type, payload, at)

    async def charge(self, sub: str, period: str, at: datetime, *, ok: bool = True, amount: int = 999) -> None:
        charge = pay.Charge(
            id=f"ch-{uuid.uuid4().hex[:8]}",
            customer_id=f"c-{sub}",
            subscription_id=sub,
            period_key=period,
            storefront_id="us",
            plan_id="basic",
            psp="stripe_like",
            gross=Money(currency_code="USD", amount_minor=amount),
            net=Money(currency_code="USD", amount_minor=amount),
            tax=Money(currency_code="USD", amount_minor=0),
            discount=Money(currency_code="USD", amount_minor=0),
        )
        if ok:
            await self.publish("payments", "payment.succeeded", payments_events.PaymentSucceeded(charge=charge), at)
        else:
            decline = pay.Decline(reason="INSUFFICIENT_FUNDS")
            await self.publish(
                "payments", "payment.failed", payments_events.PaymentFailed(charge=charge, decline=decline), at
            )

    async def call(self, method: str, request: Message, role: Role = Role.ADMIN) -> Any:
        with tenant_scope(TENANT.id):
            return await getattr(self.gateway.analytics, method)(caller(role), request)


def window(message: Message, start: datetime, end: datetime) -> Any:
    message.start_time.FromDatetime(start)  # type: ignore[attr-defined]
    message.end_time.FromDatetime(end)  # type: ignore[attr-defined]
    return message


@pytest.fixture
async def shop() -> Shop:
    """Jan 1: s1 (9.99) and s2 (annual 119.88 -> 9.99 a month); Jan 10: s3 in Germany (11.90 incl. VAT -> 10.00);
    Jan 15: s1 upgrades to 19.99; Feb 1: s2's renewal fails, grace ends Feb 4 (churn); Feb 20: s3 expires."""
    s = Shop()
    await s.subscription("subscription.created", "s1", State.SUBSCRIPTION_STATE_ACTIVE, JAN)
    await s.charge("s1", "p1", JAN)
    await s.subscription("subscription.created", "s2", State.SUBSCRIPTION_STATE_ACTIVE, JAN, plan="annual", price=11988)
    await s.subscription(
        "subscription.created",
        "s3",
        State.SUBSCRIPTION_STATE_ACTIVE,
        JAN + timedelta(days=9),
        storefront="de",
        price=1190,
    )
    await s.subscription(
        "subscription.plan_changed", "s1", State.SUBSCRIPTION_STATE_ACTIVE, JAN + timedelta(days=14), price=1999
    )
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    await s.charge("s2", "p2", feb, ok=False)
    await s.subscription(
        "subscription.renewal_failed", "s2", State.SUBSCRIPTION_STATE_PAST_DUE, feb, plan="annual", price=11988
    )
    await s.charge("s2", "p2", feb + timedelta(days=1), ok=False)
    await s.subscription(
        "subscription.on_hold", "s2", State.SUBSCRIPTION_STATE_ON_HOLD, feb + timedelta(days=3), plan="annual"
    )
    await s.subscription(
        "subscription.expired", "s3", State.SUBSCRIPTION_STATE_EXPIRED, feb + timedelta(days=19), storefront="de"
    )
    await s.call(
        "set_exchange_rate",
        an.SetExchangeRateRequest(
            request_id="r1", currency_code="EUR", reporting_currency="USD", rate="1.10", effective_date="2025-12-01"
        ),
    )
    return s


async def test_mrr_by_month_with_its_movements_in_a_reporting_currency(shop: Shop) -> None:
    request = window(an.GetMrrReportRequest(reporting_currency="USD"), JAN, datetime(2026, 3, 1, tzinfo=UTC))
    report = await shop.call("get_mrr_report", request)
    january, february = report.points
    # s1 999 -> 1,999 (expansion 1,000), s2 999 (annual / 12), s3 1,000 EUR net of VAT = 1,100 USD.
    assert (january.mrr_minor, january.movements.new_minor, january.movements.expansion_minor) == (4098, 3098, 1000)
    assert (january.active_subscriptions, january.paying_customers) == (3, 3)
    # s2 churns at the end of grace (999), s3 expires (1,100).
    assert (february.mrr_minor, february.movements.churn_minor, february.active_subscriptions) == (1999, -2099, 1)


async def test_a_window_starting_inside_a_day_counts_only_what_came_after_its_start(shop: Shop) -> None:
    later = JAN + timedelta(days=9, hours=1)  # s3 started at midnight of that day
    request = window(an.GetMrrReportRequest(), later, later + timedelta(days=2))
    request.slice.currency_code = "USD"
    report = await shop.call("get_mrr_report", request)
    assert report.starting_mrr_minor == 1998 and report.points[-1].mrr_minor == 1998  # s1 and s2 only


async def test_several_currencies_need_a_reporting_currency_with_a_rate_for_each_day(shop: Shop) -> None:
    request = window(an.GetMrrReportRequest(), JAN, datetime(2026, 2, 1, tzinfo=UTC))
    with pytest.raises(InvalidArgument, match="EUR, USD") as missing_currency:
        await shop.call("get_mrr_report", request)
    assert missing_currency.value.violations[0].field == "reporting_currency"
    request.reporting_currency = "GBP"
    with pytest.raises(InvalidArgument, match="no exchange rate from USD to GBP on 2026-01-31"):
        await shop.call("get_mrr_report", request)


async def test_churn_payments_and_dunning(shop: Shop) -> None:
    churn = an.GetChurnReportRequest(reporting_currency="USD", window_days=30)
    churn.time.FromDatetime(datetime(2026, 2, 25, tzinfo=UTC))
    report = await shop.call("get_churn_report", churn)
    assert (report.customers_at_start, report.customers_lost, report.customer_churn_rate) == (3, 2, "0.6667")
    assert (report.mrr_at_start_minor, report.gross_mrr_churn_rate) == (4098, "0.5122")  # 2,099 / 4,098

    payments = await shop.call(
        "get_payment_report", window(an.GetPaymentReportRequest(), JAN, datetime(2026, 3, 1, tzinfo=UTC))
    )
    # Two series: s1's first period (paid at once) and s2's February renewal (declined twice).
    assert (payments.charge_series, payments.first_attempt_succeeded, payments.succeeded_after_retries) == (2, 1, 1)
    assert (payments.dunning_started, payments.dunning_recovered, payments.dunning_recovery_rate) == (1, 0, "0.0000")
    assert [(d.reason, d.psp, d.count) for d in payments.declines] == [("INSUFFICIENT_FUNDS", "stripe_like", 2)]


async def test_the_events_behind_a_figure_and_a_rebuild_that_gives_the_same_figures(shop: Shop) -> None:
    churned = await shop.call("list_revenue_events", an.ListRevenueEventsRequest(filter="movement = churn"))
    assert sorted((e.subscription_id, e.mrr_delta_minor) for e in churned.events) == [("s2", -999), ("s3", -1000)]
    paged = await shop.call("list_revenue_events", an.ListRevenueEventsRequest(page_size=3))
    rest = await shop.call(
        "list_revenue_events", an.ListRevenueEventsRequest(page_size=100, page_token=paged.next_page_token)
    )
    assert len(paged.events) + len(rest.events) == 10 and not rest.next_page_token

    request = window(an.GetMrrReportRequest(reporting_currency="USD"), JAN, datetime(2026, 3, 1, tzinfo=UTC))
    before = await shop.call("get_mrr_report", request)
    rebuilt = await shop.call("rebuild_analytics", an.RebuildAnalyticsRequest(request_id="rebuild-1"))
    assert (rebuilt.events_replayed, rebuilt.entries_recorded) == (10, 10)
    assert await shop.call("get_mrr_report", request) == before


async def test_who_may_read_what(shop: Shop) -> None:
    request = window(an.GetMrrReportRequest(reporting_currency="USD"), JAN, datetime(2026, 2, 1, tzinfo=UTC))
    assert (await shop.call("get_mrr_report", request, Role.VIEWER)).points
    with pytest.raises(RolePermissionMissing):
        await shop.call("get_mrr_report", request, Role.PUBLISHABLE)
    revenue = window(an.GetRevenueSummaryRequest(), JAN, datetime(2026, 2, 1, tzinfo=UTC))
    with pytest.raises(RolePermissionMissing):
        await shop.call("get_revenue_summary", revenue, Role.MANAGER)
    with pytest.raises(RolePermissionMissing):
        await shop.call("rebuild_analytics", an.RebuildAnalyticsRequest(request_id="x"), Role.MANAGER)


@pytest.mark.parametrize(
    ("request_message", "field"),
    [
        (an.GetMrrReportRequest(), "start_time"),
        (window(an.GetMrrReportRequest(), JAN, JAN), "end_time"),
        (window(an.GetMrrReportRequest(), JAN, JAN + timedelta(days=3 * 366 + 1)), "end_time"),
        (window(an.GetMrrReportRequest(), datetime(1960, 1, 1, tzinfo=UTC), JAN), "start_time"),
        (window(an.GetMrrReportRequest(reporting_currency="usd"), JAN, JAN + timedelta(days=1)), "reporting_currency"),
        (an.GetChurnReportRequest(window_days=400), "window_days"),
        (an.GetMrrReportRequest(slice=an.AnalyticsSlice(channel=520)), "slice.channel"),  # type: ignore[arg-type]
        (an.GetMrrReportRequest(start_time=Timestamp(seconds=1, nanos=2**31 - 1)), "start_time"),
        (an.GetMrrReportRequest(start_time=Timestamp(seconds=0), end_time=Timestamp(seconds=-(2**62))), "end_time"),
        (an.SetExchangeRateRequest(request_id="r", currency_code="EUR", reporting_currency="USD", rate="x"), "rate"),
        (
            an.SetExchangeRateRequest(
                request_id="r", currency_code="EUR", reporting_currency="USD", rate="1", effective_date="2026-13-01"
            ),
            "effective_date",
        ),
        (an.ListRevenueEventsRequest(filter="occur_time >= yesterday"), "filter"),
    ],
)
async def test_bad_input_names_its_field(shop: Shop, request_message: Message, field: str) -> None:
    method = {
        "GetMrrReportRequest": "get_mrr_report",
        "GetChurnReportRequest": "get_churn_report",
        "SetExchangeRateRequest": "set_exchange_rate",
        "ListRevenueEventsRequest": "list_revenue_events",
    }[request_message.DESCRIPTOR.name]
    with pytest.raises(InvalidArgument) as refused:
        await shop.call(method, request_message)
    assert refused.value.violations[0].field == field


async def test_rates_are_listed_per_reporting_currency(shop: Shop) -> None:
    listed = await shop.call("list_exchange_rates", an.ListExchangeRatesRequest(reporting_currency="USD"))
    assert [(r.currency_code, r.rate, r.effective_date) for r in listed.rates] == [("EUR", "1.10", "2025-12-01")]
    assert date.fromisoformat(listed.rates[0].effective_date) < JAN.date()


async def offer(s: Shop, customer: str, promotion: str, at: datetime) -> None:
    issued = promotions_events.CampaignOfferIssued(
        offer=promotions.CampaignOffer(
            id=uuid.uuid4().hex, campaign_id="winback", customer_id=customer, promotion_id=promotion, storefront_id="us"
        )
    )
    issued.offer.issue_time.FromDatetime(at)
    await s.publish("promotions", "campaign.offer_issued", issued, at, about=customer)


async def redeem(s: Shop, customer: str, promotion: str, at: datetime) -> None:
    usd = "USD"
    redeemed = promotions_events.PromotionRedeemed(
        promotion_id=promotion,
        customer_id=customer,
        storefront_id="us",
        gross=Money(currency_code=usd, amount_minor=999),
        discount=Money(currency_code=usd, amount_minor=500),
        net=Money(currency_code=usd, amount_minor=499),
    )
    redeemed.redeem_time.FromDatetime(at)
    await s.publish("promotions", "promotion.redeemed", redeemed, at, about=customer)


async def test_a_campaign_converts_the_offers_its_customers_redeemed_after_receiving_them() -> None:
    s = Shop()
    await redeem(s, "c-early", "half-off", JAN)
    for customer in ("c-a", "c-b", "c-early"):
        await offer(s, customer, "half-off", JAN + timedelta(days=1))
    await redeem(s, "c-a", "half-off", JAN + timedelta(days=2))
    await redeem(s, "c-b", "other", JAN + timedelta(days=2))
    await redeem(s, "c-nobody-offered", "half-off", JAN + timedelta(days=2))

    report = await s.call("get_campaign_report", window(an.GetCampaignReportRequest(), JAN, JAN + timedelta(days=31)))

    assert [
        (c.campaign_id, c.promotion_id, c.offers_issued, c.offers_redeemed, c.conversion_rate)
        for c in report.conversions
    ] == [("winback", "half-off", 3, 1, "0.3333")]
    assert [(r.promotion_id, r.redemptions) for r in report.rows] == [("half-off", 3), ("other", 1)]


async def assign(s: Shop, customer: str, variant: str, at: datetime) -> None:
    assigned = promotions_events.ExperimentAssigned(
        experiment_id="paywall", customer_id=customer, variant=promotions.ExperimentVariant(id=variant)
    )
    assigned.assign_time.FromDatetime(at)
    await s.publish("promotions", "experiment.assigned", assigned, at, about=customer)


async def test_an_experiment_shows_each_variants_conversion_and_revenue_since_assignment() -> None:
    s = Shop()
    await s.charge("b", "before", JAN - timedelta(days=1), amount=5_000)  # before the experiment: not counted
    await assign(s, "c-a", "control", JAN)
    await assign(s, "c-b", "discount", JAN)
    await assign(s, "c-c", "discount", JAN)
    await s.subscription("subscription.created", "a", State.SUBSCRIPTION_STATE_ACTIVE, JAN + timedelta(days=1))
    await s.charge("a", "2026-01", JAN + timedelta(days=1), amount=999)
    await s.subscription("subscription.created", "b", State.SUBSCRIPTION_STATE_ACTIVE, JAN + timedelta(days=1))
    await s.charge("b", "2026-01", JAN + timedelta(days=1), amount=499)
    await s.charge("b", "2026-02", JAN + timedelta(days=40), amount=499)  # after the window: not counted

    report = await s.call(
        "get_experiment_report",
        window(an.GetExperimentReportRequest(experiment_id="paywall"), JAN, JAN + timedelta(days=31)),
    )

    assert [
        (
            v.variant_id,
            v.assigned,
            v.converted,
            v.conversion_rate,
            [(m.amount_minor, m.currency_code) for m in v.revenue],
            [m.amount_minor for m in v.revenue_per_customer],
        )
        for v in report.variants
    ] == [
        ("control", 1, 1, "1.0000", [(999, "USD")], [999]),
        ("discount", 2, 1, "0.5000", [(499, "USD")], [250]),
    ]
    drill = await s.call("list_revenue_events", an.ListRevenueEventsRequest(filter="variant_id = discount"))
    assert sorted(e.customer_id for e in drill.events) == ["c-b", "c-c"]
    with pytest.raises(InvalidArgument) as refused:
        await s.call("get_experiment_report", window(an.GetExperimentReportRequest(), JAN, JAN + timedelta(days=1)))
    assert refused.value.violations[0].field == "experiment_id"
    with pytest.raises(RolePermissionMissing):
        await s.call(
            "get_experiment_report",
            window(an.GetExperimentReportRequest(experiment_id="paywall"), JAN, JAN + timedelta(days=1)),
            Role.PUBLISHABLE,
        )


async def test_a_store_billed_sale_counts_its_gross_and_the_commission_the_store_kept() -> None:
    s = Shop()
    usd = "USD"
    sale = payments_events.RevenueRecorded(
        entry_id="e1",
        kind="store_sale",
        source_id="apple-tx-1",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_APP_STORE,
        plan_id="basic",
        net_revenue=Money(currency_code=usd, amount_minor=999),
        tax=Money(currency_code=usd, amount_minor=0),
        gross=Money(currency_code=usd, amount_minor=999),
        store_commission=Money(currency_code=usd, amount_minor=150),
    )
    await s.publish("payments", "revenue.recorded", sale, JAN + timedelta(days=3))
    await s.charge("web", "2026-01", JAN + timedelta(days=4), amount=500)

    summary = await s.call("get_revenue_summary", window(an.GetRevenueSummaryRequest(), JAN, JAN + timedelta(days=31)))

    total = summary.total
    assert (total.gross_minor, total.net_minor, total.store_commission_minor, total.proceeds_minor) == (
        1499,
        999,  # the ledger's net: the charge's own revenue.recorded is not part of this script
        150,
        849,
    )
    app_store = await s.call(
        "get_revenue_summary",
        window(
            an.GetRevenueSummaryRequest(slice=an.AnalyticsSlice(channel=channel_pb2.CHANNEL_APP_STORE)),
            JAN,
            JAN + timedelta(days=31),
        ),
    )
    assert (app_store.total.gross_minor, app_store.total.store_commission_minor) == (999, 150)
    timeline = await s.call("list_revenue_events", an.ListRevenueEventsRequest(filter="channel = APP_STORE"))
    assert [(e.type, e.store_commission_minor) for e in timeline.events] == [("revenue.recorded", 150)]


def usage_line(kind: str, meter: str, quantity: str, amount: int) -> pay.ChargeLine:
    return pay.ChargeLine(
        kind=pay.ChargeLineKind.Value(f"CHARGE_LINE_KIND_{kind.upper()}"),
        meter_key=meter,
        quantity=quantity,
        amount=Money(currency_code="USD", amount_minor=amount),
    )


async def test_usage_billed_in_arrears_is_reported_per_meter_beside_its_consumption() -> None:
    s = Shop()
    renewal = pay.Charge(
        id="ch-usage",
        customer_id="c-ai",
        subscription_id="ai",
        storefront_id="us",
        plan_id="pro",
        gross=Money(currency_code="USD", amount_minor=4_650),
        net=Money(currency_code="USD", amount_minor=4_650),
        lines=[
            usage_line("recurring", "", "", 2_000),
            usage_line("usage", "tokens", "1500000", 3_000),
            usage_line("usage", "tokens", "250000", 500),  # a second dimension of the same meter
            usage_line("usage_credit", "tokens", "", -1_000),
            usage_line("usage_adjustment", "images", "3", 150),
        ],
    )
    await s.publish("payments", "payment.succeeded", payments_events.PaymentSucceeded(charge=renewal), JAN)
    failed = pay.Charge(id="ch-failed", customer_id="c-ai", subscription_id="ai", lines=[renewal.lines[1]])
    await s.publish(
        "payments", "payment.failed", payments_events.PaymentFailed(charge=failed, decline=pay.Decline()), JAN
    )

    report = await s.call(
        "get_usage_revenue_report", window(an.GetUsageRevenueReportRequest(), JAN, JAN + timedelta(1))
    )

    assert [
        (r.meter_key, r.currency, r.quantity, r.billed_minor, r.credit_minor, r.charged_minor, r.billed_per_unit_minor)
        for r in report.rows
    ] == [
        ("images", "USD", "3", 150, 0, 150, "50.000000"),
        ("tokens", "USD", "1750000", 3_500, -1_000, 2_500, "0.002000"),
    ]
    later = await s.call(
        "get_usage_revenue_report", window(an.GetUsageRevenueReportRequest(), JAN + timedelta(1), JAN + timedelta(2))
    )
    assert not later.rows


async def test_a_promotion_running_out_is_in_its_timeline_without_counting_as_a_discount() -> None:
    s = Shop()
    await redeem(s, "c-last", "launch", JAN)
    await s.publish(
        "promotions",
        "promotion.exhausted",
        promotions_events.PromotionExhausted(promotion_id="launch", max_redemptions=1, confirmed_count=1),
        JAN + timedelta(minutes=1),
    )
    spent = promotions_events.PromotionBudgetExhausted(
        promotion_id="launch",
        budget=Money(currency_code="USD", amount_minor=500),
        confirmed_discount=Money(currency_code="USD", amount_minor=500),
    )
    await s.publish("promotions", "promotion.budget_exhausted", spent, JAN + timedelta(minutes=2))

    timeline = await s.call("list_revenue_events", an.ListRevenueEventsRequest(filter="promotion_id = launch"))
    assert [e.type for e in timeline.events] == [
        "promotion.redeemed",
        "promotion.exhausted",
        "promotion.budget_exhausted",
    ]
    report = await s.call("get_campaign_report", window(an.GetCampaignReportRequest(), JAN, JAN + timedelta(days=1)))
    assert [(r.promotion_id, r.redemptions, r.discount_minor) for r in report.rows] == [("launch", 1, 500)]


async def test_a_trial_blocked_by_eligibility_is_in_the_customers_timeline() -> None:
    s = Shop()
    blocked = promotions_events.TrialBlocked(
        customer_id="c-again",
        plan_id="premium",
        product_line="video",
        match_kind=promotions.TRIAL_MATCH_KIND_PAYMENT_METHOD,
        trial_plan_id="standard",
        request_id="checkout-1",
    )
    await s.publish("promotions", "trial.blocked", blocked, JAN, about="c-again")

    timeline = await s.call("list_revenue_events", an.ListRevenueEventsRequest(filter="customer_id = c-again"))

    assert [(e.type, e.plan_id, e.cause) for e in timeline.events] == [("trial.blocked", "premium", "payment_method")]


async def test_credit_a_charge_used_is_in_its_timeline() -> None:
    s = Shop()
    usd = "USD"
    charge = pay.Charge(
        id="ch-credit",
        customer_id="c-credit",
        subscription_id="credit",
        storefront_id="us",
        gross=Money(currency_code=usd, amount_minor=999),
        net=Money(currency_code=usd, amount_minor=999),
        credit_applied=Money(currency_code=usd, amount_minor=300),
    )
    await s.publish("payments", "payment.succeeded", payments_events.PaymentSucceeded(charge=charge), JAN)

    timeline = await s.call("list_revenue_events", an.ListRevenueEventsRequest(filter="customer_id = c-credit"))

    assert [(e.type, e.gross_minor, e.credit_applied_minor) for e in timeline.events] == [
        ("payment.succeeded", 999, 300)
    ]
