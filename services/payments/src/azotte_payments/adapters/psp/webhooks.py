"""Verification of PSP webhooks through the official libraries (Stripe's `Stripe-Signature`, Adyen's HMAC of
each notification item), and what they say."""

from __future__ import annotations

import json
from typing import Any

import stripe
from Adyen.util import is_valid_hmac_notification  # type: ignore[import-untyped]

from azotte_payments.adapters.psp.carrier_notifications import verify_carrier_notification
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
            case PspKind.ADYEN:
                return _adyen_event(credentials, payload)
            case PspKind.CARRIER:
                return verify_carrier_notification(credentials, payload, signature)
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


def _adyen_event(credentials: PspCredentials, payload: bytes) -> PspWebhookEvent:
    # NOTE: Adyen signs each item (HMAC-SHA256 of its fields, in `additionalData.hmacSignature`) and sends one
    # item per notification; its pspReference, eventCode and success name it (a payment refused while waiting
    # for the shopper is authorised later under the same pspReference), so a redelivery is recognised.
    try:
        body = json.loads(payload)
        items = body["notificationItems"]
        item: dict[str, Any] = items[0]["NotificationRequestItem"]
        valid = len(items) == 1 and bool(is_valid_hmac_notification(item, credentials["hmac_key"]))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise PspWebhookRejected("the payload is not one Adyen notification item with its HMAC signature") from error
    if not valid:
        raise PspWebhookRejected("the notification's HMAC signature does not verify")
    if item.get("merchantAccountCode") != credentials["merchant_account"]:
        raise PspWebhookRejected("the notification is for another merchant account")
    event_code, psp_reference = str(item.get("eventCode", "")), str(item.get("pspReference", ""))
    event_id = f"{psp_reference}:{event_code}:{item.get('success')}"
    return PspWebhookEvent(event_id, event_code, adyen_notice(item))


def adyen_notice(item: dict[str, Any]) -> PspNotice | None:
    """What an Adyen notification item tells payments: disputes and authorised payments; None for the rest."""
    event_code, success = item.get("eventCode"), item.get("success") == "true"
    amount: dict[str, Any] = item.get("amount") or {}
    extra: dict[str, Any] = item.get("additionalData") or {}

    def dispute(closed: bool, won: bool) -> DisputeNotice:
        # NOTE: a dispute's pspReference is the dispute's own; originalReference is the disputed payment.
        return DisputeNotice(
            psp_dispute_id=str(item.get("pspReference", "")),
            psp_reference=str(item.get("originalReference", "")),
            currency=str(amount.get("currency", "")).upper(),
            amount_minor=int(amount.get("value", 0)),
            fee_minor=0,
            reason=str(item.get("reason", "")),
            closed=closed,
            won=won,
        )

    match event_code:
        case "AUTHORISATION" if success:
            return PaymentAuthenticated(str(item.get("pspReference", "")))
        case "NOTIFICATION_OF_CHARGEBACK":
            return dispute(closed=False, won=False)
        case "CHARGEBACK":
            return dispute(closed=extra.get("disputeStatus") in ("Lost", "Accepted"), won=False)
        case "CHARGEBACK_REVERSED":
            return dispute(closed=True, won=True)
        case "SECOND_CHARGEBACK":
            return dispute(closed=True, won=False)
        case _:
            # NOTE: AUTHORISATION failures and REFUND outcomes are acknowledged: the API answer already said.
            return None
