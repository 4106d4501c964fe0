"""PSP routing from storefront rules, and the failover policy across candidates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from azotte_payments.domain.charge import Attempt
from azotte_payments.domain.circuit_breaker import CircuitBreakerBoard
from azotte_payments.domain.declines import Outcome
from azotte_payments.errors import NoPspRoute


@dataclass(frozen=True)
class RoutingContext:
    """What routing rules look at."""

    currency: str
    country_code: str
    amount_minor: int
    payment_method_type: str


@dataclass(frozen=True)
class RoutingCondition:
    """All set fields must match; empty sets and None bounds match anything."""

    currencies: frozenset[str] = frozenset()
    country_codes: frozenset[str] = frozenset()
    payment_method_types: frozenset[str] = frozenset()
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None

    def matches(self, context: RoutingContext) -> bool:
        """Whether the context satisfies every condition (amount bounds are inclusive)."""
        return (
            (not self.currencies or context.currency in self.currencies)
            and (not self.country_codes or context.country_code in self.country_codes)
            and (not self.payment_method_types or context.payment_method_type in self.payment_method_types)
            and (self.min_amount_minor is None or context.amount_minor >= self.min_amount_minor)
            and (self.max_amount_minor is None or context.amount_minor <= self.max_amount_minor)
        )


@dataclass(frozen=True)
class RoutingRule:
    """Send matching charges to `psp`, then to `fallbacks` in order."""

    psp: str
    fallbacks: tuple[str, ...] = ()
    condition: RoutingCondition = field(default_factory=RoutingCondition)


def route(rules: Sequence[RoutingRule], context: RoutingContext) -> tuple[str, ...]:
    """Ordered PSP candidates: the first matching rule's PSP then its fallbacks, deduplicated."""
    # NOTE: rules are evaluated in the storefront's order; the first match decides.
    for rule in rules:
        if rule.condition.matches(context):
            return tuple(dict.fromkeys((rule.psp, *rule.fallbacks)))
    raise NoPspRoute(
        f"no payment routing rule matches {context.currency}/{context.country_code}/"
        f"{context.payment_method_type} for {context.amount_minor}"
    )


def should_fail_over(outcome: Outcome) -> bool:
    """Only retryable failures (errors, timeouts, unreachable PSP) move on to the next PSP."""
    # NOTE: soft and hard declines are the issuer's answer; another PSP would ask the same issuer.
    return outcome is Outcome.RETRYABLE


def next_psp(
    candidates: Sequence[str],
    attempts: Sequence[Attempt],
    breakers: CircuitBreakerBoard,
    now: datetime,
    breaker_key: Callable[[str], str] = str,
) -> str | None:
    """Next PSP to try, or None: stop after a final answer, skip tried PSPs and open breakers.

    `breaker_key` names the breaker of a PSP (a tenant's own account has its own).
    """
    if attempts:
        last = attempts[-1]
        if last.outcome is None or not should_fail_over(last.outcome):
            return None
    tried = {attempt.psp for attempt in attempts}
    for psp in candidates:
        if psp not in tried and breakers.breaker(breaker_key(psp)).allow_request(now):
            return psp
    return None


def record_psp_health(breakers: CircuitBreakerBoard, psp: str, outcome: Outcome, now: datetime) -> None:
    """Feed an attempt's outcome to its PSP's breaker: only retryable failures count against it."""
    breaker = breakers.breaker(psp)
    if outcome is Outcome.RETRYABLE:
        breaker.record_failure(now)
    else:
        breaker.record_success()
