"""The accounts channels other than the App Store authenticate with: Google Play apps and partners."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from azotte_gateway.domain.channels import APP_ID
from azotte_platform.errors import InvalidArgument

_ID_RULE = "must be 1 to 63 of a-z, 0-9 and '-', starting with a letter"
WHOLE_SHARE_BPS = 10_000


@dataclass(frozen=True)
class ServiceAccountKey:
    """A Google service account's JSON key: who it is, and the RSA key its OAuth assertions are signed with."""

    client_email: str
    private_key_id: str
    private_key_pem: str

    @classmethod
    def parse(cls, text: str, field: str) -> ServiceAccountKey:
        """The key of a JSON key file; INVALID_ARGUMENT `field` otherwise."""
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidArgument.field(field, "is not a JSON service account key") from error
        if not isinstance(document, dict):
            raise InvalidArgument.field(field, "is not a JSON service account key")
        values = {name: document.get(name) for name in ("client_email", "private_key_id", "private_key")}
        missing = [name for name, value in values.items() if not isinstance(value, str) or not value]
        if missing:
            raise InvalidArgument.field(field, f"lacks {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(str(values["private_key"]).encode(), password=None)
        except (ValueError, TypeError) as error:
            raise InvalidArgument.field(field, "has a private_key that is not a PEM private key") from error
        if not isinstance(key, rsa.RSAPrivateKey):
            raise InvalidArgument.field(field, "has a private_key that is not an RSA key")
        return cls(str(values["client_email"]), str(values["private_key_id"]), str(values["private_key"]))


@dataclass(frozen=True)
class GooglePlayApp:
    """A tenant's Google Play app: what its pushes must carry, and how its purchases are read from Google."""

    tenant_id: str
    app_id: str
    package_name: str
    # The push subscription's OIDC token: its `aud`, and the service account in its `email`.
    push_audience: str
    push_service_account_email: str
    # The JSON key of the service account that reads the Play Developer API (a secret: never answered).
    service_account_key_json: str
    storefront_id: str = ""
    create_time: datetime | None = None

    def __post_init__(self) -> None:
        if not APP_ID.match(self.app_id):
            raise InvalidArgument.field("app.app_id", _ID_RULE)
        for name in ("package_name", "push_audience", "push_service_account_email"):
            if not getattr(self, name):
                raise InvalidArgument.field(f"app.{name}", "is required")
        self.service_account_key()

    def service_account_key(self) -> ServiceAccountKey:
        """The parsed service account key."""
        return ServiceAccountKey.parse(self.service_account_key_json, "app.service_account_key_json")


def partner_algorithm(pem: str) -> str:
    """The JWS algorithm a partner's PEM public key verifies (EdDSA or ES256); INVALID_ARGUMENT otherwise."""
    field = "partner.public_key_pem"
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as error:
        raise InvalidArgument.field(field, "is not a PEM public key") from error
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise InvalidArgument.field(field, "must be an Ed25519 or a P-256 public key")


@dataclass(frozen=True)
class Partner:
    """A tenant's partner (bundle partner, aggregator): the key its signed events must verify with, and its
    wholesale terms: the tenant's share of the catalog price of each period it bills (the partner keeps the rest).
    """

    tenant_id: str
    partner_id: str
    public_key_pem: str
    display_name: str = ""
    create_time: datetime | None = None
    revenue_share_bps: int = WHOLE_SHARE_BPS

    def __post_init__(self) -> None:
        if not APP_ID.match(self.partner_id):
            raise InvalidArgument.field("partner.partner_id", _ID_RULE)
        if not 0 <= self.revenue_share_bps <= WHOLE_SHARE_BPS:
            raise InvalidArgument.field("partner.revenue_share_bps", f"must be from 0 to {WHOLE_SHARE_BPS}")
        partner_algorithm(self.public_key_pem)

    @property
    def commission_rate(self) -> Decimal:
        """The partner's part of a period's price: what the tenant's share leaves (e.g. 0.3 of a 7000 bps share)."""
        return Decimal(WHOLE_SHARE_BPS - self.revenue_share_bps) / WHOLE_SHARE_BPS

    @property
    def algorithm(self) -> str:
        """EdDSA or ES256."""
        return partner_algorithm(self.public_key_pem)


@dataclass(frozen=True)
class PartnerRequest:
    """A partner's request whose signature, key id and age were verified: its id and its events (not yet read)."""

    jti: str
    events: list[Any]
