"""An App Store signing as Apple does, with its own root, intermediate and leaf (Apple's marker extensions): for
tests and the sandbox demo."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID, ObjectIdentifier

LEAF_MARKER = ObjectIdentifier("1.2.840.113635.100.6.11.1")
INTERMEDIATE_MARKER = ObjectIdentifier("1.2.840.113635.100.6.2.1")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
    marker: ObjectIdentifier | None,
    not_after: datetime,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(EPOCH)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if marker is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(marker, b"\x05\x00"), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class SigningAppStore:
    """Signs App Store Server Notifications v2 with a chain made here; knobs to forge each kind of bad one."""

    leaf_marker: bool = True
    intermediate_marker: bool = True
    leaf_not_after: datetime = datetime(2100, 1, 1, tzinfo=UTC)
    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.intermediate_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        far = datetime(2100, 1, 1, tzinfo=UTC)
        self.root = _certificate("Test Root", self.root_key, None, ca=True, marker=None, not_after=far)
        self.intermediate = _certificate(
            "Test WWDR",
            self.intermediate_key,
            (self.root.subject, self.root_key),
            ca=True,
            marker=INTERMEDIATE_MARKER if self.intermediate_marker else None,
            not_after=far,
        )
        self.leaf = _certificate(
            "Test Store Signer",
            self.leaf_key,
            (self.intermediate.subject, self.intermediate_key),
            ca=False,
            marker=LEAF_MARKER if self.leaf_marker else None,
            not_after=self.leaf_not_after,
        )

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    def chain(self) -> list[str]:
        return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in self.x5c_certificates()]

    def x5c_certificates(self) -> list[x509.Certificate]:
        return [self.leaf, self.intermediate, self.root]

    def jws(self, payload: dict[str, Any], *, alg: str = "ES256", x5c: list[str] | None = None) -> str:
        header = {"alg": alg, "x5c": self.chain() if x5c is None else x5c}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        r, s = decode_dss_signature(self.leaf_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32) + s.to_bytes(32))}"

    def notification(
        self,
        notification_type: str,
        subtype: str = "",
        *,
        signed_at: datetime,
        bundle_id: str = "com.example.app",
        environment: str = "Production",
        app_apple_id: int = 1234,
        transaction: dict[str, Any] | None = None,
        renewal: dict[str, Any] | None = None,
        notification_uuid: str | None = None,
        **jws_options: Any,
    ) -> bytes:
        """The JSON body Apple posts (`{"signedPayload": ...}`)."""
        data: dict[str, Any] = {"bundleId": bundle_id, "environment": environment, "appAppleId": app_apple_id}
        common = {"bundleId": bundle_id, "environment": environment, "signedDate": millis(signed_at)}
        if transaction is not None:
            data["signedTransactionInfo"] = self.jws({**common, **transaction})
        if renewal is not None:
            data["signedRenewalInfo"] = self.jws({**common, **renewal})
        payload: dict[str, Any] = {
            "notificationType": notification_type,
            "notificationUUID": notification_uuid or str(uuid.uuid4()),
            "version": "2.0",
            "signedDate": millis(signed_at),
            "data": data,
        }
        if subtype:
            payload["subtype"] = subtype
        return json.dumps({"signedPayload": self.jws(payload, **jws_options)}).encode()


def subscription_transaction(
    original_transaction_id: str,
    *,
    product_id: str,
    purchased_at: datetime,
    expires_at: datetime,
    app_account_token: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """An auto-renewable subscription's JWSTransactionDecodedPayload."""
    transaction = {
        "transactionId": str(uuid.uuid4().int)[:15],
        "originalTransactionId": original_transaction_id,
        "productId": product_id,
        "purchaseDate": millis(purchased_at),
        "expiresDate": millis(expires_at),
        "type": "Auto-Renewable Subscription",
        "inAppOwnershipType": "PURCHASED",
        "price": 9990,
        "currency": "USD",
        "storefront": "USA",
        **extra,
    }
    if app_account_token:
        transaction["appAccountToken"] = app_account_token
    return transaction


def later(at: datetime, days: int) -> datetime:
    return at + timedelta(days=days)
