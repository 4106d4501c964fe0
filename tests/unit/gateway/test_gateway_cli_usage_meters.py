"""`azotte usage create-meter|meters`: the quota features a meter measures are sent as given and listed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner, Result

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

QUOTAS = [
    {"feature_key": "tokens_gpt_large", "dimensions": {"model": "large", "region": "eu"}},
    {"feature_key": "tokens_all", "dimensions": {}},
]
METER = {
    "key": "tokens", "display_name": "tokens", "event_type": "ai.tokens", "value_path": "$.tokens",
    "aggregation": "AGGREGATION_SUM", "dimensions": ["model", "region"], "quota_features": QUOTAS,
}  # fmt: skip


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"meter": METER} if request.method == "POST" else {"meters": [METER]})

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    monkeypatch.setattr(commands.console, "width", 220)  # wide tables: no cell is cut short
    return requests


def run(*args: str) -> Result:
    return CliRunner().invoke(commands.app, ["usage", *args])


def test_create_meter_sends_each_quota_feature_with_its_dimension_values(sent: list[httpx.Request]) -> None:
    result = run(
        "create-meter", "tokens", "--event-type", "ai.tokens", "--aggregation", "sum", "--value-path", "$.tokens",
        "--dimension", "model", "--dimension", "region",
        "--quota-feature", "tokens_gpt_large:model=large,region=eu", "--quota-feature", "tokens_all",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(sent[0].content)["meter"] == METER


@pytest.mark.parametrize("given", ["tokens:model", "tokens:model=", ":model=large", "tokens:=large"])
def test_a_malformed_quota_feature_is_refused_before_any_call(sent: list[httpx.Request], given: str) -> None:
    result = run("create-meter", "t", "--event-type", "e", "--aggregation", "count", "--quota-feature", given)
    assert result.exit_code == 2 and "--quota-feature" in result.output
    assert sent == []


def test_meters_lists_the_quota_features(sent: list[httpx.Request]) -> None:
    result = run("meters")
    assert "tokens_gpt_large:model=large,region=eu, tokens_all" in result.output
