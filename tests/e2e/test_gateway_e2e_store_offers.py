"""An App Store promotional offer through the gateway's REST: an admin sets the tenant's subscription key, a manager
maps a promotion to the offer, and a device's publishable key gets the offer signed for a purchase — the signature
verifies with the key's public half; a viewer may not set the key."""

from __future__ import annotations

import base64
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.conftest import TenantApi

PRODUCT = "com.example.ott.premium.monthly"
TOKEN = "7e3a1c52-9d0b-4f6e-8a21-3c5d7e9f0b14"


def rid() -> str:
    return uuid.uuid4().hex


async def test_a_device_gets_the_promotions_app_store_offer_signed_with_the_tenants_key(tenant: TenantApi) -> None:
    signing_key = ec.generate_private_key(ec.SECP256R1())
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {"request_id": rid(), "key_id": "E2EKEY1234", "bundle_id": "com.example.ott", "private_key_pem": pem}
    viewer = await tenant.new_key("viewer")
    refused = await tenant.call("PUT", "/v1/app-store-subscription-key", json=key, key=viewer)
    assert refused.status_code == 403, refused.text
    kept = await tenant.ok("PUT", "/v1/app-store-subscription-key", json=key)
    assert kept == {"key_id": "E2EKEY1234", "bundle_id": "com.example.ott"}

    promotion = {
        "display_name": "Spring on the App Store",
        "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 3000},
        "store_offers": {"app_store_offer_id": "spring_30", "google_play_offer_tag": "spring"},
    }
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion})
    promotion_id = created["promotion"]["id"]
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()})

    device = await tenant.new_key("publishable")
    body = {"product_id": PRODUCT, "app_account_token": TOKEN}
    offer = (await tenant.ok("POST", f"/v1/promotions/{promotion_id}/app-store-offer:sign", json=body, key=device))[
        "offer"
    ]
    fields = ["com.example.ott", "E2EKEY1234", PRODUCT, "spring_30", TOKEN, offer["nonce"], offer["timestamp_ms"]]
    signature = base64.b64decode(offer["signature"])
    signing_key.public_key().verify(signature, "\u2063".join(fields).encode(), ec.ECDSA(hashes.SHA256()))
