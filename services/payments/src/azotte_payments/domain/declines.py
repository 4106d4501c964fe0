"""Normalized outcome of a PSP operation, whatever the provider's wire codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What a PSP answer means for the charge and for failover."""

    APPROVED = "approved"
    SOFT_DECLINE = "soft_decline"
    HARD_DECLINE = "hard_decline"
    RETRYABLE = "retryable"


class DeclineReason(StrEnum):
    """Provider-independent reason code of a non-approved answer."""

    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    DO_NOT_HONOR = "DO_NOT_HONOR"
    STOLEN_CARD = "STOLEN_CARD"
    LOST_CARD = "LOST_CARD"
    EXPIRED_CARD = "EXPIRED_CARD"
    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    TIMEOUT = "TIMEOUT"
    # The PSP took the payment but has not decided yet (a carrier processing it, or waiting for the
    # subscriber's validation): like a timeout, money may still move, so the charge waits for its answer.
    AWAITING_PSP = "AWAITING_PSP"
    PSP_UNAVAILABLE = "PSP_UNAVAILABLE"
    INVALID_REQUEST = "INVALID_REQUEST"
    UNKNOWN_DECLINE = "UNKNOWN_DECLINE"


def outcome_for(reason: DeclineReason) -> Outcome:
    """Classify a normalized reason into soft / hard decline or retryable failure."""
    match reason:
        # NOTE: soft declines may succeed later (dunning retries); hard declines never will.
        case DeclineReason.INSUFFICIENT_FUNDS | DeclineReason.DO_NOT_HONOR:
            return Outcome.SOFT_DECLINE
        case DeclineReason.UNKNOWN_DECLINE:
            return Outcome.SOFT_DECLINE
        # NOTE: the card is fine but its issuer wants the customer to authenticate (SCA / 3-D Secure).
        case DeclineReason.AUTHENTICATION_REQUIRED:
            return Outcome.SOFT_DECLINE
        case DeclineReason.STOLEN_CARD | DeclineReason.LOST_CARD | DeclineReason.EXPIRED_CARD:
            return Outcome.HARD_DECLINE
        case DeclineReason.INVALID_REQUEST:
            return Outcome.HARD_DECLINE
        case DeclineReason.PROCESSING_ERROR | DeclineReason.TIMEOUT | DeclineReason.PSP_UNAVAILABLE:
            return Outcome.RETRYABLE
        case DeclineReason.AWAITING_PSP:
            return Outcome.RETRYABLE


UNSETTLED = frozenset({DeclineReason.TIMEOUT, DeclineReason.AWAITING_PSP})


@dataclass(frozen=True)
class Decline:
    """A normalized non-approved answer with the provider's raw code kept for support."""

    reason: DeclineReason
    raw_code: str = ""

    @property
    def outcome(self) -> Outcome:
        """Soft, hard or retryable."""
        return outcome_for(self.reason)


@dataclass(frozen=True)
class PspChargeResult:
    """Normalized answer of a PSP to a charge (or to a lookup by idempotency key)."""

    psp: str
    outcome: Outcome
    psp_reference: str | None = None
    decline: Decline | None = None
    latency_ms: int = 0
    # NOTE: set when the PSP needs the customer (AUTHENTICATION_REQUIRED): what their page completes it with.
    client_secret: str = ""

    @classmethod
    def approved(cls, psp: str, psp_reference: str, latency_ms: int = 0) -> PspChargeResult:
        """An approved (captured) charge."""
        return cls(psp, Outcome.APPROVED, psp_reference, None, latency_ms)

    @classmethod
    def declined(
        cls,
        psp: str,
        decline: Decline,
        psp_reference: str | None = None,
        latency_ms: int = 0,
        client_secret: str = "",
    ) -> PspChargeResult:
        """A declined or failed charge, classified by its normalized reason."""
        return cls(psp, decline.outcome, psp_reference, decline, latency_ms, client_secret)

    @property
    def reason(self) -> DeclineReason | None:
        """Normalized reason, None when approved."""
        return self.decline.reason if self.decline else None

    @property
    def unsettled(self) -> bool:
        """Money may still move (a timeout, or a PSP still deciding): never fail over, look it up later."""
        return self.reason in UNSETTLED


@dataclass(frozen=True)
class PspOperationResult:
    """Normalized answer of a PSP to a refund or a void."""

    psp: str
    succeeded: bool
    psp_reference: str | None = None
    error_code: str = ""
    retryable: bool = False
