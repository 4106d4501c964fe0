"""Benchmark: channel notifications verified per second at the gateway, each beside a baseline in the same run.

- Google Play: a Pub/Sub push verified by `GooglePlayVerifier` (the OIDC token's RS256 signature and claims, the
  body decoded, the package checked; the purchase read from an in-memory Play API); baseline: `jwt.decode` of
  the same token alone.
- Partners: a request of one event verified by `verify_partner_request` (EdDSA signature, kid, iat, jti);
  baseline: `jwt.decode` of the same JWS alone.

Run: .venv/bin/python tests/perf/bench_channels_verify.py [--seconds S]  (per figure; default 3)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from azotte_gateway.adapters.channels.google_play import GooglePlayVerifier
from azotte_gateway.adapters.channels.partners import verify_partner_request
from azotte_gateway.domain.channel_accounts import GooglePlayApp, Partner
from azotte_gateway.domain.channels import RawNotification
from azotte_gateway.sandbox_channels.google_play_signing import (
    PUSH_ACCOUNT,
    SigningGoogle,
    purchase_state,
    push,
    subscription_notification,
)

AUDIENCE = "https://push.example.com/bench"
PACKAGE = "com.example.ott"


async def rate(seconds: float, call: Callable[[], Awaitable[Any]]) -> float:
    """Calls per second of `call`, run back to back for `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        await call()
        count += 1
    return count / elapsed


class Apps:
    def __init__(self, app: GooglePlayApp):
        self.app = app

    async def find(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        return self.app


class Keys:
    def __init__(self, google: SigningGoogle):
        self.keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(google.jwks()).keys}

    async def key(self, kid: str) -> jwt.PyJWK | None:
        return self.keys.get(kid)


class Play:
    def __init__(self) -> None:
        self.purchase = purchase_state("SUBSCRIPTION_STATE_ACTIVE", expires_at=datetime.now(UTC) + timedelta(days=30))

    async def subscription(self, app: GooglePlayApp, purchase_token: str) -> dict[str, Any]:
        return self.purchase

    async def acknowledge(self, app: GooglePlayApp, product_id: str, purchase_token: str) -> None:
        return None


async def google_play(seconds: float) -> tuple[float, float]:
    google = SigningGoogle()
    app = GooglePlayApp("bench", "android", PACKAGE, AUDIENCE, PUSH_ACCOUNT, google.service_account_json())
    verifier = GooglePlayVerifier(Apps(app), Keys(google), Play())
    token = google.push_token(AUDIENCE)
    body = push(subscription_notification(PACKAGE, 2, "tok-1", datetime.now(UTC)), "m-1")
    raw = RawNotification(body=body, headers={"authorization": f"Bearer {token}"}, tenant_id="bench", app_id="android")
    public = google.push_key.public_key()

    async def baseline() -> None:
        jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE)

    return await rate(seconds, lambda: verifier.verify(raw)), await rate(seconds, baseline)


async def partners(seconds: float) -> tuple[float, float]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    partner = Partner("bench", "bundle", pem.decode())
    event = {"event_id": "e-1", "type": "renew", "subscriber_id": "s-1", "product_code": "P"}
    now = datetime.now(UTC)
    token = jwt.encode(
        {"iat": int(now.timestamp()), "jti": "j-1", "events": [event]},
        key,
        algorithm="EdDSA",
        headers={"kid": "bundle"},
    )

    async def verified() -> None:
        verify_partner_request(token, partner, now)

    async def baseline() -> None:
        jwt.decode(token, key.public_key(), algorithms=["EdDSA"])

    return await rate(seconds, verified), await rate(seconds, baseline)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    for name, bench in (("Google Play push", google_play), ("partner request", partners)):
        verified, baseline = await bench(seconds)
        print(f"{name:>16}: {verified:8.0f} verified/s   baseline (signature alone) {baseline:8.0f}/s")


if __name__ == "__main__":
    asyncio.run(main())
