"""A carrier's payment notifications: CAMARA CloudEvents (structured JSON), signed with the account's secret.

`X-Carrier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` with the account's
`notification_secret` (several `v1=` while the carrier rotates secrets). A notice older than five minutes is a
replay. What it says is only a cue: payments reads the payment back from the carrier before acting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from azotte_payments.domain.psp_account import PspCredentials
from azotte_payments.domain.psp_notice import PaymentStatusChanged
from azotte_payments.errors import PspWebhookRejected
from azotte_payments.ports import PspWebhookEvent

TOLERANCE_S = 300
EVENT_TYPE_PREFIX = "org.camaraproject.carrier-billing."


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The `X-Carrier-Signature` of `payload` at `timestamp` (what the carrier sends)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_carrier_notification(
    credentials: PspCredentials, payload: bytes, signature: str, now: Callable[[], float] = time.time
) -> PspWebhookEvent:
    """The verified notification, or PspWebhookRejected (unsigned, forged, stale or not a payment event)."""
    timestamp, digests = _parse(signature)
    expected = sign(payload, credentials["notification_secret"], timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise PspWebhookRejected("X-Carrier-Signature does not verify")
    if abs(now() - timestamp) > TOLERANCE_S:
        raise PspWebhookRejected("the notification is older than five minutes")
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise PspWebhookRejected("the payload is not a CloudEvent") from error
    if not isinstance(event, dict):
        raise PspWebhookRejected("the payload is not a CloudEvent")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if event.get("specversion") != "1.0" or not isinstance(event_id, str) or not event_id:
        raise PspWebhookRejected("the payload is not a CloudEvent 1.0")
    if not isinstance(event_type, str) or not event_type.startswith(EVENT_TYPE_PREFIX):
        raise PspWebhookRejected("the CloudEvent is not a carrier billing event")
    payment_id = data.get("paymentId") if isinstance(data, dict) else None
    if not isinstance(payment_id, str) or not payment_id:
        raise PspWebhookRejected("the CloudEvent names no paymentId")
    return PspWebhookEvent(event_id, event_type, PaymentStatusChanged(payment_id))


def _parse(signature: str) -> tuple[int, list[str]]:
    parts = [part.split("=", 1) for part in signature.split(",") if "=" in part]
    stamps = [value for key, value in parts if key.strip() == "t"]
    digests = [value.strip() for key, value in parts if key.strip() == "v1"]
    stamp = stamps[0].strip() if len(stamps) == 1 else ""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or not digests:
        raise PspWebhookRejected("X-Carrier-Signature is missing or malformed")
    return int(stamp), digests
