"""`azotte customers`, `history` and `policy`: each command is one REST call, answers printed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

CUSTOMER = {
    "id": "c1",
    "external_id": "u-1",
    "email": "ann@example.com",
    "country_code": "FR",
    "create_time": "2026-01-02T00:00:00Z",
    "identities": [{"kind": "CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN", "value": "tok-9", "issuer": ""}],
}
RULES = {"grace_period": "259200s", "retry_schedule": {"days": [2, 4]}, "hold_period": "2592000s"}
POLICY = {"rules": RULES, "plan_overrides": {"premium": {"hold_period": "0s"}}, "version": "3", "update_actor": "k"}
ANSWERS = {
    ("GET", "/v1/customers"): {"customers": [CUSTOMER], "next_page_token": "t2"},
    ("POST", "/v1/customers/c1:linkChannelIdentity"): {"customer": CUSTOMER},
    ("GET", "/v1/subscriptions/s1/history"): {
        "entries": [
            {
                "occur_time": "2026-02-02T00:00:00Z",
                "event_type": "subscription.renewal_failed",
                "from_state": "SUBSCRIPTION_STATE_ACTIVE",
                "to_state": "SUBSCRIPTION_STATE_PAST_DUE",
                "cause": "soft_decline",
                "cause_ref": "",
                "actor": "system",
            }
        ],
        "next_page_token": "",
    },
    ("GET", "/v1/lifecycle-policy"): {"policy": POLICY, "effective_rules": RULES},
    ("PATCH", "/v1/lifecycle-policy"): {
        "policy": POLICY,
        "effective_time": "2026-03-01T00:00:00Z",
        "applies_to": "due work computed from effective_time on",
    },
    ("GET", "/v1/lifecycle-policy/versions"): {"versions": [POLICY], "next_page_token": ""},
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=ANSWERS[(request.method, request.url.path)])

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    monkeypatch.setattr(commands.console, "width", 200)  # wide tables: no cell is cut short
    return requests


def run(*args: str) -> str:
    result = CliRunner().invoke(commands.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_search_turns_its_options_into_one_filter(sent: list[httpx.Request]) -> None:
    printed = run("customers", "search", "--email", "ann@example.com", "--identity-kind", "google_play_purchase_token")
    params = sent[0].url.params
    assert params["filter"] == 'email = "ann@example.com" AND identity.kind = "GOOGLE_PLAY_PURCHASE_TOKEN"'
    assert "tok-9" in printed and "--page-token t2" in printed


def test_link_sends_the_identity_and_a_request_id(sent: list[httpx.Request]) -> None:
    run("customers", "link", "c1", "--kind", "google_play_purchase_token", "--value", "tok-9")
    body = json.loads(sent[0].content)
    assert body["identity"] == {"kind": "GOOGLE_PLAY_PURCHASE_TOKEN", "value": "tok-9", "issuer": ""}
    assert body["request_id"]


def test_history_prints_each_transition_with_its_cause_and_actor(sent: list[httpx.Request]) -> None:
    printed = run("history", "s1", "--filter", "cause = soft_decline")
    assert sent[0].url.params["filter"] == "cause = soft_decline"
    assert "soft_decline" in printed and "past_due" in printed and "system" in printed


def test_policy_set_masks_exactly_the_rules_given(sent: list[httpx.Request]) -> None:
    printed = run("policy", "set", "--plan", "premium", "--retry-days", "2,4", "--grace-days", "3")
    body = json.loads(sent[0].content)
    assert (body["plan_id"], body["update_mask"]) == ("premium", "grace_period,retry_schedule")
    assert body["rules"] == {"grace_period": "259200s", "retry_schedule": {"days": [2, 4]}}
    assert "version 3" in printed and "due work" in printed


def test_policy_show_and_versions(sent: list[httpx.Request]) -> None:
    shown = run("policy", "show", "--plan", "premium")
    assert sent[0].url.params["plan_id"] == "premium" and "plan premium" in shown and "2, 4" in shown
    assert "version 3" in run("policy", "versions")


def test_policy_set_sends_reminder_days_before_and_after_due_or_none(sent: list[httpx.Request]) -> None:
    run("policy", "set", "--invoice-reminder-days", "-3,2")
    run("policy", "set", "--plan", "premium", "--invoice-reminder-days", "")
    tenant, plan = (json.loads(request.content) for request in sent)
    assert (tenant["rules"], tenant["update_mask"]) == (
        {"invoice_reminder_days": {"days": [-3, 2]}},
        "invoice_reminder_days",
    )
    assert (plan["plan_id"], plan["rules"]) == ("premium", {"invoice_reminder_days": {"days": []}})


def test_policy_show_prints_reminder_days_and_a_plans_none(
    sent: list[httpx.Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = {**RULES, "invoice_reminder_days": {"days": [-3, 2]}}
    policy = {**POLICY, "rules": rules, "plan_overrides": {"premium": {"invoice_reminder_days": {"days": []}}}}
    monkeypatch.setitem(ANSWERS, ("GET", "/v1/lifecycle-policy"), {"policy": policy, "effective_rules": rules})
    shown = run("policy", "show")
    assert "-3, 2" in shown and "none" in shown.split("plan premium")[1]
