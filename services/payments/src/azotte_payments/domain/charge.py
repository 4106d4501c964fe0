"""Charge aggregate: tax, credit, PSP attempts and the pending → final state machine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_payments.domain.charge_lines import ChargeLine
from azotte_payments.domain.declines import UNSETTLED, Decline, DeclineReason, Outcome, PspChargeResult
from azotte_payments.domain.events import ChargeEvent, ChargeFailed, ChargeSucceeded
from azotte_payments.domain.idempotency import request_fingerprint
from azotte_payments.errors import CurrencyMismatch
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.tax import TaxBreakdown, TaxPolicy, tax_for_line


class ChargeStatus(StrEnum):
    """Pending while PSPs are tried; unknown when a timeout leaves the result open."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    VOIDED = "voided"


class RefundedFilter(StrEnum):
    """Which charges a list keeps by what was refunded of them."""

    NONE = "none"
    PARTLY = "partly"
    FULLY = "fully"


@dataclass(frozen=True)
class ChargeQuery:
    """Which of a customer's charges a list keeps, and in which order."""

    customer_id: str
    subscription_id: str = ""
    statuses: tuple[ChargeStatus, ...] = ()
    refunded: RefundedFilter | None = None
    oldest_first: bool = False


class ReconcileAction(StrEnum):
    """What to do with a PSP-side charge found when reconciling a timed-out attempt."""

    NONE = "none"
    VOID_DUPLICATE = "void_duplicate"


@dataclass
class Attempt:
    """One call to one PSP, recorded (pending) before the call is made."""

    number: int
    psp: str
    psp_idempotency_key: str
    started_at: datetime
    outcome: Outcome | None = None
    decline: Decline | None = None
    psp_reference: str | None = None
    latency_ms: int = 0
    # What the customer's page completes an authentication with (the PSP's client secret), when one is needed.
    client_secret: str = ""

    @property
    def pending(self) -> bool:
        """The PSP has not answered yet."""
        return self.outcome is None

    @property
    def timed_out(self) -> bool:
        """The PSP did not answer in time, or is still deciding: money may or may not have moved."""
        return self.decline is not None and self.decline.reason in UNSETTLED


def validate_currency(currency: str, storefront_currency: str) -> None:
    """The charge currency must be an ISO 4217 code equal to the storefront's currency."""
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidArgument.field("amount.currency_code", "must be an ISO 4217 code like 'EUR'")
    if currency != storefront_currency:
        raise CurrencyMismatch.field(
            "amount.currency_code", f"{currency} does not match the storefront currency {storefront_currency}"
        )


@dataclass(frozen=True)
class ChargeRequest:
    """The content of a charge request; its fingerprint guards the idempotency key."""

    customer_id: str
    storefront_id: str
    channel: str
    plan_id: str
    price_minor: int
    currency: str
    payment_method_id: str
    description: str = ""
    subscription_id: str = ""
    period_key: str = ""
    discount_minor: int = 0
    lines: tuple[ChargeLine, ...] = field(default=(), compare=False)
    """What the price is made of, when the request said (`CreateCharge.fingerprint` covers them)."""

    def fingerprint(self) -> str:
        """Hash of the content (the idempotency key itself is not part of it)."""
        return request_fingerprint(asdict(self))


