"""Per-PSP circuit breaker: stop sending charges to a provider that keeps failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class BreakerState(StrEnum):
    """Closed lets traffic through, open skips the PSP, half-open lets one probe through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    """How many consecutive failures open the breaker and how long it stays open."""

    failure_threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)


@dataclass
class CircuitBreaker:
    """Breaker of one PSP; time is always passed in by the caller's clock."""

    settings: BreakerSettings = field(default_factory=BreakerSettings)
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: datetime | None = None
    probe_in_flight: bool = False

    def state_at(self, now: datetime) -> BreakerState:
        """State as seen at `now` (an open breaker whose cooldown elapsed reads half-open)."""
        if self.state is BreakerState.OPEN and self._cooldown_elapsed(now):
            return BreakerState.HALF_OPEN
        return self.state

    def allow_request(self, now: datetime) -> bool:
        """Whether a call may go to this PSP now; a half-open breaker admits a single probe."""
        current = self.state_at(now)
        if current is BreakerState.CLOSED:
            return True
        if current is BreakerState.OPEN:
            return False
        # NOTE: half-open admits exactly one probe; its result closes or re-opens the breaker.
        if self.probe_in_flight:
            return False
        self.state = BreakerState.HALF_OPEN
        self.probe_in_flight = True
        return True

    def record_success(self) -> None:
        """The PSP answered (approval or decline): close the breaker."""
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = None
        self.probe_in_flight = False

    def record_failure(self, now: datetime) -> None:
        """The PSP failed (error, timeout, unreachable): count it, open at the threshold."""
        self.consecutive_failures += 1
        self.probe_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self.consecutive_failures >= self.settings.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = now

    def _cooldown_elapsed(self, now: datetime) -> bool:
        return self.opened_at is not None and now >= self.opened_at + self.settings.cooldown


@dataclass
class CircuitBreakerBoard:
    """The breakers of all PSPs, created on first use with shared settings."""

    settings: BreakerSettings = field(default_factory=BreakerSettings)
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)

    def breaker(self, psp: str) -> CircuitBreaker:
        """The breaker of `psp`."""
        if psp not in self.breakers:
            self.breakers[psp] = CircuitBreaker(self.settings)
        return self.breakers[psp]
