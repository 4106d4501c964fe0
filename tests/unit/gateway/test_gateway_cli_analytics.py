"""`azotte revenue mrr|churn|payments|summary|campaigns|experiment|events|rate|rates|rebuild`: one REST call each,
figures printed as tables, MRR and net revenue also as terminal plots."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

MOVES = {
    "new_minor": "1500",
    "expansion_minor": "0",
    "contraction_minor": "0",
    "churn_minor": "-699",
    "reactivation_minor": "0",
    "net_minor": "801",
}
POINT = {
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-02-01T00:00:00Z",
    "mrr_minor": "123456",
    "movements": MOVES,
    "active_subscriptions": "17",
    "trials": "3",
    "paying_customers": "16",
}
MONEY = {
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-02-01T00:00:00Z",
    "gross_minor": "10000",
    "discounts_minor": "500",
    "refunds_minor": "200",
    "credits_minor": "0",
    "tax_minor": "1597",
    "net_minor": "8203",
    "store_commission_minor": "1200",
    "proceeds_minor": "7003",
}
EVENT = {
    "occur_time": "2026-01-05T10:00:00Z",
    "type": "subscription.expired",
    "customer_id": "c1",
    "subscription_id": "s1",
    "currency": "USD",
    "gross_minor": "0",
    "refund_minor": "0",
    "credit_minor": "0",
    "ledger_net_minor": "0",
    "movement": "churn",
    "mrr_delta_minor": "-699",
}
ANSWERS = {
    ("GET", "/v1/analytics/mrr"): {"currency": "USD", "starting_mrr_minor": "0", "points": [POINT, POINT]},
    ("GET", "/v1/analytics/churn"): {
        "currency": "USD",
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-31T00:00:00Z",
        "customers_at_start": "8",
        "customers_lost": "2",
        "customer_churn_rate": "0.2500",
        "mrr_at_start_minor": "7839",
        "movements": MOVES,
        "gross_mrr_churn_rate": "0.1597",
        "net_mrr_churn_rate": "",
    },
    ("GET", "/v1/analytics/payments"): {
        "charge_series": "15",
        "first_attempt_succeeded": "13",
        "succeeded_after_retries": "14",
        "first_attempt_success_rate": "0.8667",
        "success_rate": "0.9333",
        "dunning_started": "2",
        "dunning_recovered": "1",
        "dunning_recovery_rate": "0.5000",
        "declines": [{"reason": "INSUFFICIENT_FUNDS", "psp": "stripe_like", "count": "6"}],
    },
    ("GET", "/v1/analytics/revenue"): {"currency": "EUR", "points": [MONEY], "total": MONEY},
    ("GET", "/v1/analytics/campaigns"): {
        "rows": [
            {
                "promotion_id": "launch",
                "currency": "USD",
                "redemptions": "4",
                "discount_minor": "1400",
                "revenue_minor": "1396",
            }
        ],
        "conversions": [
            {
                "campaign_id": "winback",
                "promotion_id": "launch",
                "offers_issued": "3",
                "offers_redeemed": "1",
                "conversion_rate": "0.3333",
            }
        ],
    },
    ("GET", "/v1/analytics/experiments/paywall"): {
        "variants": [
            {
                "variant_id": "discount",
                "assigned": "2",
                "converted": "1",
                "conversion_rate": "0.5000",
                "revenue": [{"currency_code": "USD", "amount_minor": "499"}],
                "revenue_per_customer": [{"currency_code": "USD", "amount_minor": "250"}],
            }
        ]
    },
    ("GET", "/v1/analytics/events"): {"events": [EVENT], "next_page_token": "n2"},
    ("POST", "/v1/exchange-rates"): {
        "rate": {"currency_code": "EUR", "reporting_currency": "USD", "rate": "1.10", "effective_date": "2026-01-01"}
    },
    ("GET", "/v1/exchange-rates"): {
        "rates": [{"currency_code": "EUR", "reporting_currency": "USD", "rate": "1.10", "effective_date": "2026-01-01"}]
    },
    ("POST", "/v1/analytics:rebuild"): {"events_replayed": "120", "entries_recorded": "96"},
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=ANSWERS[(request.method, request.url.path)])

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    return requests


@pytest.mark.parametrize(
    ("args", "method", "path", "printed"),
    [
        (["revenue", "mrr", "--currency", "USD"], "GET", "/v1/analytics/mrr", "-6.99"),
        (["revenue", "churn", "--days", "30"], "GET", "/v1/analytics/churn", "0.2500"),
        (["revenue", "payments"], "GET", "/v1/analytics/payments", "INSUFFICIENT_FUNDS"),
        (["revenue", "summary", "--no-plot"], "GET", "/v1/analytics/revenue", "70.03"),
        (["revenue", "campaigns"], "GET", "/v1/analytics/campaigns", "0.3333"),
        (["revenue", "experiment", "paywall"], "GET", "/v1/analytics/experiments/paywall", "2.50 USD"),
        (["revenue", "events", "--filter", "movement = churn"], "GET", "/v1/analytics/events", "--page-token n2"),
        (["revenue", "rate", "EUR", "USD", "1.10"], "POST", "/v1/exchange-rates", "1 EUR = 1.10 USD"),
        (["revenue", "rates", "USD"], "GET", "/v1/exchange-rates", "1.10"),
        (["revenue", "rebuild"], "POST", "/v1/analytics:rebuild", "replayed 120 events"),
    ],
)
def test_each_command_calls_its_route_and_prints_the_answer(
    sent: list[httpx.Request], args: list[str], method: str, path: str, printed: str
) -> None:
    result = CliRunner().invoke(commands.app, args)
    assert result.exit_code == 0, result.output
    assert [(r.method, r.url.path) for r in sent] == [(method, path)]
    assert printed in result.output


def test_mrr_is_plotted_and_the_window_and_currency_are_sent(sent: list[httpx.Request]) -> None:
    result = CliRunner().invoke(
        commands.app, ["revenue", "mrr", "--from", "2026-01-01T00:00:00+00:00", "--to", "2026-04-01T00:00:00+00:00"]
    )
    assert result.exit_code == 0, result.output
    assert "MRR (USD)" in result.output  # the plot's title
    params = sent[0].url.params
    assert (params["start_time"], params["end_time"], params["granularity"]) == (
        "2026-01-01T00:00:00+00:00",
        "2026-04-01T00:00:00+00:00",
        "month",
    )


def test_an_exchange_rate_is_sent_with_a_request_id(sent: list[httpx.Request]) -> None:
    result = CliRunner().invoke(commands.app, ["revenue", "rate", "EUR", "USD", "1.10", "--effective", "2026-01-01"])
    assert result.exit_code == 0, result.output
    body = json.loads(sent[0].content)
    assert body["request_id"]
    assert (body["currency_code"], body["reporting_currency"], body["rate"], body["effective_date"]) == (
        "EUR",
        "USD",
        "1.10",
        "2026-01-01",
    )