@dataclass
class Charge:
    """A request to collect money from a customer, paid by credit first, then by a PSP."""

    charge_id: str
    request: ChargeRequest
    idempotency_key: str
    amounts: TaxBreakdown
    credit_applied_minor: int
    created_at: datetime
    status: ChargeStatus = ChargeStatus.PENDING
    attempts: list[Attempt] = field(default_factory=list)
    decline: Decline | None = None
    psp: str | None = None
    psp_reference: str | None = None
    refunded_minor: int = 0
    refunded_to_method_minor: int = 0
    # NOTE: facts to publish, not state: they refer back to this charge, so equality and repr skip them.
    events: list[ChargeEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        charge_id: str,
        request: ChargeRequest,
        idempotency_key: str,
        storefront_currency: str,
        tax_policy: TaxPolicy,
        credit_available_minor: int,
        now: datetime,
    ) -> Charge:
        """Price the charge (tax, credit); a charge fully covered by credit succeeds at once."""
        if not idempotency_key:
            raise InvalidArgument.field("idempotency_key", "is required")
        if request.discount_minor < 0:
            raise InvalidArgument.field("discount", "must not be negative")
        validate_currency(request.currency, storefront_currency)
        amounts = tax_for_line(request.price_minor, tax_policy)
        # NOTE: customer credit is applied before charging; only the rest goes to a PSP.
        credit = max(0, min(credit_available_minor, amounts.gross_minor))
        charge = cls(charge_id, request, idempotency_key, amounts, credit, now)
        if charge.psp_amount_minor == 0:
            charge._succeed(now)
        return charge

    @property
    def currency(self) -> str:
        """Currency of every amount of this charge."""
        return self.request.currency

    @property
    def psp_amount_minor(self) -> int:
        """What a PSP must capture: gross minus the credit applied."""
        return self.amounts.gross_minor - self.credit_applied_minor

    @property
    def needs_psp(self) -> bool:
        """Whether a PSP must still be called."""
        return self.status is ChargeStatus.PENDING

    def begin_attempt(self, psp: str, now: datetime) -> Attempt:
        """Record a pending attempt on `psp`; to be stored before the PSP is called."""
        if self.status is not ChargeStatus.PENDING:
            raise FailedPrecondition(f"charge {self.charge_id} is {self.status}, not pending")
        if any(attempt.pending for attempt in self.attempts):
            raise FailedPrecondition(f"charge {self.charge_id} already has an attempt in flight")
        # NOTE: one PSP idempotency key per (charge, PSP) so a resent attempt never captures twice.
        attempt = Attempt(len(self.attempts) + 1, psp, f"{self.charge_id}:{psp}", now)
        self.attempts.append(attempt)
        return attempt

    def complete_attempt(self, result: PspChargeResult, now: datetime) -> None:
        """Record the PSP's answer; approval or a decline is final, a retryable failure is not."""
        attempt = self._pending_attempt(result.psp)
        attempt.outcome = result.outcome
        attempt.decline = result.decline
        attempt.psp_reference = result.psp_reference
        attempt.latency_ms = result.latency_ms
        attempt.client_secret = result.client_secret
        if result.outcome is Outcome.APPROVED:
            self.psp, self.psp_reference = result.psp, result.psp_reference
            self._succeed(now)
        elif result.outcome in (Outcome.SOFT_DECLINE, Outcome.HARD_DECLINE):
            # NOTE: a decline is the issuer's answer: no failover, the charge fails.
            self._fail(result.decline, now)

    def exhaust(self, now: datetime) -> None:
        """No PSP left to try: unknown if any attempt timed out, otherwise failed."""
        if self.status is not ChargeStatus.PENDING:
            return
        last = self.attempts[-1].decline if self.attempts else None
        unsettled = [attempt.decline for attempt in self.attempts if attempt.timed_out]
        if unsettled:
            # NOTE: a timeout may have captured (a carrier may still); the charge stays unknown until reconciled.
            self.status = ChargeStatus.UNKNOWN
            self.decline = unsettled[-1]
            return
        self._fail(last or Decline(DeclineReason.PSP_UNAVAILABLE), now)

    def settle_orphaned_attempt(self, found: PspChargeResult | None, now: datetime) -> None:
        """Resolve an attempt left in flight by a crash, from what the PSP recorded for its key."""
        attempt = self.attempts[-1] if self.attempts else None
        if attempt is None or not attempt.pending:
            raise FailedPrecondition(f"charge {self.charge_id} has no attempt in flight")
        # NOTE: the PSP never saw the key, so nothing was captured: the attempt counts as retryable.
        result = found or PspChargeResult.declined(attempt.psp, Decline(DeclineReason.PSP_UNAVAILABLE, "not_found"))
        self.complete_attempt(result, now)

    @property
    def outcome(self) -> Outcome | None:
        """Normalized outcome so far: approved, the decline's outcome, retryable while unknown."""
        match self.status:
            case ChargeStatus.SUCCEEDED | ChargeStatus.VOIDED:
                return Outcome.APPROVED
            case ChargeStatus.FAILED:
                return self.decline.outcome if self.decline else Outcome.SOFT_DECLINE
            case ChargeStatus.UNKNOWN:
                return Outcome.RETRYABLE
            case _:
                return None

    def unreconciled_attempts(self) -> list[Attempt]:
        """Timed-out attempts whose PSP-side result has not been looked up yet."""
        return [attempt for attempt in self.attempts if attempt.timed_out]

    def reconcile_attempt(self, attempt_number: int, found: PspChargeResult | None, now: datetime) -> ReconcileAction:
        """Apply what the PSP reports for a timed-out attempt's idempotency key."""
        attempt = self.attempts[attempt_number - 1]
        if not attempt.timed_out:
            raise FailedPrecondition(f"attempt {attempt_number} did not time out")
        approved = found is not None and found.outcome is Outcome.APPROVED
        attempt.outcome = found.outcome if found else Outcome.RETRYABLE
        attempt.decline = found.decline if found else Decline(DeclineReason.PSP_UNAVAILABLE)
        attempt.psp_reference = found.psp_reference if found else None
        if self.status is ChargeStatus.UNKNOWN:
            if approved:
                self.psp, self.psp_reference = attempt.psp, attempt.psp_reference
                self._succeed(now)
            elif not self.unreconciled_attempts():
                self._fail(attempt.decline or Decline(DeclineReason.PSP_UNAVAILABLE), now)
            return ReconcileAction.NONE
        if approved and self.psp_reference != attempt.psp_reference:
            # NOTE: another PSP captured this charge already; the late capture must be voided.
            return ReconcileAction.VOID_DUPLICATE
        return ReconcileAction.NONE

    def complete_authentication(self, psp_reference: str, now: datetime) -> bool:
        """The customer authenticated the attempt `psp_reference` declined for it, and the PSP captured it.

        False (nothing changes) unless the charge failed waiting for that authentication.
        """
        waiting = self.decline is not None and self.decline.reason is DeclineReason.AUTHENTICATION_REQUIRED
        attempt = next((a for a in self.attempts if a.psp_reference == psp_reference), None)
        # NOTE: credit a failed charge had reserved was given back; such a charge is not revived.
        if self.status is not ChargeStatus.FAILED or not waiting or attempt is None or self.credit_applied_minor:
            return False
        attempt.outcome, attempt.decline = Outcome.APPROVED, None
        self.psp, self.psp_reference = attempt.psp, psp_reference
        self._succeed(now)
        return True

    def abandoned_capture(self, psp_reference: str) -> bool:
        """Whether the PSP captured, once authenticated, an attempt of this charge that cannot revive it.

        Such a charge failed and gave its reserved credit back: the money the PSP took must go back.
        """
        waiting = self.decline is not None and self.decline.reason is DeclineReason.AUTHENTICATION_REQUIRED
        mine = any(attempt.psp_reference == psp_reference for attempt in self.attempts)
        return self.status is ChargeStatus.FAILED and waiting and mine and self.credit_applied_minor > 0

    def void(self) -> None:
        """Cancel a succeeded charge before any refund (checkout compensation)."""
        if self.status is not ChargeStatus.SUCCEEDED:
            raise FailedPrecondition(f"charge {self.charge_id} is {self.status}; only succeeded can be voided")
        if self.refunded_minor:
            raise FailedPrecondition(f"charge {self.charge_id} is partially refunded; refund instead")
        self.status = ChargeStatus.VOIDED

    def _pending_attempt(self, psp: str) -> Attempt:
        if not self.attempts or not self.attempts[-1].pending or self.attempts[-1].psp != psp:
            raise FailedPrecondition(f"charge {self.charge_id} has no pending attempt on {psp}")
        return self.attempts[-1]

    def _succeed(self, now: datetime) -> None:
        self.status = ChargeStatus.SUCCEEDED
        self.decline = None
        self.events.append(ChargeSucceeded(self))

    def _fail(self, decline: Decline | None, now: datetime) -> None:
        self.status = ChargeStatus.FAILED
        self.decline = decline or Decline(DeclineReason.UNKNOWN_DECLINE)
        self.events.append(ChargeFailed(self))


@dataclass
class ChargeRecord:
    """A charge with what it needs to be resumed after a restart: its token, route and fingerprint."""

    tenant_id: str
    charge: Charge
    fingerprint: str
    payment_method_type: str
    payment_token: str
    candidates: tuple[str, ...]
