"""What the Stripe emulator remembers per account (one account per secret key): its objects and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from azotte_payments.sandbox_psp.stripe_cards import Card

API_VERSION = "2025-06-30.basil"
DISPUTE_FEE_MINOR = 1500


def new_id(prefix: str) -> str:
    """An object id shaped like Stripe's (`pi_3Px…`)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """`Stripe-Signature`: `t=…,v1=` HMAC-SHA256 of `t.payload` with the endpoint's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class StripeApiError(Exception):
    """An error answered as Stripe's `{"error": {...}}` object."""

    def __init__(self, status_code: int, error: dict[str, Any]):
        super().__init__(error.get("message", ""))
        self.status_code = status_code
        self.error = error


def card_error(card: Card, payment_method: str, intent: dict[str, Any] | None = None) -> StripeApiError:
    """A 402 card error as Stripe answers a declined confirmation."""
    error = {
        "type": "card_error",
        "code": card.code,
        "decline_code": card.decline_code,
        "message": card.message,
        "payment_method": {"id": payment_method, "object": "payment_method"},
    }
    if intent is not None:
        error["payment_intent"] = intent
    return StripeApiError(402, error)


def invalid_request(message: str, param: str = "", code: str = "", status_code: int = 400) -> StripeApiError:
    """A 400 (or 404) `invalid_request_error`."""
    return StripeApiError(
        status_code, {"type": "invalid_request_error", "code": code, "param": param, "message": message}
    )


@dataclass
class StoredResponse:
    """The first answer under an idempotency key, and what it was asked."""

    request: str
    status_code: int
    body: dict[str, Any]


@dataclass
class Account:
    """One emulated Stripe account: objects by id, idempotent answers, webhook endpoints, events."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    idempotent: dict[str, StoredResponse] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def get(self, object_id: str, kind: str) -> dict[str, Any]:
        """An object of the kind (`payment_intent`), or Stripe's 404 `resource_missing`."""
        found = self.objects.get(object_id)
        if found is None or found["object"] != kind:
            raise invalid_request(f"No such {kind}: '{object_id}'", "id", "resource_missing", 404)
        return found

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object (with `created` and `livemode`)."""
        obj.setdefault("created", int(time.time()))
        obj.setdefault("livemode", False)
        self.objects[obj["id"]] = obj
        return obj

    def payment_method(self, pm_id: str) -> tuple[dict[str, Any], Card]:
        """A stored PaymentMethod and its test card."""
        return self.get(pm_id, "payment_method"), self.cards[pm_id]

    def new_payment_method(self, card: Card) -> dict[str, Any]:
        """A card PaymentMethod for a test card."""
        pm = self.add(
            {
                "id": new_id("pm"),
                "object": "payment_method",
                "type": "card",
                "card": {
                    "brand": card.brand,
                    "last4": card.last4,
                    "exp_month": 12,
                    "exp_year": 2034,
                    "fingerprint": hashlib.sha256(card.last4.encode()).hexdigest()[:16],
                },
                "customer": None,
                "metadata": {},
            }
        )
        self.cards[pm["id"]] = card
        return pm

    def event(self, event_type: str, obj: dict[str, Any], idempotency_key: str = "") -> dict[str, Any]:
        """Record an event about `obj` (a snapshot) for the account's endpoints."""
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": event_type,
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": len(self.endpoints),
            "request": {"id": new_id("req"), "idempotency_key": idempotency_key or None},
        }
        self.events.append(event)
        return event

    def endpoints_for(self, event_type: str) -> list[tuple[str, str]]:
        """(url, secret) of every endpoint listening to `event_type`."""
        return [
            (endpoint["url"], self.secrets[endpoint_id])
            for endpoint_id, endpoint in self.endpoints.items()
            if "*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"]
        ]
