"""Stripe webhooks: `Stripe-Signature` checked with the account's secret, and what each event tells payments."""

from __future__ import annotations

import json
import time

import pytest

from azotte_payments.adapters.psp.webhooks import PspWebhookVerifiers
from azotte_payments.domain.psp_account import PspCredentials, PspKind
from azotte_payments.domain.psp_notice import DisputeNotice, PaymentAuthenticated
from azotte_payments.errors import PspWebhookRejected
from azotte_payments.sandbox_psp.stripe_state import sign

SECRET = "whsec_unit_test_secret"
CREDENTIALS = PspCredentials({"secret_key": "sk_test_unit", "webhook_secret": SECRET})


def event(event_type: str, data: dict[str, object]) -> bytes:
    return json.dumps({"id": "evt_1", "object": "event", "type": event_type, "data": {"object": data}}).encode()


def verify(payload: bytes, signature: str, kind: PspKind = PspKind.STRIPE) -> object:
    return PspWebhookVerifiers().verify(kind, CREDENTIALS, payload, signature)


DISPUTE = {
    "id": "dp_1",
    "object": "dispute",
    "amount": 1190,
    "currency": "eur",
    "payment_intent": "pi_1",
    "reason": "fraudulent",
    "status": "lost",
    "balance_transactions": [{"amount": -1190, "fee": 1500}],
}


def test_a_dispute_event_is_a_dispute_notice_in_minor_units_with_its_fee() -> None:
    payload = event("charge.dispute.closed", DISPUTE)
    verified = PspWebhookVerifiers().verify(
        PspKind.STRIPE, CREDENTIALS, payload, sign(payload, SECRET, int(time.time()))
    )
    assert (verified.event_id, verified.event_type) == ("evt_1", "charge.dispute.closed")
    assert verified.notice == DisputeNotice("dp_1", "pi_1", "EUR", 1190, 1500, "fraudulent", closed=True, won=False)


def test_a_succeeded_payment_intent_may_complete_an_authentication() -> None:
    payload = event("payment_intent.succeeded", {"id": "pi_2", "object": "payment_intent"})
    verified = PspWebhookVerifiers().verify(
        PspKind.STRIPE, CREDENTIALS, payload, sign(payload, SECRET, int(time.time()))
    )
    assert verified.notice == PaymentAuthenticated("pi_2")


def test_other_events_tell_nothing() -> None:
    payload = event("customer.created", {"id": "cus_1", "object": "customer"})
    verified = PspWebhookVerifiers().verify(
        PspKind.STRIPE, CREDENTIALS, payload, sign(payload, SECRET, int(time.time()))
    )
    assert verified.notice is None


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=deadbeef",
        sign(b"another body", SECRET, int(time.time())),
        sign(event("payment_intent.succeeded", {"id": "pi_2"}), "whsec_someone_else", int(time.time())),
        sign(event("payment_intent.succeeded", {"id": "pi_2"}), SECRET, int(time.time()) - 301),  # a late replay
    ],
)
def test_forged_unsigned_or_stale_webhooks_are_rejected(signature: str) -> None:
    with pytest.raises(PspWebhookRejected):
        verify(event("payment_intent.succeeded", {"id": "pi_2"}), signature)


def test_a_signed_body_that_is_not_an_event_is_rejected() -> None:
    payload = b'{"hello": "world"}'
    with pytest.raises(PspWebhookRejected):
        verify(payload, sign(payload, SECRET, int(time.time())))


def test_sandbox_kinds_receive_no_webhooks() -> None:
    payload = event("payment_intent.succeeded", {"id": "pi_2"})
    with pytest.raises(PspWebhookRejected):
        verify(payload, sign(payload, SECRET, int(time.time())), PspKind.STRIPE_LIKE)
