"""A scripted quarter on the sandbox clock, and every analytics figure checked against numbers worked out by hand.

The tenant sells the OTT example catalog in the US (USD, no tax) and Germany (EUR, 19 % VAT included); EUR is
reported in USD at 1.10. Day 0: seven checkouts — A, F, G and P on basic (6.99; P with a 50 % first-period code), B on
the German basic (5.99 EUR incl. VAT -> 5.03 net -> MRR 5.53 USD), C on premium annual (179.00 -> 14.92 a month), E on
basic then at once on premium (17.99) — and D starts standard's 7-day trial; A gets 2.00 back; B cancels at period
end. Day 7: D converts (11.99). A month in (day R): the monthly renewals; F's and G's cards decline; B expires. R + 1:
F's new card recovers it. R + 3: G's grace ends (churn). G keeps declining on its retries (R + 5, R + 7); D renews.
Basic's usage is priced at 1 cent a token: A uses 250 tokens in its first month, billed with its renewal (usage
revenue, never MRR).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import analytics_pb2 as an
from azotte.gateway.v1 import analytics_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_usage_billing import report
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(600)


def rid() -> str:
    return uuid.uuid4().hex


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def now_of(shop: TenantApi) -> datetime:
    clock = await shop.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 0})
    return instant(clock["now"])


async def advance_to(shop: TenantApi, moment: datetime) -> None:
    await shop.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_to": moment.isoformat()})


async def subscription(shop: TenantApi, subscription_id: str) -> Any:
    return (await shop.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]


async def card(shop: TenantApi, customer: str, token: str) -> None:
    body = {"request_id": rid(), "payment_method_token": token}
    await shop.ok("POST", f"/v1/customers/{customer}/payment-methods", json=body)


async def subscribe(shop: TenantApi, plan: str, *, storefront: str = "us", code: str | None = None) -> tuple[str, str]:
    customer = await shop.customer("DE" if storefront == "de" else "US")
    body: dict[str, Any] = {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": storefront,
        "plan_id": plan,
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    if code is not None:
        body["promotion_code"] = code
    bought = await shop.ok("POST", "/v1/checkout", json=body)
    return customer, bought["subscription"]["id"]


async def half_off_code(shop: TenantApi) -> str:
    promotion = {
        "display_name": "Launch",
        "discount": {
            "kind": "DISCOUNT_KIND_PERCENT_OFF",
            "percent_basis_points": 5000,
            "duration": "DISCOUNT_DURATION_ONCE",
        },
        "targets": {"plan_ids": ["basic_monthly"]},
    }
    created = await shop.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion})
    promotion_id = created["promotion"]["id"]
    code = f"LAUNCH{uuid.uuid4().hex[:6].upper()}"
    await shop.ok("POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": rid(), "code": code})
    await shop.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()})
    return code


async def tokens_priced(shop: TenantApi, customer: str) -> str:
    """A SUM meter of tokens priced 1 cent each under basic in the US, once metering follows `customer`."""
    key = f"tokens.{uuid.uuid4().hex[:6]}"
    meter = {"key": key, "display_name": "tokens", "event_type": key, "value_path": "$.tokens"}
    await shop.ok(
        "POST", "/v1/meters", json={"request_id": rid(), "meter": {**meter, "aggregation": "AGGREGATION_SUM"}}
    )
    price = {"storefront_id": "us", "plan_id": "basic_monthly", "meter_key": key, "currency_code": "USD"}
    await shop.ok(
        "POST",
        "/v1/usage-prices",
        json={"request_id": rid(), "price": {**price, "model": "PER_UNIT", "unit_price": "1"}},
    )

    async def followed() -> bool:
        preview = await shop.ok("GET", f"/v1/customers/{customer}/upcoming-usage-charges")
        return bool(preview["subtotal"]["currency_code"] == "USD")

    await eventually(followed)
    return key


async def until_state(shop: TenantApi, subscription_id: str, state: str) -> None:
    async def reached() -> bool:
        return bool((await subscription(shop, subscription_id))["state"] == f"SUBSCRIPTION_STATE_{state}")

    await eventually(reached, within=30)


async def settled(read: Callable[[], Awaitable[Any]], check: Callable[[Any], bool]) -> Any:
    """The figure once the analytics consumers caught up with what the services published."""
    last: list[Any] = []

    async def ok() -> bool:
        last[:] = [await read()]
        return check(last[0])

    await eventually(ok, within=30)
    return last[0]


@pytest.fixture(scope="module")
async def quarter(suite: RunningSuite) -> dict[str, Any]:
    shop = await suite.new_tenant()
    start = await now_of(shop)
    await shop.ok(
        "POST",
        "/v1/exchange-rates",
        json={
            "request_id": rid(),
            "currency_code": "EUR",
            "reporting_currency": "USD",
            "rate": "1.10",
            "effective_date": (start - timedelta(days=1)).date().isoformat(),
        },
    )
    code = await half_off_code(shop)
    a, a_sub = await subscribe(shop, "basic_monthly")
    b, b_sub = await subscribe(shop, "basic_monthly", storefront="de")
    c, _ = await subscribe(shop, "premium_annual")
    d, d_sub = await subscribe(shop, "standard_monthly")
    e, e_sub = await subscribe(shop, "basic_monthly")
    await shop.ok(
        "POST",
        f"/v1/subscriptions/{e_sub}:change-plan",
        json={"request_id": rid(), "new_plan_id": "premium_monthly", "timing": "immediately"},
    )
    f, f_sub = await subscribe(shop, "basic_monthly")
    g, g_sub = await subscribe(shop, "basic_monthly")
    p, _ = await subscribe(shop, "basic_monthly", code=code)
    [a_charge] = (await shop.ok("GET", f"/v1/customers/{a}/charges"))["charges"]
    await shop.ok(
        "POST",
        f"/v1/charges/{a_charge['id']}:refund",
        json={"request_id": rid(), "amount": {"amount_minor": 200, "currency_code": "USD"}, "reason": "goodwill"},
    )
    await shop.ok("POST", f"/v1/subscriptions/{b_sub}:cancel", json={"request_id": rid()})
    meter_key = await tokens_priced(shop, a)
    await report(shop, a, meter_key, 200, 50)

    # Dates follow the calendar (a month is 28 to 31 days), so each step moves to the time it is about.
    trial_end = instant((await subscription(shop, d_sub))["trial_end_time"])
    await advance_to(shop, trial_end + timedelta(hours=1))
    await until_state(shop, d_sub, "ACTIVE")
    await card(shop, f, "tok_insufficient_funds")
    await card(shop, g, "tok_insufficient_funds")
    renewal = instant((await subscription(shop, a_sub))["current_period_end_time"])
    await advance_to(shop, renewal + timedelta(minutes=1))
    await until_state(shop, f_sub, "PAST_DUE")
    await until_state(shop, g_sub, "PAST_DUE")
    await until_state(shop, b_sub, "EXPIRED")
    await card(shop, f, "tok_success")
    await advance_to(shop, renewal + timedelta(days=1, minutes=1))
    await until_state(shop, f_sub, "ACTIVE")
    await advance_to(shop, renewal + timedelta(days=3, minutes=1))
    await until_state(shop, g_sub, "ON_HOLD")
    await advance_to(shop, renewal + timedelta(days=7, minutes=1))
    end = renewal + timedelta(days=8)
    customers = {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "P": p}
    return {
        "shop": shop,
        "start": start,
        "converted": trial_end + timedelta(hours=12),
        "end": end,
        "customers": customers,
        "e_sub": e_sub,
        "meter_key": meter_key,
    }


def at(points: list[Any], moment: datetime) -> Any:
    """The point of a series whose bucket holds `moment`."""
    [point] = [p for p in points if instant(p["start_time"]) <= moment < instant(p["end_time"])]
    return point


def window(q: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"start_time": q["start"].isoformat(), "end_time": q["end"].isoformat(), **extra}


async def mrr(q: dict[str, Any]) -> Any:
    shop: TenantApi = q["shop"]
    params = window(q, granularity="day", reporting_currency="USD")
    return await settled(
        lambda: shop.ok("GET", "/v1/analytics/mrr", params=params),
        lambda r: r["points"][-1]["mrr_minor"] == "6587",
    )


async def test_mrr_its_movements_and_the_counts_match_the_quarter_worked_out_by_hand(quarter: dict[str, Any]) -> None:
    report = await mrr(quarter)
    assert report["currency"] == "USD"
    assert report["starting_mrr_minor"] == "0"
    points = report["points"]
    day0, day7, last = at(points, quarter["start"] + timedelta(hours=1)), at(points, quarter["converted"]), points[-1]
    # A 699 + B 553 + C 1,492 + E 1,799 + F 699 + G 699 + P 699 (the code discounts the first period only).
    assert day0["mrr_minor"] == "6640"
    assert (day0["trials"], day0["active_subscriptions"], day0["paying_customers"]) == ("1", "7", "7")
    first_days = [p for p in points if instant(p["end_time"]) <= quarter["start"] + timedelta(days=6)]
    # Seven new (E's 699 before its upgrade among them), and E's upgrade: 699 -> 1,799.
    assert sum(int(p["movements"]["new_minor"]) for p in first_days) == 5540
    assert sum(int(p["movements"]["expansion_minor"]) for p in first_days) == 1100
    assert day7["mrr_minor"] == "7839"  # D converts: + 1,199
    assert (day7["trials"], day7["active_subscriptions"]) == ("0", "8")
    # B expires (day 30, - 553) and G's grace ends (day 33, - 699); F's recovery moves nothing.
    assert last["mrr_minor"] == "6587"
    assert (last["active_subscriptions"], last["paying_customers"]) == ("6", "6")
    totals = {kind: sum(int(p["movements"][f"{kind}_minor"]) for p in points) for kind in ("new", "churn")}
    assert totals == {"new": 6739, "churn": -1252}

    monthly = await quarter["shop"].ok(
        "GET", "/v1/analytics/mrr", params=window(quarter, granularity="month", reporting_currency="USD")
    )
    assert monthly["points"][-1]["mrr_minor"] == "6587"
    assert sum(int(p["movements"]["net_minor"]) for p in monthly["points"]) == 6587


async def test_churn_over_the_last_30_days(quarter: dict[str, Any]) -> None:
    await mrr(quarter)
    churn = await quarter["shop"].ok(
        "GET",
        "/v1/analytics/churn",
        params={"time": (quarter["converted"] + timedelta(days=30)).isoformat(), "reporting_currency": "USD"},
    )
    # Half a day after D converted: 8 paying customers, 7,839 of MRR; B and G were lost, 553 + 699 of MRR churned.
    assert (churn["customers_at_start"], churn["customers_lost"], churn["customer_churn_rate"]) == ("8", "2", "0.2500")
    assert churn["mrr_at_start_minor"] == "7839"
    assert churn["movements"]["churn_minor"] == "-1252"
    assert churn["gross_mrr_churn_rate"] == "0.1597"  # 1,252 / 7,839
    assert churn["net_mrr_churn_rate"] == "0.1597"


async def test_payment_success_dunning_recovery_and_declines(quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    # NOTE: the last retries and D's renewal run as the clock reaches them; the figures follow the events.
    report = await settled(
        lambda: shop.ok("GET", "/v1/analytics/payments", params=window(quarter)),
        lambda r: r["charge_series"] == "15" and sum(int(d["count"]) for d in r["declines"]) == 6,
    )
    # Series: 7 checkouts, E's proration, D's conversion, 5 renewals a month in (A, E, F, G, P), D's a week later.
    assert report["charge_series"] == "15"
    assert report["first_attempt_succeeded"] == "13"  # all but F's and G's renewals
    assert report["succeeded_after_retries"] == "14"  # F recovered on its first retry
    assert (report["dunning_started"], report["dunning_recovered"], report["dunning_recovery_rate"]) == (
        "2",
        "1",
        "0.5000",
    )
    # F once; G at the renewal and its retries on days 1, 3, 5 and 7.
    assert report["declines"] == [{"reason": "INSUFFICIENT_FUNDS", "psp": "stripe_like", "count": "6"}]


async def test_revenue_reconciles_to_the_ledger_to_the_cent(quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    await mrr(quarter)
    months = sorted({quarter["start"].strftime("%Y-%m"), quarter["end"].strftime("%Y-%m")})
    for currency in ("USD", "EUR"):
        ledger = await shop.ok(
            "GET",
            "/v1/revenue-report",
            params={"period_from": months[0], "period_to": months[-1], "currency_code": currency},
        )
        ledger_net = sum(int(row["net_revenue"]["amount_minor"]) for row in ledger["rows"])
        ledger_tax = sum(int(row["tax"]["amount_minor"]) for row in ledger["rows"])
        summary = await shop.ok("GET", "/v1/analytics/revenue", params=window(quarter, currency_code=currency))
        assert (int(summary["total"]["net_minor"]), int(summary["total"]["tax_minor"])) == (ledger_net, ledger_tax)
    eur = await shop.ok("GET", "/v1/analytics/revenue", params=window(quarter, currency_code="EUR"))
    # B paid 5.99 once: 0.96 VAT, 5.03 net.
    assert (eur["total"]["gross_minor"], eur["total"]["tax_minor"], eur["total"]["net_minor"]) == ("599", "96", "503")
    usd = await shop.ok("GET", "/v1/analytics/revenue", params=window(quarter, currency_code="USD"))
    assert usd["total"]["refunds_minor"] == "200"
    assert usd["total"]["discounts_minor"] == "350"  # half of P's 6.99, rounded half up


async def test_usage_billed_with_a_renewal_is_usage_revenue_per_meter_and_never_mrr(quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    await mrr(quarter)  # 6,587 at the end, as worked out without usage
    usage = await settled(
        lambda: shop.ok("GET", "/v1/analytics/usage", params=window(quarter, currency_code="USD")),
        lambda r: bool(r.get("rows")),
    )
    assert [
        (r["meter_key"], r["quantity"], r["billed_minor"], r["charged_minor"], r["billed_per_unit_minor"])
        for r in usage["rows"]
    ] == [(quarter["meter_key"], "250", "250", "250", "1.000000")]
    a = quarter["customers"]["A"]
    renewals = [c for c in (await shop.ok("GET", f"/v1/customers/{a}/charges"))["charges"] if c.get("lines")]
    assert [c["gross"]["amount_minor"] for c in renewals] == ["949"]  # 6.99 and 2.50 of tokens, one charge
    timeline = await shop.ok("GET", "/v1/analytics/events", params={"filter": f"charge_id = {renewals[0]['id']}"})
    assert [e["gross_minor"] for e in timeline["events"] if e["type"] == "payment.succeeded"] == ["949"]


async def test_every_figure_drills_down_to_its_events_and_a_customer_has_a_timeline(quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    await mrr(quarter)
    churned = await shop.ok("GET", "/v1/analytics/events", params={"filter": "movement = churn"})
    assert sorted(e["customer_id"] for e in churned["events"]) == sorted(
        [quarter["customers"]["B"], quarter["customers"]["G"]]
    )
    assert sum(e["mrr_delta_minor"] and int(e["mrr_delta_minor"]) for e in churned["events"]) == -(503 + 699)

    timeline = await shop.ok(
        "GET", "/v1/analytics/events", params={"filter": f"subscription_id = {quarter['e_sub']}", "page_size": 100}
    )
    assert "subscription.plan_changed" in [e["type"] for e in timeline["events"]]
    moves = [e["movement"] for e in timeline["events"] if e["movement"]]
    assert moves[:2] == ["new", "expansion"]

    exported = await shop.call("GET", "/v1/analytics/events", params={"filter": "movement = churn", "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(int(r["mrr_delta_minor"]) for r in rows) == [-699, -503]


async def test_rebuilding_from_the_streams_gives_the_same_figures(quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    before = await mrr(quarter)
    churn = {"time": (quarter["converted"] + timedelta(days=30)).isoformat(), "reporting_currency": "USD"}
    reads = [
        ("/v1/analytics/churn", churn),
        ("/v1/analytics/payments", window(quarter)),
        ("/v1/analytics/revenue", window(quarter, reporting_currency="USD")),
        ("/v1/analytics/campaigns", window(quarter)),
        ("/v1/analytics/usage", window(quarter)),
    ]
    figures = [await shop.ok("GET", path, params=params) for path, params in reads]
    rebuilt = await shop.ok("POST", "/v1/analytics:rebuild", json={"request_id": rid()})
    assert int(rebuilt["entries_recorded"]) > 0
    after = await shop.ok(
        "GET", "/v1/analytics/mrr", params=window(quarter, granularity="day", reporting_currency="USD")
    )
    assert after == before
    assert [await shop.ok("GET", path, params=params) for path, params in reads] == figures


async def test_roles_isolation_and_bad_input(suite: RunningSuite, quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    viewer, operator, publishable = [await shop.new_key(role) for role in ("viewer", "operator", "publishable")]
    params = window(quarter, reporting_currency="USD")
    assert (await shop.call("GET", "/v1/analytics/mrr", params=params, key=viewer)).status_code == 200
    assert (await shop.call("GET", "/v1/analytics/revenue", params=params, key=operator)).status_code == 403
    assert (await shop.call("GET", "/v1/analytics/mrr", params=params, key=publishable)).status_code == 403
    rebuild = await shop.call("POST", "/v1/analytics:rebuild", json={"request_id": rid()}, key=operator)
    assert rebuild.status_code == 403

    other = await suite.new_tenant()
    theirs = await other.ok(
        "GET", "/v1/analytics/events", params={"filter": f"customer_id = {quarter['customers']['A']}"}
    )
    assert theirs["events"] == []

    both = await shop.call("GET", "/v1/analytics/mrr", params=window(quarter))
    assert both.status_code == 400
    assert "reporting_currency" in both.text
    reversed_window = {"start_time": quarter["end"].isoformat(), "end_time": quarter["start"].isoformat()}
    backwards = await shop.call("GET", "/v1/analytics/mrr", params=reversed_window)
    assert backwards.status_code == 400 and "end_time" in backwards.text
    bad_rate = {
        "request_id": rid(),
        "currency_code": "EUR",
        "reporting_currency": "USD",
        "rate": "-1",
        "effective_date": "2026-01-01",
    }
    refused = await shop.call("POST", "/v1/exchange-rates", json=bad_rate)
    assert refused.status_code == 400 and "rate" in refused.text


async def test_the_figures_over_grpc(suite: RunningSuite, quarter: dict[str, Any]) -> None:
    shop: TenantApi = quarter["shop"]
    await mrr(quarter)
    request = an.GetMrrReportRequest(reporting_currency="USD", granularity=an.GRANULARITY_MONTH)
    request.start_time.FromDatetime(quarter["start"].astimezone(UTC))
    request.end_time.FromDatetime(quarter["end"].astimezone(UTC))
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = analytics_pb2_grpc.AnalyticsServiceStub(channel)
        answer = await stub.GetMrrReport(request, metadata=(("authorization", f"Bearer {shop.key}"),))
    assert answer.points[-1].mrr_minor == 6587
