"""`azotte price-changes`: each command is one REST call, its answer printed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

USD = "USD"


def usd(amount: int) -> dict[str, str]:
    return {"currency_code": USD, "amount_minor": str(amount)}


CHANGE = {
    "state": "PRICE_CHANGE_STATE_AWAITING_CONSENT",
    "old_price": usd(699),
    "new_price": usd(899),
    "effective_time": "2027-02-02T00:00:00Z",
    "notice_time": "2027-01-03T00:00:00Z",
    "consent_required": True,
}
ANSWERS = {
    ("GET", "/v1/price-changes/affected-subscribers"): {
        "subscribers": [
            {
                "subscription_id": "s1",
                "customer_id": "c1",
                "old_price": usd(699),
                "new_price": usd(899),
                "first_renewal_time": "2027-02-02T00:00:00Z",
            }
        ],
        "next_page_token": "p2",
        "affected_count": "1",
        "unaffected_count": "4",
        "notice_days": 30,
        "consent_required": True,
        "revenue_before": usd(699),
        "revenue_after": usd(899),
    },
    ("GET", "/v1/subscriptions/s1/price-change"): {
        "subscription_id": "s1",
        "current_price": usd(699),
        "next_renewal_time": "2027-01-02T00:00:00Z",
        "price_change": CHANGE,
    },
    ("GET", "/v1/subscriptions/s1/upcoming-charge"): {
        "subscription_id": "s1",
        "charge_time": "2027-01-02T00:00:00Z",
        "amount": usd(899),
        "discount": usd(0),
        "tax": usd(74),
        "gross": usd(973),
        "price_change_state": "PRICE_CHANGE_STATE_CONSENTED",
    },
    ("POST", "/v1/subscriptions/s1:consent-to-price-change"): {
        "subscription": {"id": "s1", "price_change": {**CHANGE, "state": "PRICE_CHANGE_STATE_CONSENTED"}}
    },
    ("POST", "/v1/subscriptions/s1:decline-price-change"): {
        "subscription": {"id": "s1", "price_change": {**CHANGE, "state": "PRICE_CHANGE_STATE_DECLINED"}}
    },
    ("GET", "/v1/price-changes/impact"): {
        "cohorts": [
            {
                "storefront_id": "us",
                "plan_id": "basic",
                "price_effective_time": "2027-01-01T00:00:00Z",
                "cohort": "2026-12",
                "subscriber_count": "5",
                "consented_count": "1",
                "declined_count": "2",
                "renewed_count": "1",
                "churned_count": "1",
                "revenue_before": usd(5000),
                "revenue_after": usd(3000),
            }
        ]
    },
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=ANSWERS[(request.method, request.url.path)])

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    monkeypatch.setattr(commands.console, "width", 220)  # wide tables: no cell is cut short
    return requests


def run(*args: str) -> str:
    result = CliRunner().invoke(commands.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_dry_run_sends_the_proposed_price_and_prints_whom_it_reaches(sent: list[httpx.Request]) -> None:
    out = run(
        "price-changes", "dry-run", "--plan", "basic", "--storefront", "us", "--amount-minor", "899",
        "--existing", "at_next_renewal", "--effective-time", "2027-01-01T00:00:00Z",
    )  # fmt: skip
    (request,) = sent
    assert dict(request.url.params) == {
        "plan_id": "basic",
        "storefront_id": "us",
        "amount_minor": "899",
        "existing_subscribers": "at_next_renewal",
        "effective_time": "2027-01-01T00:00:00Z",
    }
    assert "1 reached, 4 not (30 days' notice, consent required)" in out
    assert "6.99 USD -> 8.99 USD" in out
    assert "2027-02-02" in out and "--page-token p2" in out


def test_pending_and_upcoming_show_the_change_and_the_next_charge(sent: list[httpx.Request]) -> None:
    pending = run("price-changes", "pending", "s1")
    assert "awaiting_consent" in pending and "6.99 USD -> 8.99 USD" in pending and "2027-01-03" in pending
    upcoming = run("price-changes", "upcoming", "s1")
    assert "8.99 USD" in upcoming and "0.74 USD" in upcoming and "9.73 USD" in upcoming and "consented" in upcoming


def test_consent_and_decline_send_a_request_id_and_print_the_new_state(sent: list[httpx.Request]) -> None:
    assert "s1: consented" in run("price-changes", "consent", "s1")
    assert "s1: declined" in run("price-changes", "decline", "s1")
    ids = [json.loads(request.content)["request_id"] for request in sent]
    assert len(set(ids)) == 2 and all(ids)


def test_impact_prints_each_cohort_counts_and_revenue(sent: list[httpx.Request]) -> None:
    out = run("price-changes", "impact", "--plan", "basic")
    assert dict(sent[0].url.params) == {"plan_id": "basic"}
    row = next(line for line in out.splitlines() if "2026-12" in line)
    assert [cell.strip() for cell in row.split("│")[5:10]] == ["5", "1", "2", "1", "1"]
    assert "50.00 USD" in row and "30.00 USD" in row
