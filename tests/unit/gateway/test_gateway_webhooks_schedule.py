"""The retry schedule: what follows each attempt, with jitter, Retry-After, 410 Gone and five days of failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from azotte_gateway.adapters.webhook_sender import retry_after
from azotte_gateway.domain.webhooks import (
    DISABLE_AFTER_FAILING,
    MAX_ATTEMPTS,
    DeliveryResult,
    DisabledReason,
    MessageState,
    WebhookEndpoint,
    WebhookMessage,
    next_step,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPEC_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
ENDPOINT = WebhookEndpoint("acme", "ep_1", "https://h.example/x", "", (), "whsec_AAAA", False, NOW, NOW)
MESSAGE = WebhookMessage("acme", "msg_1", "ep_1", "ev_1", "subscription.renewed", "{}", NOW)


def _after(attempts: int, result: DeliveryResult, draw: float = 0.5, endpoint: WebhookEndpoint = ENDPOINT):
    return next_step(replace(MESSAGE, round_attempts=attempts), endpoint, result, NOW, lambda: draw)


def test_the_schedule_is_immediately_5s_5min_30min_2h_5h_10h_10h() -> None:
    assert MAX_ATTEMPTS == 8
    delays = [_after(n, DeliveryResult(500, 1)).next_attempt_time for n in range(1, MAX_ATTEMPTS)]
    assert [delay - NOW for delay in delays if delay] == SPEC_DELAYS


@pytest.mark.parametrize("draw", [0.0, 0.999])
def test_jitter_moves_each_delay_by_at_most_a_tenth(draw: float) -> None:
    for attempts, spec in enumerate(SPEC_DELAYS, start=1):
        step = _after(attempts, DeliveryResult(0, 15000, error="timed out"), draw)
        assert step.next_attempt_time is not None
        delay = step.next_attempt_time - NOW
        assert spec * 0.9 <= delay <= spec * 1.1
        assert delay != spec


def test_a_2xx_delivers() -> None:
    for status in (200, 201, 204, 299):
        assert _after(1, DeliveryResult(status, 2)).state is MessageState.DELIVERED


def test_redirects_and_other_statuses_are_failures_retried() -> None:
    for status in (301, 302, 400, 404, 500):
        step = _after(1, DeliveryResult(status, 2))
        assert step.state is MessageState.PENDING and step.disable is None


def test_the_last_attempt_failing_ends_the_message_as_failed() -> None:
    step = _after(MAX_ATTEMPTS, DeliveryResult(500, 1))
    assert step == replace(step, state=MessageState.FAILED, next_attempt_time=None, disable=None)


def test_410_gone_disables_the_endpoint_at_once() -> None:
    step = _after(1, DeliveryResult(410, 1))
    assert (step.state, step.disable) == (MessageState.FAILED, DisabledReason.GONE)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_is_honoured_and_capped(status: int) -> None:
    step = _after(1, DeliveryResult(status, 1, retry_after=timedelta(seconds=120)))
    assert step.next_attempt_time == NOW + timedelta(seconds=120)
    capped = _after(1, DeliveryResult(status, 1, retry_after=timedelta(days=30)))
    assert capped.next_attempt_time == NOW + timedelta(hours=10)
    sooner = _after(3, DeliveryResult(status, 1, retry_after=timedelta(seconds=1)))
    assert sooner.next_attempt_time == NOW + timedelta(minutes=30)


def test_retry_after_on_other_statuses_is_ignored() -> None:
    step = _after(1, DeliveryResult(500, 1, retry_after=timedelta(hours=1)))
    assert step.next_attempt_time == NOW + timedelta(seconds=5)


def test_an_endpoint_failing_for_five_days_disables_itself() -> None:
    almost = replace(ENDPOINT, failing_since=NOW - DISABLE_AFTER_FAILING + timedelta(minutes=1))
    assert _after(2, DeliveryResult(500, 1), endpoint=almost).disable is None
    failing = replace(ENDPOINT, failing_since=NOW - DISABLE_AFTER_FAILING)
    step = _after(2, DeliveryResult(500, 1), endpoint=failing)
    assert (step.state, step.disable) == (MessageState.FAILED, DisabledReason.FAILING)
    assert _after(2, DeliveryResult(200, 1), endpoint=failing).state is MessageState.DELIVERED


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("30", NOW) == timedelta(seconds=30)
    assert retry_after("Sun, 01 Mar 2026 12:02:00 GMT", NOW) == timedelta(minutes=2)
    assert retry_after("Sun, 01 Mar 2026 11:00:00 GMT", NOW) == timedelta()
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None
