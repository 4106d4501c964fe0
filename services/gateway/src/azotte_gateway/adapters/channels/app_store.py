"""App Store Server Notifications v2: verify the signed payload, normalize it into lifecycle channel events.

Verification (`AppStoreVerifier`), for the notification and its nested signed transaction and renewal info:
- the JWS header's `alg` is ES256 and its `x5c` holds exactly three certificates, leaf → intermediate → root;
- the root is byte for byte the app's configured trusted root, each certificate is signed by the next
  one, all are valid at the payload's `signedDate`, the root and intermediate are CAs and the leaf is not;
- the intermediate carries Apple's marker extension 1.2.840.113635.100.6.2.1 and the leaf
  1.2.840.113635.100.6.11.1;
- the JWS signature verifies with the leaf's key;
- the payload names the app's bundle id (and Apple app id when configured) and the app's environment.

There is no way to skip any of it: an app without a trusted root cannot be configured.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ObjectIdentifier
from google.protobuf import timestamp_pb2

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.store_prices import app_store_price
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, RawNotification, TrustedNotification
from azotte_gateway.errors import ChannelAppNotFound, ChannelCustomerUnknown, ChannelNotificationRejected
from azotte_gateway.ports import Peers
from azotte_platform import errors

APPLE_LEAF_MARKER = ObjectIdentifier("1.2.840.113635.100.6.11.1")
APPLE_INTERMEDIATE_MARKER = ObjectIdentifier("1.2.840.113635.100.6.2.1")
CHAIN_LENGTH = 3
# ES256 signatures are r and s, 32 bytes each (RFC 7518 §3.4).
ES256_SIGNATURE_BYTES = 64


class AppStoreApps(Protocol):
    """The configured App Store apps."""

    async def find(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        """The tenant's app, or None."""
        ...


def _reject(reason: str) -> ChannelNotificationRejected:
    return ChannelNotificationRejected(f"App Store notification rejected: {reason}")


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise _reject("a JWS part is not base64url") from error


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _reject(f"the {what} is not JSON") from error
    if not isinstance(value, dict):
        raise _reject(f"the {what} is not a JSON object")
    return value


