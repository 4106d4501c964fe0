"""The lifecycle policy's `duplicate_across_channels` rule through the gateway: the catalog document's section,
the public rules of REST/gRPC both ways (a value lifecycle lacks is refused naming the field), the CLI option, and
the webhook event type a tenant may subscribe to."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import policy_pb2 as po
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters import proto
from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient
from azotte_gateway.domain.webhooks import EVENT_TYPES
from azotte_gateway.service_layer import policy
from azotte_platform.errors import InvalidArgument

SECTION = """
plans: []
lifecycle_policy:
  duplicate_across_channels: flag
  plans:
    basic_monthly: {duplicate_across_channels: allow}
"""


def test_the_documents_section_sets_the_rule_for_the_tenant_and_a_plan() -> None:
    section = policy.document_section(SECTION, cat.DOCUMENT_FORMAT_YAML)
    assert section is not None
    assert section.duplicate_across_channels == lc.DUPLICATE_ACROSS_CHANNELS_FLAG
    assert section.plan_overrides["basic_monthly"].duplicate_across_channels == lc.DUPLICATE_ACROSS_CHANNELS_ALLOW
    with pytest.raises(InvalidArgument) as refused:
        policy.document_section("lifecycle_policy: {duplicate_across_channels: refuse}", cat.DOCUMENT_FORMAT_YAML)
    assert refused.value.violations[0].field == "lifecycle_policy.duplicate_across_channels"


def test_the_public_rule_is_lifecycles_both_ways_and_an_unknown_value_names_its_field() -> None:
    rules = po.LifecyclePolicyRules(duplicate_across_channels=po.DUPLICATE_ACROSS_CHANNELS_FLAG)
    assert proto.lifecycle_rules(rules).duplicate_across_channels == lc.DUPLICATE_ACROSS_CHANNELS_FLAG
    stored = lc.LifecyclePolicy(duplicate_across_channels=lc.DUPLICATE_ACROSS_CHANNELS_FLAG)
    assert proto.policy_rules(stored).duplicate_across_channels == po.DUPLICATE_ACROSS_CHANNELS_FLAG
    with pytest.raises(InvalidArgument) as refused:
        proto.lifecycle_rules(po.LifecyclePolicyRules(duplicate_across_channels=7))  # type: ignore[arg-type]
    assert refused.value.violations[0].field == "rules.duplicate_across_channels"
    assert "duplicate_across_channels" in policy.RULE_PATHS


def test_the_cli_sets_the_rule_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        rules = {"duplicate_across_channels": "DUPLICATE_ACROSS_CHANNELS_FLAG"}
        body = {"policy": {"rules": rules, "version": "2"}, "effective_time": "", "applies_to": "due work"}
        return httpx.Response(200, json=body)

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    monkeypatch.setattr(commands.console, "width", 200)
    result = CliRunner().invoke(commands.app, ["policy", "set", "--duplicate-across-channels", "flag"])
    assert result.exit_code == 0, result.output
    body = json.loads(sent[0].content)
    assert (body["rules"], body["update_mask"]) == ({"duplicate_across_channels": "FLAG"}, "duplicate_across_channels")
    assert "flag" in result.output


def test_a_tenant_may_subscribe_its_webhooks_to_the_event() -> None:
    assert "subscription.duplicate_across_channels" in EVENT_TYPES
