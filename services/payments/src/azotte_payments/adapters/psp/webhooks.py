"""Verification of PSP webhooks (Stripe's `Stripe-Signature` through the official library), and what they say."""

from __future__ import annotations

from typing import Any

import stripe

from azotte_payments.domain.psp_account import PspCredentials, PspKind
from azotte_payments.domain.psp_notice import DisputeNotice, PaymentAuthenticated, PspNotice
from azotte_payments.errors import PspWebhookRejected
from azotte_payments.ports import PspWebhookEvent

STRIPE_TOLERANCE_S = 300


class PspWebhookVerifiers:
    """Implements `ports.PspWebhookVerifier` for every kind that sends webhooks."""

    def verify(self, kind: PspKind, credentials: PspCredentials, payload: bytes, signature: str) -> PspWebhookEvent:
        """The verified event, or PspWebhookRejected."""
        match kind:
            case PspKind.STRIPE:
                return _stripe_event(credentials, payload, signature)
            case _:
                raise PspWebhookRejected(f"a {kind.value} account receives no webhooks here")


def _stripe_event(credentials: PspCredentials, payload: bytes, signature: str) -> PspWebhookEvent:
    # NOTE: `t=` is signed with the body: an event older than the tolerance is a replay and refused.
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, credentials["webhook_secret"], tolerance=STRIPE_TOLERANCE_S
        )
    except stripe.SignatureVerificationError as error:
        raise PspWebhookRejected(f"Stripe-Signature does not verify: {error.user_message or error}") from error
    except ValueError as error:
        raise PspWebhookRejected("the payload is not a Stripe event") from error
    fields = event.to_dict()
    event_id, event_type, data = fields.get("id"), fields.get("type"), fields.get("data", {}).get("object")
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(data, dict):
        raise PspWebhookRejected("the payload is not a Stripe event")
    return PspWebhookEvent(event_id, event_type, stripe_notice(event_type, data))


def stripe_notice(event_type: str, data: dict[str, Any]) -> PspNotice | None:
    """What a Stripe event tells payments: disputes and authenticated PaymentIntents; None for the rest."""
    match event_type:
        case "charge.dispute.created" | "charge.dispute.closed" | "charge.dispute.funds_withdrawn":
            fees = [txn.get("fee", 0) for txn in data.get("balance_transactions", []) if txn.get("amount", 0) < 0]
            return DisputeNotice(
                psp_dispute_id=str(data.get("id", "")),
                psp_reference=str(data.get("payment_intent") or ""),
                currency=str(data.get("currency", "")).upper(),
                amount_minor=int(data.get("amount", 0)),
                fee_minor=int(sum(fees)),
                reason=str(data.get("reason", "")),
                closed=data.get("status") in ("won", "lost"),
                won=data.get("status") == "won",
            )
        case "payment_intent.succeeded":
            return PaymentAuthenticated(str(data.get("id", "")))
        case _:
            return None
