"""Notifications from store-billed channels (App Store, Google Play, telecom, partners), raw and verified."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from azotte_platform.errors import InvalidArgument
from azotte_platform.sealing import Sealed


@dataclass(frozen=True)
class RawNotification:
    """A notification as it arrived: nothing in it is trusted yet."""

    body: bytes
    # Header names in lower case.
    headers: Mapping[str, str]
    # The tenant and the channel app (e.g. an App Store app) the notification's URL names; not proof of anything.
    tenant_id: str = ""
    app_id: str = ""
    # True for a body the inbox stored after verifying it on arrival: windows that close with time (a Google push
    # token's hour) were judged then; signatures and claims are verified again.
    stored: bool = False


@dataclass(frozen=True)
class TrustedNotification:
    """A notification whose origin a channel verifier proved, with its decoded payload."""

    # The channel's own id of the notification: a redelivery carries the same id.
    notification_id: str
    payload: Mapping[str, Any]
    # When the channel says the notification's event happened; None when it does not say.
    event_time: datetime | None = None


class AppStoreEnvironment(StrEnum):
    """The App Store environment whose notifications an app accepts (Apple's `environment` values)."""

    PRODUCTION = "Production"
    SANDBOX = "Sandbox"


APP_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def trusted_root(pem: str) -> x509.Certificate:
    """The CA certificate of a PEM text; INVALID_ARGUMENT `root_certificate_pem` otherwise."""
    try:
        root = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise InvalidArgument.field("app.root_certificate_pem", "is not a PEM certificate") from error
    try:
        constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError) as error:
        raise InvalidArgument.field("app.root_certificate_pem", "is not a CA certificate") from error
    if not constraints.ca:
        raise InvalidArgument.field("app.root_certificate_pem", "is not a CA certificate")
    return root


@dataclass(frozen=True)
class InAppPurchaseKey:
    """A tenant's App Store Connect in-app purchase key: issuer id, key id and the P-256 private key (a secret)."""

    issuer_id: str
    key_id: str
    private_key_pem: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.issuer_id:
            raise InvalidArgument.field("app.server_api.issuer_id", "is required")
        if not re.fullmatch(r"[A-Z0-9]{10}", self.key_id):
            raise InvalidArgument.field("app.server_api.key_id", "must be the key's 10-character id")
        try:
            key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise InvalidArgument.field("app.server_api.private_key_pem", "is not a PEM private key") from error
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise InvalidArgument.field("app.server_api.private_key_pem", "is not a P-256 key (Apple's .p8)")


@dataclass(frozen=True)
class SealedServerApiKey:
    """An app's in-app purchase key at rest: its ids in clear, its private key sealed (bound to the app)."""

    issuer_id: str
    key_id: str
    private_key: Sealed

    @staticmethod
    def binding(tenant_id: str, app_id: str) -> str:
        """What the private key is sealed to: copied onto another app's row, it does not open."""
        return f"{tenant_id}/app_store_apps/{app_id}/server_api"


@dataclass(frozen=True)
class AppStoreApp:
    """A tenant's App Store app: what its notifications must be signed by and carry."""

    tenant_id: str
    app_id: str
    bundle_id: str
    environment: AppStoreEnvironment
    # PEM of the one root certificate the notifications' `x5c` chain must end in.
    root_certificate_pem: str
    # Apple's numeric app id; 0 when unknown (sandbox apps have none).
    app_apple_id: int = 0
    # The Azotte storefront of the app's purchases when the product's channel mapping names none.
    storefront_id: str = ""
    create_time: datetime | None = None
    # The key reading the App Store Server API (a subscription's history); None when the tenant gave none.
    server_api: SealedServerApiKey | None = None

    def __post_init__(self) -> None:
        if not APP_ID.match(self.app_id):
            raise InvalidArgument.field("app.app_id", "must be 1 to 63 of a-z, 0-9 and '-', starting with a letter")
        if not self.bundle_id:
            raise InvalidArgument.field("app.bundle_id", "is required")
        if self.app_apple_id < 0:
            raise InvalidArgument.field("app.app_apple_id", "must not be negative")
        trusted_root(self.root_certificate_pem)
