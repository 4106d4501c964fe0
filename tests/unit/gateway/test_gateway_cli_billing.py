"""`azotte credits`, `payment-methods` and `revenue`: each command is one REST call, answers printed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

USD = {"currency_code": "USD", "amount_minor": "500"}
METHOD = {"id": "pm_1", "customer_id": "c1", "brand": "visa", "last4": "4242", "is_default": True}
ANSWERS = {
    ("POST", "/v1/customers/c1/credits:grant"): {"balance": {"customer_id": "c1", "balance": USD}},
    ("GET", "/v1/customers/c1/credits"): {"balances": [{"customer_id": "c1", "balance": USD}]},
    ("GET", "/v1/customers/c1/credit-movements"): {
        "movements": [
            {"kind": "CREDIT_MOVEMENT_KIND_GRANT", "amount": USD, "balance_after": USD, "charge_id": "", "reason": "x"}
        ],
        "next_page_token": "",
    },
    ("GET", "/v1/customers/c1/payment-methods"): {"payment_methods": [METHOD], "next_page_token": "t2"},
    ("POST", "/v1/customers/c1/payment-methods/pm_1:set-default"): {"payment_method": METHOD},
    ("DELETE", "/v1/customers/c1/payment-methods/pm_1"): {},
    ("GET", "/v1/revenue-report"): {"rows": []},
    ("GET", "/v1/ledger/balance"): {"currencies": []},
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
        (["credits", "balance", "c1"], "GET", "/v1/customers/c1/credits", "5.00 USD"),
        (["credits", "movements", "c1"], "GET", "/v1/customers/c1/credit-movements", "grant"),
        (["payment-methods", "list", "c1"], "GET", "/v1/customers/c1/payment-methods", "--page-token t2"),
        (
            ["payment-methods", "default", "c1", "pm_1"],
            "POST",
            "/v1/customers/c1/payment-methods/pm_1:set-default",
            "4242",
        ),
        (["payment-methods", "delete", "c1", "pm_1"], "DELETE", "/v1/customers/c1/payment-methods/pm_1", "no payment"),
        (["revenue", "ledger"], "GET", "/v1/ledger/balance", "Trial balance"),
    ],
)
def test_each_command_is_one_call(
    sent: list[httpx.Request], args: list[str], method: str, path: str, printed: str
) -> None:
    result = CliRunner().invoke(commands.app, args)
    assert result.exit_code == 0, result.output
    assert [(r.method, r.url.path) for r in sent] == [(method, path)]
    assert printed in result.output


def test_a_grant_sends_the_amount_and_a_request_id(sent: list[httpx.Request]) -> None:
    result = CliRunner().invoke(commands.app, ["credits", "grant", "c1", "500", "USD", "--reason", "outage"])
    assert result.exit_code == 0, result.output
    body = json.loads(sent[0].content)
    assert body["amount"] == {"currency_code": "USD", "amount_minor": 500} and body["reason"] == "outage"
    assert body["request_id"]
    assert "5.00 USD" in result.output


def test_a_report_sends_its_period_and_dimensions(sent: list[httpx.Request]) -> None:
    args = ["revenue", "report", "2026-01", "2026-03", "--group-by", "storefront", "--group-by", "plan"]
    result = CliRunner().invoke(commands.app, [*args, "--currency", "EUR"])
    assert result.exit_code == 0, result.output
    params = sent[0].url.params
    assert params.get_list("group_by") == ["storefront", "plan"]
    assert (params["period_from"], params["period_to"], params["currency_code"]) == ("2026-01", "2026-03", "EUR")
