"""A Google signing as Pub/Sub push and the Play Developer API do: its own push-token key (a JWKS), a service account
key, pushes and purchase states; for tests and the sandbox demo."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://accounts.google.com"
PUSH_ACCOUNT = "pubsub-push@acme-video.iam.gserviceaccount.com"
API_ACCOUNT = "play-api@acme-video.iam.gserviceaccount.com"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SigningGoogle:
    """Signs push tokens with a key of its JWKS; holds a service account key for the Play Developer API."""

    push_key: rsa.RSAPrivateKey = field(default_factory=_rsa)
    api_key: rsa.RSAPrivateKey = field(default_factory=_rsa)
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.push_key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def service_account_json(self, email: str = API_ACCOUNT) -> str:
        return json.dumps(
            {
                "type": "service_account",
                "client_email": email,
                "private_key_id": "key-1",
                "private_key": _pem(self.api_key),
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )

    def api_public_key_pem(self) -> str:
        return (
            self.api_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def push_token(
        self,
        audience: str,
        *,
        email: str = PUSH_ACCOUNT,
        issuer: str = ISSUER,
        expires_in: int = 3600,
        email_verified: bool = True,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "email": email,
            "email_verified": email_verified,
            "sub": "1234567890",
            "iat": now - 10,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.push_key, algorithm="RS256", headers={"kid": self.kid})


def push(notification: dict[str, Any], message_id: str | None = None) -> bytes:
    """A Pub/Sub push delivery of a DeveloperNotification."""
    data = base64.b64encode(json.dumps(notification).encode()).decode()
    message = {"data": data, "messageId": message_id or uuid.uuid4().hex, "publishTime": rfc3339(datetime.now(UTC))}
    return json.dumps({"message": message, "subscription": "projects/acme/subscriptions/play"}).encode()


def subscription_notification(package: str, notification_type: int, token: str, at: datetime) -> dict[str, Any]:
    return {
        "version": "1.0",
        "packageName": package,
        "eventTimeMillis": str(int(at.timestamp() * 1000)),
        "subscriptionNotification": {"version": "1.0", "notificationType": notification_type, "purchaseToken": token},
    }


def purchase_state(
    state: str,
    *,
    product_id: str = "premium",
    base_plan: str = "monthly",
    expires_at: datetime,
    account: str = "",
    linked_token: str = "",
    acknowledged: bool = False,
    auto_resume_at: datetime | None = None,
) -> dict[str, Any]:
    """A `SubscriptionPurchaseV2` as `purchases.subscriptionsv2.get` answers it."""
    purchase: dict[str, Any] = {
        "kind": "androidpublisher#subscriptionPurchaseV2",
        "regionCode": "US",
        "startTime": rfc3339(expires_at - timedelta(days=30)),
        "subscriptionState": state,
        "latestOrderId": f"GPA.{uuid.uuid4().int % 10**16}",
        "acknowledgementState": "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"
        if acknowledged
        else "ACKNOWLEDGEMENT_STATE_PENDING",
        "testPurchase": {},
        "lineItems": [
            {
                "productId": product_id,
                "expiryTime": rfc3339(expires_at),
                "autoRenewingPlan": {"autoRenewEnabled": state == "SUBSCRIPTION_STATE_ACTIVE"},
                "offerDetails": {"basePlanId": base_plan, "offerTags": []},
            }
        ],
    }
    if account:
        purchase["externalAccountIdentifiers"] = {"obfuscatedExternalAccountId": account}
    if linked_token:
        purchase["linkedPurchaseToken"] = linked_token
    if auto_resume_at is not None:
        purchase["pausedStateContext"] = {"autoResumeTime": rfc3339(auto_resume_at)}
    return purchase
