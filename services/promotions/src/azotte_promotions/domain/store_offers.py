"""Store offers: a promotion as the App Store and Google Play know it, and the signature Apple requires of an App
Store promotional offer (ECDSA P-256 with SHA-256, by the tenant's subscription key, over the offer's fields)."""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from azotte_platform.errors import InvalidArgument
from azotte_promotions.errors import InvalidPromotion

APP_STORE_OFFER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
GOOGLE_PLAY_OFFER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
GOOGLE_PLAY_OFFER_TAG = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
PRODUCT_ID = re.compile(r"[A-Za-z0-9._-]{1,255}")
SEPARATOR = "\u2063"  # NOTE: Apple's INVISIBLE SEPARATOR between the signed fields


@dataclass(frozen=True, slots=True)
class StoreOffers:
    """The App Store promotional offer and the Google Play offer (id or tag) a promotion maps to ("": none)."""

    app_store_offer_id: str = ""
    google_play_offer_id: str = ""
    google_play_offer_tag: str = ""

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first `store_offers.` field that is not what its store accepts."""
        # NOTE: raised as the promotion's own field violation, like every other part of a definition.
        for name, pattern in (
            ("app_store_offer_id", APP_STORE_OFFER_ID),
            ("google_play_offer_id", GOOGLE_PLAY_OFFER_ID),
            ("google_play_offer_tag", GOOGLE_PLAY_OFFER_TAG),
        ):
            value = getattr(self, name)
            if value and not pattern.fullmatch(value):
                raise InvalidPromotion.field(f"store_offers.{name}", f"must match {pattern.pattern}")


@dataclass(frozen=True, slots=True)
class AppStoreOffer:
    """One purchase's promotional offer, as StoreKit receives it (and Apple verifies its signature)."""

    bundle_id: str
    key_id: str
    product_id: str
    offer_id: str
    app_account_token: str
    nonce: str
    timestamp_ms: int

    def payload(self) -> bytes:
        """The signed text: the fields joined by U+2063, the UUIDs lowercase."""
        fields = (
            self.bundle_id,
            self.key_id,
            self.product_id,
            self.offer_id,
            self.app_account_token.lower(),
            self.nonce.lower(),
            str(self.timestamp_ms),
        )
        return SEPARATOR.join(fields).encode()


def app_account_token(value: str) -> str:
    """The purchase's appAccountToken: a UUID, lowercase (INVALID_ARGUMENT naming `app_account_token`)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument.field("app_account_token", "must be a UUID") from None


def product_id(value: str) -> str:
    if not PRODUCT_ID.fullmatch(value):
        raise InvalidArgument.field("product_id", f"must match {PRODUCT_ID.pattern}")
    return value


@dataclass(frozen=True, slots=True)
class SubscriptionKey:
    """A tenant's App Store In-App Purchase key: what signs its promotional offers."""

    tenant_id: str
    key_id: str
    bundle_id: str
    private_key_pem: str

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field that does not make sense (the PEM must hold a P-256 key)."""
        if not APP_STORE_OFFER_ID.fullmatch(self.key_id):
            raise InvalidArgument.field("key_id", f"must match {APP_STORE_OFFER_ID.pattern}")
        if not PRODUCT_ID.fullmatch(self.bundle_id):
            raise InvalidArgument.field("bundle_id", f"must match {PRODUCT_ID.pattern}")
        self._private_key()

    def sign(self, offer: AppStoreOffer) -> str:
        """Base64 of the DER ECDSA (SHA-256) signature of the offer's payload."""
        signature = self._private_key().sign(offer.payload(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        try:
            key = load_pem_private_key(self.private_key_pem.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise InvalidArgument.field("private_key_pem", "must be the PEM of an unencrypted private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise InvalidArgument.field("private_key_pem", "must be a P-256 (prime256v1) key")
        return key
