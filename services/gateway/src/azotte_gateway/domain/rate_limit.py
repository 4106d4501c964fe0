"""Per-key token buckets: a burst up to capacity, refilled at a steady rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """A bucket's shape: `capacity` tokens at most, `refill_per_second` tokens added each second."""

    capacity: float
    refill_per_second: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.refill_per_second <= 0:
            raise ValueError("a rate limit needs capacity >= 1 and a positive refill rate")


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed; when not, how long until it could."""

    allowed: bool
    remaining: float
    retry_after_seconds: float

    @property
    def retry_after_header(self) -> int:
        """Whole seconds for an HTTP 429 `Retry-After` header (rounded up, at least 1)."""
        return max(1, math.ceil(self.retry_after_seconds))


class TokenBucket:
    """One token bucket, driven by a monotonic clock returning seconds."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._tokens = limit.capacity
        self._updated_at = clock()

    @property
    def limit(self) -> RateLimit:
        """The bucket's shape."""
        return self._limit

    def try_acquire(self, cost: float = 1.0) -> RateDecision:
        """Take `cost` tokens if available; otherwise take nothing and say when to retry."""
        if cost > self._limit.capacity:
            raise ValueError(f"cost {cost} exceeds the bucket capacity {self._limit.capacity}")
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return RateDecision(allowed=True, remaining=self._tokens, retry_after_seconds=0.0)
        wait = (cost - self._tokens) / self._limit.refill_per_second
        return RateDecision(allowed=False, remaining=self._tokens, retry_after_seconds=wait)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated_at)
        self._tokens = min(self._limit.capacity, self._tokens + elapsed * self._limit.refill_per_second)
        self._updated_at = now


class KeyRateLimiter:
    """Token buckets per API key id, held in this replica's memory."""

    # NOTE: buckets are per replica, so with N gateway replicas behind a balancer a key may reach
    # up to N times its limit; the clock must be monotonic wall time, never the sandbox clock.
    def __init__(self, default_limit: RateLimit, clock: Callable[[], float]) -> None:
        self._default_limit = default_limit
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, api_key_id: str, *, limit: RateLimit | None = None, cost: float = 1.0) -> RateDecision:
        """Spend from the key's bucket, (re)creating it at full capacity on first use or a new limit."""
        wanted = limit or self._default_limit
        bucket = self._buckets.get(api_key_id)
        if bucket is None or bucket.limit != wanted:
            bucket = TokenBucket(wanted, self._clock)
            self._buckets[api_key_id] = bucket
        return bucket.try_acquire(cost)

    def forget(self, api_key_id: str) -> None:
        """Drop a key's bucket (e.g. after revocation)."""
        self._buckets.pop(api_key_id, None)
