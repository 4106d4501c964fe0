"""`azotte webhooks`: each command is one REST call with what was typed, the answer printed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

ENDPOINT = {
    "id": "ep_1",
    "url": "https://hooks.example.com/x",
    "description": "",
    "event_types": ["payment.*"],
    "enabled": True,
    "disabled_reason": "WEBHOOK_DISABLED_REASON_UNSPECIFIED",
    "create_time": "2026-03-01T00:00:00Z",
    "update_time": "2026-03-01T00:00:00Z",
}
MESSAGE = {
    "id": "msg_1",
    "endpoint_id": "ep_1",
    "event_id": "ev_1",
    "event_type": "payment.succeeded",
    "state": "WEBHOOK_MESSAGE_STATE_FAILED",
    "attempt_count": 8,
    "create_time": "2026-03-01T00:00:00Z",
    "body": "{}",
}
ANSWERS = {
    ("POST", "/v1/webhook-endpoints"): {"endpoint": ENDPOINT, "secret": "whsec_c2VjcmV0"},
    ("GET", "/v1/webhook-messages"): {"messages": [MESSAGE], "next_page_token": ""},
    ("POST", "/v1/webhook-messages/msg_1:replay"): {"message": {**MESSAGE, "state": "WEBHOOK_MESSAGE_STATE_PENDING"}},
    ("POST", "/v1/webhook-endpoints/ep_1/messages:replay"): {"replayed_count": 3},
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
    result = CliRunner().invoke(commands.app, ["webhooks", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_sends_the_url_and_types_and_prints_the_secret_once(sent: list[httpx.Request]) -> None:
    output = run("create", "https://hooks.example.com/x", "--event-type", "payment.*")
    body = json.loads(sent[0].content)
    assert body["url"] == "https://hooks.example.com/x" and body["event_types"] == ["payment.*"]
    assert body["request_id"]
    assert output.count("whsec_c2VjcmV0") == 1


def test_messages_filters_the_log(sent: list[httpx.Request]) -> None:
    output = run("messages", "--filter", "state = FAILED")
    assert sent[0].url.params["filter"] == "state = FAILED"
    assert "msg_1" in output and "failed" in output


def test_replay_one_message_or_a_range(sent: list[httpx.Request]) -> None:
    assert "pending" in run("replay", "msg_1")
    output = run("replay", "--endpoint", "ep_1", "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-02T00:00:00Z")
    assert "replayed 3" in output
    body = json.loads(sent[1].content)
    assert (body["start_time"], body["end_time"]) == ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
