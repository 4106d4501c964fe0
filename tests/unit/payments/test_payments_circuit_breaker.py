from datetime import UTC, datetime, timedelta

from azotte_payments.domain.circuit_breaker import BreakerSettings, BreakerState, CircuitBreaker

START = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    """Time that moves only when told."""

    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def breaker() -> CircuitBreaker:
    return CircuitBreaker(BreakerSettings(failure_threshold=3, cooldown=timedelta(seconds=30)))


def test_opens_after_threshold_consecutive_failures() -> None:
    clock, subject = FakeClock(), breaker()
    for _ in range(2):
        subject.record_failure(clock.now())
    assert subject.allow_request(clock.now())
    subject.record_failure(clock.now())
    assert subject.state_at(clock.now()) is BreakerState.OPEN
    assert not subject.allow_request(clock.now())


def test_a_success_resets_the_failure_count() -> None:
    clock, subject = FakeClock(), breaker()
    subject.record_failure(clock.now())
    subject.record_failure(clock.now())
    subject.record_success()
    subject.record_failure(clock.now())
    assert subject.state_at(clock.now()) is BreakerState.CLOSED


def test_half_open_after_cooldown_admits_one_probe() -> None:
    clock, subject = FakeClock(), breaker()
    for _ in range(3):
        subject.record_failure(clock.now())
    clock.advance(29)
    assert not subject.allow_request(clock.now())
    clock.advance(1)
    assert subject.state_at(clock.now()) is BreakerState.HALF_OPEN
    assert subject.allow_request(clock.now())
    assert not subject.allow_request(clock.now())


def test_successful_probe_closes() -> None:
    clock, subject = FakeClock(), breaker()
    for _ in range(3):
        subject.record_failure(clock.now())
    clock.advance(30)
    assert subject.allow_request(clock.now())
    subject.record_success()
    assert subject.state_at(clock.now()) is BreakerState.CLOSED
    assert subject.allow_request(clock.now())


def test_failed_probe_reopens_for_a_new_cooldown() -> None:
    clock, subject = FakeClock(), breaker()
    for _ in range(3):
        subject.record_failure(clock.now())
    clock.advance(30)
    assert subject.allow_request(clock.now())
    subject.record_failure(clock.now())
    assert subject.state_at(clock.now()) is BreakerState.OPEN
    clock.advance(29)
    assert not subject.allow_request(clock.now())
    clock.advance(1)
    assert subject.allow_request(clock.now())
