"""`azotte grants`: each command is one REST call with what was typed, the answer printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

GRANT = {
    "grant_id": "g_1",
    "customer_id": "c1",
    "feature_key": "uhd_streaming",
    "source": "ACCESS_SOURCE_KIND_MANUAL",
    "source_ref": "req_1",
    "start_time": "2026-03-01T00:00:00Z",
    "end_time": "2026-03-31T00:00:00Z",
    "audit": {"actor": "api_key:k1", "reason": "case 42"},
}
SUSPENSION = {"customer_id": "c1", "feature_key": "hd_streaming", "reason": "abuse"}
REPORT = {
    "checked_customer_count": 3,
    "granted_count": 1,
    "revoked_count": 0,
    "changed_count": 0,
    "corrected": True,
    "corrections": [{"kind": "GRANT_CORRECTION_KIND_GRANTED", "grant": GRANT}],
    "consistency_token": "ct1.x",
}
ANSWERS = {
    ("GET", "/v1/customers/c1/grants"): {"grants": [GRANT], "next_page_token": "t2"},
    ("POST", "/v1/customers/c1/grants"): {"grants": [GRANT], "consistency_token": "ct1.a"},
    ("POST", "/v1/customers/c1/grants/g_1:revoke"): {"grant": GRANT, "consistency_token": "ct1.b"},
    ("POST", "/v1/customers/c1/features/hd_streaming:suspend"): {"suspension": SUSPENSION},
    ("POST", "/v1/customers/c1/features/hd_streaming:restore"): {"suspension": SUSPENSION},
    ("POST", "/v1/customers/c1/grants:reconcile"): REPORT,
    ("POST", "/v1/grants:reconcile"): REPORT,
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
    result = CliRunner().invoke(commands.app, ["grants", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_list_sends_filter_and_order_and_prints_the_grants(sent: list[httpx.Request]) -> None:
    printed = run("list", "c1", "--filter", "source = manual", "--order-by", "valid_until desc")
    assert dict(sent[0].url.params) == {"filter": "source = manual", "order_by": "valid_until desc"}
    assert "case 42" in printed and "--page-token t2" in printed


def test_create_sends_the_features_an_end_within_the_days_and_the_reason(sent: list[httpx.Request]) -> None:
    printed = run("create", "c1", "--feature", "uhd_streaming", "--days", "7", "--reason", "case 42")
    body = json.loads(sent[0].content)
    end = datetime.fromisoformat(body["end_time"])
    assert body["feature_keys"] == ["uhd_streaming"] and body["reason"] == "case 42" and body["request_id"]
    assert abs(end - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert "ct1.a" in printed


@pytest.mark.parametrize(
    ("args", "path", "body", "printed"),
    [
        (
            ["revoke", "c1", "g_1", "--reason", "closed"],
            "/v1/customers/c1/grants/g_1:revoke",
            {"reason": "closed"},
            "Revoked",
        ),
        (
            ["suspend", "c1", "hd_streaming", "--reason", "abuse"],
            "/v1/customers/c1/features/hd_streaming:suspend",
            {"reason": "abuse"},
            "suspended hd_streaming",
        ),
        (["restore", "c1", "hd_streaming"], "/v1/customers/c1/features/hd_streaming:restore", {}, "restored"),
        (["reconcile", "c1", "--dry-run"], "/v1/customers/c1/grants:reconcile", {"validate_only": True}, "1 missing"),
        (["reconcile"], "/v1/grants:reconcile", {"validate_only": False}, "3 customers checked"),
    ],
)
def test_each_change_is_one_call(
    sent: list[httpx.Request], args: list[str], path: str, body: dict[str, object], printed: str
) -> None:
    output = run(*args)
    assert [(r.method, r.url.path) for r in sent] == [("POST", path)]
    sent_body = json.loads(sent[0].content)
    assert sent_body.pop("request_id") and sent_body == body
    assert printed in output
