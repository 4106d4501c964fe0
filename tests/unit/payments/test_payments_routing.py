from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from azotte_payments import errors
from azotte_payments.domain.charge import Charge, ChargeRequest, ChargeStatus
from azotte_payments.domain.circuit_breaker import BreakerSettings, CircuitBreakerBoard
from azotte_payments.domain.declines import Decline, DeclineReason, Outcome, PspChargeResult
from azotte_payments.domain.routing import (
    RoutingCondition,
    RoutingContext,
    RoutingRule,
    next_psp,
    record_psp_health,
    route,
    should_fail_over,
)
from azotte_platform.tax import TaxMode, TaxPolicy

NOW = datetime(2025, 3, 1, tzinfo=UTC)

RULES = [
    RoutingRule("adyen", ("stripe",), RoutingCondition(currencies=frozenset({"EUR"}), country_codes=frozenset({"DE"}))),
    RoutingRule("stripe", ("adyen",), RoutingCondition(min_amount_minor=100_000)),
    RoutingRule("paypal_psp", (), RoutingCondition(payment_method_types=frozenset({"paypal"}))),
    RoutingRule("stripe", ("adyen", "stripe")),
]


def context(currency: str = "USD", country: str = "US", amount: int = 999, method: str = "card") -> RoutingContext:
    return RoutingContext(currency, country, amount, method)


def test_first_matching_rule_gives_psp_then_fallbacks() -> None:
    assert route(RULES, context("EUR", "DE")) == ("adyen", "stripe")


def test_conditions_must_all_match() -> None:
    assert route(RULES, context("EUR", "FR")) == ("stripe", "adyen")


def test_amount_bounds_are_inclusive() -> None:
    assert route(RULES, context(amount=100_000, method="paypal")) == ("stripe", "adyen")
    assert route(RULES, context(amount=99_999, method="paypal")) == ("paypal_psp",)


def test_candidates_are_deduplicated() -> None:
    assert route(RULES, context()) == ("stripe", "adyen")


def test_no_matching_rule_is_a_failed_precondition() -> None:
    with pytest.raises(errors.NoPspRoute) as error:
        route(RULES[:1], context())
    assert error.value.reason == "NO_PSP_ROUTE"


@pytest.mark.parametrize(
    ("outcome", "fails_over"),
    [
        (Outcome.RETRYABLE, True),
        (Outcome.SOFT_DECLINE, False),
        (Outcome.HARD_DECLINE, False),
        (Outcome.APPROVED, False),
    ],
)
def test_only_retryable_outcomes_fail_over(outcome: Outcome, fails_over: bool) -> None:
    assert should_fail_over(outcome) is fails_over


class FakePsp:
    """Answers with a fixed result and counts calls."""

    def __init__(self, name: str, reason: DeclineReason | None) -> None:
        self.name, self.reason, self.calls = name, reason, 0

    def charge(self) -> PspChargeResult:
        self.calls += 1
        if self.reason is None:
            return PspChargeResult.approved(self.name, f"{self.name}_ref", latency_ms=12)
        return PspChargeResult.declined(self.name, Decline(self.reason), latency_ms=34)


def new_charge() -> Charge:
    request = ChargeRequest("cus_1", "sf_us", "web", "plan_pro", 999, "USD", "pm_1")
    return Charge.create("ch_1", request, "key-1", "USD", TaxPolicy(TaxMode.EXCLUSIVE, Decimal(0)), 0, NOW)


def run(charge: Charge, psps: list[FakePsp], board: CircuitBreakerBoard, now: datetime = NOW) -> Charge:
    """What the charge use case does: try routed PSPs in order, failing over on retryable failures."""
    by_name = {psp.name: psp for psp in psps}
    candidates = [psp.name for psp in psps]
    while (name := next_psp(candidates, charge.attempts, board, now)) is not None:
        attempt = charge.begin_attempt(name, now)
        assert attempt.pending
        result = by_name[name].charge()
        charge.complete_attempt(result, now)
        record_psp_health(board, name, result.outcome, now)
    charge.exhaust(now)
    return charge


@pytest.mark.parametrize(
    "reason", [DeclineReason.PROCESSING_ERROR, DeclineReason.TIMEOUT, DeclineReason.PSP_UNAVAILABLE]
)
def test_retryable_failure_fails_over_to_the_next_psp(reason: DeclineReason) -> None:
    first, second = FakePsp("a", reason), FakePsp("b", None)
    charge = run(new_charge(), [first, second], CircuitBreakerBoard())
    assert charge.status is ChargeStatus.SUCCEEDED
    assert (charge.psp, charge.psp_reference) == ("b", "b_ref")
    assert [(a.psp, a.outcome, a.decline.reason if a.decline else None) for a in charge.attempts] == [
        ("a", Outcome.RETRYABLE, reason),
        ("b", Outcome.APPROVED, None),
    ]
    assert [a.latency_ms for a in charge.attempts] == [34, 12]


@pytest.mark.parametrize(
    "reason", [DeclineReason.INSUFFICIENT_FUNDS, DeclineReason.DO_NOT_HONOR, DeclineReason.STOLEN_CARD]
)
def test_declines_do_not_fail_over(reason: DeclineReason) -> None:
    first, second = FakePsp("a", reason), FakePsp("b", None)
    charge = run(new_charge(), [first, second], CircuitBreakerBoard())
    assert charge.status is ChargeStatus.FAILED
    assert charge.decline is not None and charge.decline.reason is reason
    assert second.calls == 0


def test_all_psps_failing_fails_the_charge_with_the_last_reason() -> None:
    charge = run(
        new_charge(),
        [FakePsp("a", DeclineReason.PSP_UNAVAILABLE), FakePsp("b", DeclineReason.PROCESSING_ERROR)],
        CircuitBreakerBoard(),
    )
    assert charge.status is ChargeStatus.FAILED
    assert charge.decline == Decline(DeclineReason.PROCESSING_ERROR)


def test_a_timeout_with_no_success_leaves_the_charge_unknown() -> None:
    charge = run(
        new_charge(),
        [FakePsp("a", DeclineReason.TIMEOUT), FakePsp("b", DeclineReason.PROCESSING_ERROR)],
        CircuitBreakerBoard(),
    )
    assert charge.status is ChargeStatus.UNKNOWN
    assert [attempt.number for attempt in charge.unreconciled_attempts()] == [1]


def test_open_breaker_skips_its_psp_until_cooldown() -> None:
    board = CircuitBreakerBoard(BreakerSettings(failure_threshold=2, cooldown=timedelta(minutes=1)))
    flaky, healthy = FakePsp("a", DeclineReason.PROCESSING_ERROR), FakePsp("b", None)
    for _ in range(2):
        run(new_charge(), [flaky, healthy], board)
    assert flaky.calls == 2
    run(new_charge(), [flaky, healthy], board)
    assert flaky.calls == 2
    flaky.reason = None
    charge = run(new_charge(), [flaky, healthy], board, NOW + timedelta(minutes=1))
    assert charge.psp == "a"
    assert board.breaker("a").allow_request(NOW + timedelta(minutes=1))


def test_declines_count_as_a_healthy_psp() -> None:
    board = CircuitBreakerBoard(BreakerSettings(failure_threshold=1))
    run(new_charge(), [FakePsp("a", DeclineReason.INSUFFICIENT_FUNDS)], board)
    assert board.breaker("a").allow_request(NOW)
