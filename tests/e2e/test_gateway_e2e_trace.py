"""With tracing on, a checkout through REST is one trace: the gateway, the services it calls, the relay's
publication of their events and the consumers that handle them (spans printed by each service, parsed back)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningSuite, started_suite
from tests.helpers import eventually

# NOTE: a suite of its own: tracing must be on in every process, and the session's suite serves the other tests
# (and the benchmarks' baselines) untraced.
TRACED = {"AZOTTE_TRACE_SAMPLE_RATIO": "1", "AZOTTE_TRACE_CONSOLE": "1"}


@pytest.fixture(scope="module")
async def traced_suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningSuite, Path]]:
    root = Path(tmp_path_factory.mktemp("traced"))
    async with started_suite(root, extra_env=TRACED) as running:
        yield running, root / "logs"


def printed_spans(logs: Path) -> list[dict[str, Any]]:
    """Every span the services printed (the console exporter's JSON objects, between their log lines)."""
    decoder, spans = json.JSONDecoder(), []
    for log in logs.glob("*.log"):
        text = log.read_text(errors="replace")
        start = text.find('{\n    "name"')
        while start >= 0:
            span, end = decoder.raw_decode(text, start)
            spans.append(span)
            start = text.find('{\n    "name"', end)
    return spans


async def test_a_checkout_is_one_trace_across_the_services_and_the_bus(traced_suite) -> None:
    running, logs = traced_suite
    tenant = await running.new_tenant()
    customer = await tenant.customer()
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    answer = await tenant.call(
        "POST",
        "/v1/checkout",
        json={
            "request_id": secrets.token_hex(8),
            "customer_id": customer,
            "storefront_id": "us",
            "plan_id": "basic_monthly",
            "channel": "web",
            "payment_method_token": "tok_success",
        },
        headers={"traceparent": f"00-{trace_id}-{caller}-01"},
    )
    assert answer.status_code == 200, answer.text

    def in_trace() -> list[dict[str, Any]]:
        return [span for span in printed_spans(logs) if span["context"]["trace_id"] == f"0x{trace_id}"]

    async def whole_trace() -> list[dict[str, Any]]:
        """The trace once every span's parent is in it (or is the caller), each service the checkout calls has
        exported its spans (every process exports on its own schedule) and a consumer handled an event."""
        spans = await asyncio.to_thread(in_trace)
        known = {span["context"]["span_id"] for span in spans} | {f"0x{caller}"}
        joined = all(span["parent_id"] in known for span in spans)
        services = {span["resource"]["attributes"]["service.name"] for span in spans}
        called = {"azotte-gateway", "azotte-lifecycle", "azotte-payments", "azotte-catalog"} <= services
        return spans if joined and called and any(span["name"].startswith("consume ") for span in spans) else []

    spans = await eventually(whole_trace, within=90, interval=1.0)
    by_id = {span["context"]["span_id"]: span for span in spans}
    (checkout,) = (span for span in spans if span["parent_id"] == f"0x{caller}")
    assert (checkout["name"], checkout["kind"]) == ("POST /v1/checkout", "SpanKind.SERVER")
    consumers = [span for span in spans if span["name"].startswith("consume ")]
    for span in consumers:
        publication = by_id[span["parent_id"]]
        assert publication["kind"] == "SpanKind.PRODUCER"
        assert publication["name"] == "publish " + span["name"].removeprefix("consume ")
    assert "consume subscription.activated" in {span["name"] for span in consumers}
