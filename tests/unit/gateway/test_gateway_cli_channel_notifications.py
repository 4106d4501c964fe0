"""`azotte channel-notifications`: each command is one REST call, its answer printed."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

NAME = "google_play/android/m-1/abc"
PARKED = {
    "name": NAME,
    "channel": "google_play",
    "state": "CHANNEL_NOTIFICATION_STATE_PARKED",
    "event_time": "2027-01-02T00:00:00Z",
    "attempt_count": 6,
    "last_error": "NotFound: no plan is mapped to google_play product 'premium:weekly'",
}
ANSWERS = {
    ("GET", "/v1/channel-notifications"): {"notifications": [PARKED]},
    ("GET", f"/v1/channel-notifications/{NAME}"): {
        "notification": {**PARKED, "body": '{"message": {"data": "e30="}}', "headers": {"authorization": "Bearer t"}}
    },
    ("POST", f"/v1/channel-notifications/{NAME}:replay"): {
        "notification": {**PARKED, "state": "CHANNEL_NOTIFICATION_STATE_FAILED", "next_attempt_time": "2027-01-03"}
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


def test_list_filters_by_channel_and_state_and_prints_the_reason(sent: list[httpx.Request]) -> None:
    out = run("channel-notifications", "list", "--channel", "google_play", "--state", "parked")
    (request,) = sent
    assert request.url.params["filter"] == 'channel = "google_play" AND state = PARKED'
    assert NAME in out and "parked" in out and "premium:weekly" in out


def test_show_prints_the_raw_body_and_headers(sent: list[httpx.Request]) -> None:
    out = run("channel-notifications", "show", NAME)
    assert '{"message": {"data": "e30="}}' in out and "authorization: Bearer t" in out


def test_replay_sends_a_request_id_and_prints_the_queued_notification(sent: list[httpx.Request]) -> None:
    out = run("channel-notifications", "replay", NAME)
    (request,) = sent
    assert json.loads(request.content)["request_id"]
    assert "failed" in out and "2027-01-03" in out
