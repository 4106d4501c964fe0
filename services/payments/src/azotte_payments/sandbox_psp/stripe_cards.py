"""Stripe's test cards, by the names of its test PaymentMethods (`pm_card_visa`) and tokens (`tok_visa`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CardBehaviour(StrEnum):
    """What a test card does when a PaymentIntent confirms it."""

    APPROVE = "approve"
    DECLINE = "decline"
    # Every payment needs 3-D Secure: on-session `requires_action`, off-session `authentication_required`.
    AUTHENTICATE = "authenticate"
    # Approved, then the cardholder disputes it (`charge.dispute.created`).
    DISPUTE = "dispute"


@dataclass(frozen=True)
class Card:
    """A test card: brand, last four, behaviour and, for declines, Stripe's codes."""

    brand: str
    last4: str
    behaviour: CardBehaviour
    code: str = ""
    decline_code: str = ""
    message: str = ""


def _declined(last4: str, decline_code: str, message: str, code: str = "card_declined") -> Card:
    return Card("visa", last4, CardBehaviour.DECLINE, code, decline_code, message)


CARDS: dict[str, Card] = {
    "visa": Card("visa", "4242", CardBehaviour.APPROVE),
    "mastercard": Card("mastercard", "4444", CardBehaviour.APPROVE),
    "chargeDeclined": _declined("0002", "generic_decline", "Your card was declined."),
    "chargeDeclinedInsufficientFunds": _declined("9995", "insufficient_funds", "Your card has insufficient funds."),
    "chargeDeclinedLostCard": _declined("9987", "lost_card", "Your card was declined."),
    "chargeDeclinedStolenCard": _declined("9979", "stolen_card", "Your card was declined."),
    "chargeDeclinedExpiredCard": _declined("0069", "expired_card", "Your card has expired.", "expired_card"),
    "chargeDeclinedProcessingError": _declined(
        "0119", "processing_error", "An error occurred while processing your card.", "processing_error"
    ),
    "authenticationRequired": Card("visa", "3184", CardBehaviour.AUTHENTICATE),
    "threeDSecure2Required": Card("visa", "3220", CardBehaviour.AUTHENTICATE),
    "createDispute": Card("visa", "0259", CardBehaviour.DISPUTE),
}


def card_of_token(token: str) -> Card | None:
    """The card of a test token (`tok_visa`) or test PaymentMethod (`pm_card_visa`); None if unknown."""
    for prefix in ("pm_card_", "tok_"):
        if token.startswith(prefix):
            return CARDS.get(token.removeprefix(prefix))
    return None
