"""`azotte customers show`: a customer's entitlements with each quota used, its limit and when it resets."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

ANSWERS = {
    "/v1/customers/cus_1": {
        "customer": {"id": "cus_1", "external_id": "e1", "email": "", "country_code": "DE", "create_time": "2026-03"}
    },
    "/v1/customers/cus_1/subscriptions": {"subscriptions": []},
    "/v1/customers/cus_1/entitlements": {
        "entitlements": [
            {
                "feature_key": "downloads", "quota_limit": "100", "quota_used": "100",
                "quota_reset_time": "2026-03-02T14:37:00Z",
            },
            {"feature_key": "tokens", "quota_limit": "2000", "quota_used": "5"},
            {"feature_key": "hd_streaming"},
        ]
    },
    "/v1/customers/cus_1/charges": {"charges": []},
}  # fmt: skip


@pytest.fixture(autouse=True)
def gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ANSWERS[request.url.path])

    client = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: client)
    monkeypatch.setattr(commands.console, "width", 220)  # wide tables: no cell is cut short


def test_show_prints_each_quota_with_when_it_resets() -> None:
    shown = CliRunner().invoke(commands.app, ["customers", "show", "cus_1"]).output
    rows = {line.split("│")[1].strip(): line for line in shown.splitlines() if line.count("│") > 2}
    assert "100/100, resets 2026-03-02 14:37" in rows["downloads"]
    assert "5/2000" in rows["tokens"] and "resets" not in rows["tokens"]
    assert rows["hd_streaming"].rstrip(" │").endswith("-")
