"""`azotte partners`: each command is one REST call, its answer printed with the partner's wholesale terms."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

BUNDLE = {
    "partner_id": "bundle",
    "display_name": "Bundle Co",
    "algorithm": "EdDSA",
    "revenue_share_bps": 7000,
    "events_path": "/v1/channels/partners/acme/bundle/events",
}
ANSWERS = {
    ("GET", "/v1/partners"): {"partners": [BUNDLE]},
    ("GET", "/v1/partners/bundle"): {"partner": BUNDLE},
    ("POST", "/v1/partners"): {"partner": BUNDLE},
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=ANSWERS[(request.method, request.url.path)])

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    monkeypatch.setattr(commands.console, "width", 220)
    return requests


def run(*args: str) -> str:
    result = CliRunner().invoke(commands.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_create_sends_the_key_and_the_share_and_prints_the_terms(sent: list[httpx.Request], tmp_path: Path) -> None:
    pem = tmp_path / "bundle.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
    out = run("partners", "create", "bundle", "--public-key", str(pem), "--share-bps", "7000", "--name", "Bundle Co")
    (request,) = sent
    body = json.loads(request.content)
    assert body["request_id"]
    assert body["partner"] == {
        "partner_id": "bundle",
        "display_name": "Bundle Co",
        "public_key_pem": pem.read_text(),
        "revenue_share_bps": 7000,
    }
    assert "70.00 %" in out and "/v1/channels/partners/acme/bundle/events" in out


def test_create_without_a_share_leaves_the_default_to_the_gateway(sent: list[httpx.Request], tmp_path: Path) -> None:
    pem = tmp_path / "bundle.pem"
    pem.write_text("pem")
    run("partners", "create", "bundle", "--public-key", str(pem))
    assert "revenue_share_bps" not in json.loads(sent[0].content)["partner"]


def test_list_and_get_print_each_partners_share(sent: list[httpx.Request]) -> None:
    assert "70.00 %" in run("partners", "list")
    assert "Bundle Co" in run("partners", "get", "bundle")
    assert [r.url.path for r in sent] == ["/v1/partners", "/v1/partners/bundle"]
