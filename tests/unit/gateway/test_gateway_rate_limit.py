"""Per-key token buckets under a fake clock."""

from __future__ import annotations

import pytest

from azotte_gateway.domain.rate_limit import KeyRateLimiter, RateLimit, TokenBucket


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_burst_up_to_capacity_then_refused_with_retry_after() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(capacity=5, refill_per_second=2), clock)
    assert all(bucket.try_acquire().allowed for _ in range(5))
    refused = bucket.try_acquire()
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx(0.5)
    assert refused.retry_after_header == 1


def test_refill_restores_tokens_at_the_rate_and_never_above_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(capacity=3, refill_per_second=1), clock)
    for _ in range(3):
        bucket.try_acquire()
    clock.seconds += 1
    assert bucket.try_acquire().allowed
    assert not bucket.try_acquire().allowed
    clock.seconds += 3600
    decisions = [bucket.try_acquire().allowed for _ in range(4)]
    assert decisions == [True, True, True, False]


def test_retry_after_is_exact_once_waited() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(capacity=1, refill_per_second=0.1), clock)
    bucket.try_acquire()
    wait = bucket.try_acquire().retry_after_seconds
    assert wait == pytest.approx(10)
    clock.seconds += wait - 0.01
    assert not bucket.try_acquire().allowed
    clock.seconds += 0.01
    assert bucket.try_acquire().allowed


def test_a_refused_request_spends_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(capacity=2, refill_per_second=1), clock)
    bucket.try_acquire(2)
    for _ in range(10):
        assert not bucket.try_acquire().allowed
    clock.seconds += 1
    assert bucket.try_acquire().allowed


def test_each_key_has_its_own_bucket() -> None:
    limiter = KeyRateLimiter(RateLimit(capacity=1, refill_per_second=1), FakeClock())
    assert limiter.check("key-a").allowed
    assert not limiter.check("key-a").allowed
    assert limiter.check("key-b").allowed


def test_a_key_specific_limit_overrides_the_default() -> None:
    limiter = KeyRateLimiter(RateLimit(capacity=1, refill_per_second=1), FakeClock())
    generous = RateLimit(capacity=3, refill_per_second=1)
    assert [limiter.check("key-a", limit=generous).allowed for _ in range(4)] == [True, True, True, False]
