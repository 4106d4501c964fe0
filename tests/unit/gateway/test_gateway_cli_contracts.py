"""`azotte contracts`: each command is one REST call (an amendment reads the current terms first) with the terms
the options give."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

EUR = {"currency_code": "EUR", "amount_minor": "100000"}
TERMS = {
    "plan_id": "enterprise_monthly", "recurring_price": EUR, "committed_minimum": EUR, "renewal_periods": 0,
    "end_time": "2027-12-31T00:00:00Z", "payment_terms_days": 30, "meter_prices": [],
    "billing_contact": {"name": "Seehotel GmbH", "tax_id": "DE123456789"},
}  # fmt: skip
CONTRACT = {
    "id": "ctr_1", "customer_id": "cus_1", "state": "SUBSCRIPTION_STATE_ACTIVE", "version": 1, "terms": TERMS,
    "final_end_time": "2028-01-01T00:00:00Z",
}  # fmt: skip
VERSION = {"version": 1, "create_time": "2026-12-01T00:00:00Z", "actor": "api_key:k1", "terms": TERMS}
ANSWERS = {
    ("POST", "/v1/contracts"): {"contract": CONTRACT},
    ("GET", "/v1/contracts"): {"contracts": [CONTRACT]},
    ("GET", "/v1/contracts/ctr_1"): {"contract": CONTRACT, "versions": [VERSION]},
    ("POST", "/v1/contracts/ctr_1:amend"): {"contract": {**CONTRACT, "version": 2}},
    ("POST", "/v1/contracts/ctr_1:end"): {"contract": CONTRACT},
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


def run(*args: str) -> str:
    result = CliRunner().invoke(commands.app, ["contracts", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_sends_the_terms_given(sent: list[httpx.Request]) -> None:
    printed = run(
        "create", "--customer", "cus_1", "--storefront", "eu", "--plan", "enterprise_monthly", "--recurring",
        "100000", "--minimum", "150000", "--end", "2027-12-31T00:00:00Z", "--payment-terms", "30", "--contact",
        "Seehotel GmbH", "--tax-id", "DE123456789", "--meter-price", "tokens=2.5:10000",
    )  # fmt: skip
    assert [(r.method, r.url.path) for r in sent] == [("POST", "/v1/contracts")]
    body = json.loads(sent[0].content)
    assert body["request_id"] and (body["customer_id"], body["storefront_id"]) == ("cus_1", "eu")
    assert body["terms"] == {
        "plan_id": "enterprise_monthly",
        "recurring_price": {"amount_minor": 100000},
        "committed_minimum": {"amount_minor": 150000},
        "end_time": "2027-12-31T00:00:00Z",
        "payment_terms_days": 30,
        "billing_contact": {"name": "Seehotel GmbH", "tax_id": "DE123456789"},
        "meter_prices": [{"meter_key": "tokens", "unit_price_minor": "2.5", "included_quantity": "10000"}],
    }
    assert "ctr_1" in printed and "1,000.00 EUR" in printed


def test_amend_changes_only_the_options_given(sent: list[httpx.Request]) -> None:
    run("amend", "ctr_1", "--minimum", "200000")
    assert [(r.method, r.url.path) for r in sent] == [
        ("GET", "/v1/contracts/ctr_1"),
        ("POST", "/v1/contracts/ctr_1:amend"),
    ]
    terms = json.loads(sent[1].content)["terms"]
    assert terms == {**TERMS, "committed_minimum": {"amount_minor": 200000}}


@pytest.mark.parametrize(
    ("args", "method", "path", "printed"),
    [
        (["list", "--customer", "cus_1"], "GET", "/v1/contracts", "ACTIVE"),
        (["get", "ctr_1"], "GET", "/v1/contracts/ctr_1", "v1 2026-12-01T00:00:00Z by api_key:k1"),
        (["end", "ctr_1"], "POST", "/v1/contracts/ctr_1:end", "ctr_1"),
    ],
)
def test_each_command_is_one_call(
    sent: list[httpx.Request], args: list[str], method: str, path: str, printed: str
) -> None:
    assert printed in run(*args)
    assert [(r.method, r.url.path) for r in sent] == [(method, path)]


def test_a_malformed_meter_price_is_refused_before_any_call(sent: list[httpx.Request]) -> None:
    result = CliRunner().invoke(
        commands.app, ["contracts", "create", "--customer", "c", "--storefront", "eu", "--meter-price", "tokens"]
    )
    assert result.exit_code != 0 and "METER=UNIT_PRICE_MINOR" in result.output
    assert sent == []


def test_create_sends_custom_features_an_interval_and_a_start(sent: list[httpx.Request]) -> None:
    run(
        "create", "--customer", "cus_1", "--storefront", "eu", "--recurring", "90000", "--interval", "week:2",
        "--feature", "tokens=250000", "--feature", "hd", "--start", "2027-01-04T00:00:00Z",
    )  # fmt: skip
    body = json.loads(sent[0].content)
    assert body["start_time"] == "2027-01-04T00:00:00Z"
    assert body["terms"]["features"] == [{"feature_key": "tokens", "limit": 250000}, {"feature_key": "hd"}]
    assert body["terms"]["interval"] == {"unit": "INTERVAL_UNIT_WEEK", "count": 2}


@pytest.mark.parametrize(("option", "value"), [("--feature", "tokens=many"), ("--interval", "fortnight")])
def test_a_malformed_feature_or_interval_is_refused_before_any_call(
    sent: list[httpx.Request], option: str, value: str
) -> None:
    result = CliRunner().invoke(
        commands.app, ["contracts", "create", "--customer", "c", "--storefront", "eu", option, value]
    )
    assert result.exit_code != 0 and option in result.output
    assert sent == []