def _basic_constraints(certificate: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _has_extension(certificate: x509.Certificate, oid: ObjectIdentifier) -> bool:
    try:
        certificate.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return False
    return True


def from_millis(value: Any, what: str) -> datetime:
    """An App Store timestamp (milliseconds since the epoch) as a UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _reject(f"{what} is not a timestamp")
    return datetime.fromtimestamp(value / 1000, UTC)


def _verify_chain(chain: Sequence[x509.Certificate], root: x509.Certificate, at: datetime, what: str) -> None:
    leaf, intermediate, top = chain
    if top != root:
        raise _reject(f"{what}: the certificate chain does not end in the app's trusted root")
    for certificate, issuer in ((leaf, intermediate), (intermediate, root)):
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as error:
            raise _reject(f"{what}: a certificate of the chain is not signed by the next one") from error
    for certificate in chain:
        if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
            raise _reject(f"{what}: a certificate of the chain is not valid at the payload's signedDate")
    for certificate in (intermediate, root):
        constraints = _basic_constraints(certificate)
        if constraints is None or not constraints.ca:
            raise _reject(f"{what}: an issuing certificate of the chain is not a CA")
    leaf_constraints = _basic_constraints(leaf)
    if leaf_constraints is not None and leaf_constraints.ca:
        raise _reject(f"{what}: the signing certificate is a CA")
    if not _has_extension(intermediate, APPLE_INTERMEDIATE_MARKER):
        raise _reject(f"{what}: the intermediate certificate lacks Apple's marker extension")
    if not _has_extension(leaf, APPLE_LEAF_MARKER):
        raise _reject(f"{what}: the signing certificate lacks Apple's marker extension")


def verify_jws(token: Any, root: x509.Certificate, what: str) -> dict[str, Any]:
    """The payload of an App Store JWS signed under `root`; ChannelNotificationRejected otherwise."""
    if not isinstance(token, str):
        raise _reject(f"the {what} is missing")
    parts = token.split(".")
    if len(parts) != 3:
        raise _reject(f"the {what} is not a compact JWS")
    header = _json_object(_b64url(parts[0]), f"{what}'s header")
    if header.get("alg") != "ES256":
        raise _reject(f"the {what} is not signed with ES256")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or len(x5c) != CHAIN_LENGTH or not all(isinstance(c, str) for c in x5c):
        raise _reject(f"the {what}'s x5c is not a chain of {CHAIN_LENGTH} certificates")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError) as error:
        raise _reject(f"the {what}'s x5c holds a malformed certificate") from error
    payload = _json_object(_b64url(parts[1]), f"{what}'s payload")
    _verify_chain(chain, root, from_millis(payload.get("signedDate"), f"the {what}'s signedDate"), what)
    key = chain[0].public_key()
    signature = _b64url(parts[2])
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _reject(f"the {what}'s signing key is not a P-256 key")
    if len(signature) != ES256_SIGNATURE_BYTES:
        raise _reject(f"the {what}'s signature is not an ES256 signature")
    half = ES256_SIGNATURE_BYTES // 2
    der = encode_dss_signature(int.from_bytes(signature[:half]), int.from_bytes(signature[half:]))
    try:
        key.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise _reject(f"the {what}'s signature does not verify") from error
    return payload


def _require_app(payload: Mapping[str, Any], app: AppStoreApp, what: str) -> None:
    if payload.get("bundleId") != app.bundle_id:
        raise _reject(f"the {what} is for another bundle id")
    environment = payload.get("environment")
    if environment != app.environment.value:
        raise _reject(f"the {what} is from environment {environment!r}; the app accepts {app.environment.value!r}")


@dataclass(frozen=True)
class AppStoreVerifier:
    """Implements `ChannelVerifier` for App Store Server Notifications v2 (JSON body `{"signedPayload": ...}`)."""

    apps: AppStoreApps

    async def verify(self, raw: RawNotification) -> TrustedNotification:
        app = await self.apps.find(raw.tenant_id, raw.app_id)
        if app is None:
            raise ChannelAppNotFound(f"no App Store app {raw.app_id!r} is configured")
        root = x509.load_pem_x509_certificate(app.root_certificate_pem.encode())
        body = _json_object(raw.body, "body")
        notification = verify_jws(body.get("signedPayload"), root, "signedPayload")
        uuid = notification.get("notificationUUID")
        if not isinstance(uuid, str) or not uuid:
            raise _reject("the notification has no notificationUUID")
        signed_at = from_millis(notification.get("signedDate"), "the notification's signedDate")
        data = notification.get("data")
        if not isinstance(data, dict):
            # NOTE: summary (mass renewal extension) and external purchase notifications carry no data.
            return TrustedNotification(
                uuid,
                {"notification": notification, "app_id": app.app_id, "storefront_id": app.storefront_id},
                signed_at,
            )
        _require_app(data, app, "notification")
        production = app.environment is AppStoreEnvironment.PRODUCTION
        if production and app.app_apple_id and data.get("appAppleId") != app.app_apple_id:
            raise _reject("the notification is for another Apple app id")
        payload: dict[str, Any] = {
            "notification": notification,
            "app_id": app.app_id,
            "storefront_id": app.storefront_id,
        }
        for key, what, name in (
            ("signedTransactionInfo", "signed transaction", "transaction"),
            ("signedRenewalInfo", "signed renewal info", "renewal"),
        ):
            if key in data:
                decoded = verify_jws(data[key], root, what)
                if name == "transaction":
                    _require_app(decoded, app, what)
                elif decoded.get("environment") != app.environment.value:
                    raise _reject(f"the {what} is from another environment")
                payload[name] = decoded
        return TrustedNotification(uuid, payload, signed_at)


# --- normalization --------------------------------------------------------------------------------


K = lc.ChannelEventKind
# Notification types (and subtypes) lifecycle has no event for: acknowledged, recorded as ignored.
IGNORED_TYPES = frozenset(
    {
        "TEST",
        "CONSUMPTION_REQUEST",
        "PRICE_INCREASE",
        "REFUND_REVERSED",
        "REFUND_DECLINED",
        "RENEWAL_EXTENSION",
        "ONE_TIME_CHARGE",
        "EXTERNAL_PURCHASE_TOKEN",
        "METADATA_UPDATE",
        "MIGRATION",
        "PRICE_CHANGE",
    }
)


# The kinds a purchase made with an offer is (a renewal in the offer's later periods redeems nothing new).
OFFER_KINDS = frozenset(
    {K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_PLAN_CHANGED, K.CHANNEL_EVENT_KIND_PLAN_CHANGE_SCHEDULED}
)
# A transaction's offerType of an offer with an identifier: 2 a promotional offer, 3 an offer code, 4 win-back.
STORE_OFFER_TYPES = frozenset({2, 3, 4})


def _kind(notification_type: str, subtype: str) -> lc.ChannelEventKind.ValueType | None:
    """The lifecycle event kind of a notification type and subtype; None when lifecycle has none."""
    match notification_type, subtype:
        case (("SUBSCRIBED" | "OFFER_REDEEMED"), ("INITIAL_BUY" | "RESUBSCRIBE")):
            return K.CHANNEL_EVENT_KIND_PURCHASED
        case (("DID_CHANGE_RENEWAL_PREF" | "OFFER_REDEEMED"), "UPGRADE"):
            # NOTE: an upgrade takes effect at once; a downgrade (or its undoing: no subtype) at the next renewal.
            return K.CHANNEL_EVENT_KIND_PLAN_CHANGED
        case ("DID_CHANGE_RENEWAL_PREF", ("DOWNGRADE" | "")) | ("OFFER_REDEEMED", "DOWNGRADE"):
            return K.CHANNEL_EVENT_KIND_PLAN_CHANGE_SCHEDULED
        case "PRICE_INCREASE", "PENDING":
            return K.CHANNEL_EVENT_KIND_PRICE_INCREASE_NOTIFIED
        case "PRICE_INCREASE", "ACCEPTED":
            return K.CHANNEL_EVENT_KIND_PRICE_INCREASE_ACCEPTED
        case "REFUND_REVERSED", _:
            return K.CHANNEL_EVENT_KIND_REFUND_REVERSED
        case "CONSUMPTION_REQUEST", _:
            return K.CHANNEL_EVENT_KIND_CONSUMPTION_REQUESTED
        case "DID_RENEW", "BILLING_RECOVERY":
            return K.CHANNEL_EVENT_KIND_RECOVERED
        case (("DID_RENEW" | "RENEWAL_EXTENDED"), _):
            return K.CHANNEL_EVENT_KIND_RENEWED
        case "DID_FAIL_TO_RENEW", "GRACE_PERIOD":
            return K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE
        case (("DID_FAIL_TO_RENEW" | "GRACE_PERIOD_EXPIRED"), _):
            return K.CHANNEL_EVENT_KIND_ON_HOLD
        case "DID_CHANGE_RENEWAL_STATUS", "AUTO_RENEW_DISABLED":
            return K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF
        case "DID_CHANGE_RENEWAL_STATUS", "AUTO_RENEW_ENABLED":
            return K.CHANNEL_EVENT_KIND_AUTO_RENEW_ON
        case "EXPIRED", _:
            return K.CHANNEL_EVENT_KIND_EXPIRED
        case "REFUND", _:
            return K.CHANNEL_EVENT_KIND_REFUNDED
        case "REVOKE", _:
            return K.CHANNEL_EVENT_KIND_REVOKED
    return None


def _timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class AppStoreNormalizer:
    """Implements `ChannelNormalizer`: one lifecycle event per notification, or none for what lifecycle lacks.

    The subscription is the transaction's `originalTransactionId`; a purchase's customer is the one whose
    linked identity is the transaction's `appAccountToken`, else its `originalTransactionId`; the plan is
    the catalog's APP_STORE mapping of the `productId`.
    """

    peers: Peers

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        decoded = notification.payload["notification"]
        kind = _kind(_text(decoded, "notificationType"), _text(decoded, "subtype"))
        transaction: Mapping[str, Any] = notification.payload.get("transaction", {})
        if kind is None or not transaction:
            return []
        renewal: Mapping[str, Any] = notification.payload.get("renewal", {})
        original = _text(transaction, "originalTransactionId")
        if not original:
            raise _reject("the transaction has no originalTransactionId")
        identity = lc.ChannelIdentity(kind=lc.CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID, value=original)
        event = lc.ChannelEvent(
            event_id=notification.notification_id,
            kind=kind,
            occur_time=_timestamp(from_millis(decoded.get("signedDate"), "the notification's signedDate")),
            channel=channel_pb2.CHANNEL_APP_STORE,
            identity=identity,
        )
        if kind in (K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED, K.CHANNEL_EVENT_KIND_RECOVERED):
            event.period_end_time.CopyFrom(
                _timestamp(from_millis(transaction.get("expiresDate"), "the transaction's expiresDate"))
            )
            price = app_store_price(transaction)
            if price is not None:
                event.price.CopyFrom(price)
        if kind == K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE and "gracePeriodExpiresDate" in renewal:
            event.grace_end_time.CopyFrom(
                _timestamp(from_millis(renewal["gracePeriodExpiresDate"], "the renewal's gracePeriodExpiresDate"))
            )
        if kind == K.CHANNEL_EVENT_KIND_PLAN_CHANGE_SCHEDULED:
            # NOTE: the product the subscription renews into is the renewal info's, not the transaction's.
            product = _text(renewal, "autoRenewProductId") or _text(transaction, "productId")
            event.plan_id = (await self._mapping(product)).plan_id
        if kind in (K.CHANNEL_EVENT_KIND_PRICE_INCREASE_NOTIFIED, K.CHANNEL_EVENT_KIND_PRICE_INCREASE_ACCEPTED):
            price = app_store_price({"price": renewal.get("renewalPrice"), "currency": renewal.get("currency")})
            if price is None:
                raise _reject("the renewal info of a price increase has no renewalPrice and currency")
            event.price.CopyFrom(price)
        if kind in OFFER_KINDS and transaction.get("offerType") in STORE_OFFER_TYPES:
            event.offer_id = _text(transaction, "offerIdentifier")
            event.transaction_id = _text(transaction, "transactionId")
        if kind in (K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_PLAN_CHANGED):
            mapping = await self._mapping(_text(transaction, "productId"))
            event.plan_id = mapping.plan_id
            if kind == K.CHANNEL_EVENT_KIND_PURCHASED:
                event.customer_id = await self._customer(transaction, identity)
                event.storefront_id = mapping.storefront_id or notification.payload.get("storefront_id", "")
                # NOTE: offerType 1 is an introductory offer; Apple's free trial is its FREE_TRIAL mode.
                event.in_trial = transaction.get("offerType") == 1 and transaction.get("offerDiscountType") in (
                    "FREE_TRIAL",
                    None,
                )
        return [event]

    async def _mapping(self, product_id: str) -> cat.ChannelMapping:
        if not product_id:
            raise _reject("the transaction has no productId")
        answer = await self.peers.catalog.ResolveChannelProduct(
            cat.ResolveChannelProductRequest(channel=channel_pb2.CHANNEL_APP_STORE, external_product_id=product_id)
        )
        return answer.channel_mapping

    async def _customer(self, transaction: Mapping[str, Any], original: lc.ChannelIdentity) -> str:
        candidates = []
        token = _text(transaction, "appAccountToken")
        if token:
            candidates.append(
                lc.ChannelIdentity(kind=lc.CHANNEL_IDENTITY_KIND_APP_STORE_APP_ACCOUNT_TOKEN, value=token.lower())
            )
        candidates.append(original)
        for identity in candidates:
            try:
                found = await self.peers.lifecycle.FindCustomerByChannelIdentity(
                    lc.FindCustomerByChannelIdentityRequest(identity=identity)
                )
            except errors.NotFound:
                continue
            return found.customer.id
        raise ChannelCustomerUnknown(
            "no customer has the transaction's appAccountToken or originalTransactionId as a channel identity"
        )
