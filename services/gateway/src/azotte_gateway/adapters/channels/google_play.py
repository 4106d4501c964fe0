"""Google Play Real-time developer notifications, pushed by Cloud Pub/Sub: verify, read the purchase, normalize.

Verification (`GooglePlayVerifier`), before the body is read:
- `Authorization: Bearer <OIDC token>`, an RS256 JWT whose `kid` names a key of Google's certificates;
- `iss` is Google's accounts, `aud` the app's push audience, `email` the app's push service account with
  `email_verified`, and the token has not expired;
- the decoded `DeveloperNotification` names the app's package.
Then, as Google asks, the subscription's state is read from the Play Developer API (`subscriptionsv2.get`):
the notification only says that something changed, and out-of-order or repeated deliveries all read the
same truth. There is no way to skip any of it.

Normalization (`GooglePlayNormalizer`) maps the notification type with the state read to lifecycle's events;
`GooglePlayAcknowledger` acknowledges a new purchase once lifecycle has applied it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt
from google.protobuf import timestamp_pb2

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.store_prices import google_play_price
from azotte_gateway.domain.channel_accounts import GooglePlayApp
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.errors import ChannelAppNotFound, ChannelCustomerUnknown, ChannelNotificationRejected
from azotte_gateway.ports import Peers
from azotte_platform import errors
from azotte_platform.request_ids import derive_request_id

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
K = lc.ChannelEventKind
IDENTITY_TOKEN = lc.CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN
IDENTITY_ACCOUNT = lc.CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID


class GooglePlayApps(Protocol):
    """The configured Google Play apps."""

    async def find(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        """The tenant's app, or None."""
        ...


class SigningKeys(Protocol):
    """The keys Google signs push tokens with (its OIDC certificates), by `kid`."""

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key of this id, or None."""
        ...


class PlayPurchases(Protocol):
    """The Play Developer API, as the app's service account."""

    async def subscription(self, app: GooglePlayApp, purchase_token: str) -> dict[str, Any]:
        """The `SubscriptionPurchaseV2` of a purchase token."""
        ...

    async def acknowledge(self, app: GooglePlayApp, product_id: str, purchase_token: str) -> None:
        """Acknowledge a subscription purchase (Google refunds one left unacknowledged for three days)."""
        ...


# What the events of a notification are made of; not, say, `acknowledgementState`, which acknowledging changes.
STATE_FIELDS = (
    "subscriptionState",
    "lineItems",
    "linkedPurchaseToken",
    "pausedStateContext",
    "externalAccountIdentifiers",
)


def state_digest(purchase: Mapping[str, Any]) -> str:
    """A short digest of the purchase state the normalizer reads."""
    state = json.dumps({name: purchase.get(name) for name in STATE_FIELDS}, sort_keys=True, default=str)
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _reject(reason: str) -> ChannelNotificationRejected:
    return ChannelNotificationRejected(f"Google Play notification rejected: {reason}")


def _push_claims(authorization: str, key: jwt.PyJWK | None, app: GooglePlayApp, stored: bool) -> None:
    """Check the push token; for a stored push, its expiry was checked when it arrived."""
    if key is None:
        raise _reject("the push token is signed by a key Google does not publish")
    try:
        claims = jwt.decode(
            authorization,
            key,
            algorithms=["RS256"],
            audience=app.push_audience,
            issuer=GOOGLE_ISSUERS,
            options={"require": ["exp", "iat", "iss", "aud", "email"], "verify_exp": not stored},
        )
    except jwt.PyJWTError as error:
        raise _reject(f"the push token is not valid ({error})") from error
    if claims.get("email") != app.push_service_account_email or claims.get("email_verified") is not True:
        raise _reject("the push token is not the app's push service account's")


def _bearer(raw: RawNotification) -> str:
    scheme, _, token = raw.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _reject("the push carries no bearer token")
    return token.strip()


def _message(body: bytes) -> tuple[str, dict[str, Any]]:
    """The Pub/Sub push's message id and its decoded DeveloperNotification."""
    try:
        push = json.loads(body)
        message = push["message"]
        notification = json.loads(base64.b64decode(message["data"], validate=True))
        message_id = message["messageId"]
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise _reject("the body is not a Pub/Sub push of a developer notification") from error
    if not isinstance(notification, dict) or not isinstance(message_id, str) or not message_id:
        raise _reject("the body is not a Pub/Sub push of a developer notification")
    return message_id, notification


@dataclass(frozen=True)
class GooglePlayVerifier:
    """Implements `ChannelVerifier` for Pub/Sub pushes of Real-time developer notifications."""

    apps: GooglePlayApps
    keys: SigningKeys
    purchases: PlayPurchases

    async def verify(self, raw: RawNotification) -> TrustedNotification:
        app = await self.apps.find(raw.tenant_id, raw.app_id)
        if app is None:
            raise ChannelAppNotFound(f"no Google Play app {raw.app_id!r} is configured")
        token = _bearer(raw)
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise _reject("the push token is not a JWT") from error
        _push_claims(token, await self.keys.key(kid) if isinstance(kid, str) else None, app, raw.stored)
        message_id, notification = _message(raw.body)
        if notification.get("packageName") != app.package_name:
            raise _reject("the notification is for another package")
        payload: dict[str, Any] = {"app": app, "notification": notification}
        # NOTE: Pub/Sub message ids are unique per topic, and each app has its own topic.
        notification_id = f"{app.app_id}/{message_id}"
        subscription = notification.get("subscriptionNotification")
        if isinstance(subscription, dict):
            purchase_token = subscription.get("purchaseToken")
            if not isinstance(purchase_token, str) or not purchase_token:
                raise _reject("the subscription notification has no purchaseToken")
            purchase = await self.purchases.subscription(app, purchase_token)
            payload["purchase"] = purchase
            # NOTE: a redelivery reading the same state is the same notification (applied once); one reading a
            # state that changed since is a new one, whose events lifecycle applies in event-time order.
            notification_id = f"{notification_id}/{state_digest(purchase)}"
        at = _event_time(notification) if "eventTimeMillis" in notification else None
        return TrustedNotification(notification_id, payload, at)


# --- normalization --------------------------------------------------------------------------------

# SubscriptionNotification.notificationType values that change no state lifecycle keeps: price changes
# (8 PRICE_CHANGE_CONFIRMED, 19 PRICE_CHANGE_UPDATED), a pause scheduled for later (11), and a pending
# purchase that never became a subscription (20 PENDING_PURCHASE_CANCELED).
IGNORED_TYPES = frozenset({8, 11, 19, 20})
PURCHASED, RECOVERED, RENEWED, CANCELED, RESTARTED, REVOKED = 4, 1, 2, 3, 7, 12
# The states whose period the subscriber has paid for: a purchase seen in one of them starts a subscription.
PAID_STATES = frozenset(
    {"SUBSCRIPTION_STATE_ACTIVE", "SUBSCRIPTION_STATE_CANCELED", "SUBSCRIPTION_STATE_IN_GRACE_PERIOD"}
)


def state_kinds(notification_type: int, state: str) -> list[lc.ChannelEventKind.ValueType]:
    """The lifecycle events of a notification type, given the subscription's state as Google reads it now.

    NOTE: the state read wins over the type: a late or repeated notification applies today's truth.
    """
    if notification_type in IGNORED_TYPES:
        return []
    kinds: list[lc.ChannelEventKind.ValueType] = []
    if notification_type == PURCHASED and state in PAID_STATES:
        kinds.append(K.CHANNEL_EVENT_KIND_PURCHASED)
    match state:
        case "SUBSCRIPTION_STATE_ACTIVE" if not kinds:
            kinds.append(
                {RECOVERED: K.CHANNEL_EVENT_KIND_RECOVERED, RESTARTED: K.CHANNEL_EVENT_KIND_AUTO_RENEW_ON}.get(
                    notification_type, K.CHANNEL_EVENT_KIND_RENEWED
                )
            )
        case "SUBSCRIPTION_STATE_CANCELED":
            kinds.append(K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF)
        case "SUBSCRIPTION_STATE_IN_GRACE_PERIOD":
            kinds.append(K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE)
        case "SUBSCRIPTION_STATE_ON_HOLD":
            kinds.append(K.CHANNEL_EVENT_KIND_ON_HOLD)
        case "SUBSCRIPTION_STATE_PAUSED":
            kinds.append(K.CHANNEL_EVENT_KIND_PAUSED)
        case "SUBSCRIPTION_STATE_EXPIRED":
            kinds.append(K.CHANNEL_EVENT_KIND_REVOKED if notification_type == REVOKED else K.CHANNEL_EVENT_KIND_EXPIRED)
    # PENDING (not paid yet) and PENDING_PURCHASE_CANCELED never were a subscription: nothing.
    return kinds


def rfc3339(value: Any, what: str) -> datetime:
    """A Google timestamp ("2026-03-01T12:00:00.123Z") as a UTC datetime."""
    if not isinstance(value, str):
        raise _reject(f"{what} is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _reject(f"{what} is not a timestamp") from error
    if parsed.tzinfo is None:
        raise _reject(f"{what} has no time zone")
    return parsed.astimezone(UTC)


def _event_time(notification: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(notification["eventTimeMillis"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise _reject("the notification's eventTimeMillis is not a timestamp") from error


def _timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def line_item(purchase: Mapping[str, Any]) -> Mapping[str, Any]:
    """The purchase's line item that ends last (a subscription purchase has one per product)."""
    items = [item for item in purchase.get("lineItems", []) if isinstance(item, dict)]
    if not items:
        raise _reject("the subscription has no lineItems")
    return max(items, key=lambda item: str(item.get("expiryTime", "")))


def external_product_id(item: Mapping[str, Any]) -> str:
    """The catalog's GOOGLE_PLAY product id of a line item: "productId:basePlanId" (or the product id alone)."""
    product = item.get("productId")
    if not isinstance(product, str) or not product:
        raise _reject("the line item has no productId")
    offer = item.get("offerDetails")
    base_plan = offer.get("basePlanId") if isinstance(offer, dict) else None
    return f"{product}:{base_plan}" if isinstance(base_plan, str) and base_plan else product


def _identity(token: str) -> lc.ChannelIdentity:
    return lc.ChannelIdentity(kind=IDENTITY_TOKEN, value=token)


@dataclass(frozen=True)
class GooglePlayNormalizer:
    """Implements `ChannelNormalizer`: the events of a notification and the purchase state read with it.

    The subscription is the purchase token. A purchase's customer is the one linked to its
    `obfuscatedExternalAccountId`, else to its `linkedPurchaseToken` (an upgrade or downgrade), else to its
    token; the token is then linked to that customer. An upgrade or downgrade first ends the subscription
    of the linked token, so the subscriber is never entitled twice. The plan is the catalog's GOOGLE_PLAY
    mapping of "productId:basePlanId". A voided subscription purchase is a refund.
    """

    peers: Peers

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        decoded = notification.payload["notification"]
        at = _event_time(decoded)
        voided = decoded.get("voidedPurchaseNotification")
        if isinstance(voided, dict):
            # NOTE: productType 1 is a subscription (2 a one-time product, not Azotte's).
            token = voided.get("purchaseToken")
            if voided.get("productType") != 1 or not isinstance(token, str) or not token:
                return []
            return [
                self._event(f"google_play:{notification.notification_id}", K.CHANNEL_EVENT_KIND_REFUNDED, at, token)
            ]
        subscription = decoded.get("subscriptionNotification")
        if not isinstance(subscription, dict):
            return []  # testNotification, oneTimeProductNotification
        purchase: Mapping[str, Any] = notification.payload["purchase"]
        notification_type = subscription.get("notificationType")
        if not isinstance(notification_type, int):
            raise _reject("the subscription notification has no notificationType")
        token = str(subscription["purchaseToken"])
        events: list[lc.ChannelEvent] = []
        for kind in state_kinds(notification_type, str(purchase.get("subscriptionState", ""))):
            event = self._event(f"google_play:{notification.notification_id}:{len(events)}", kind, at, token)
            await self._describe(event, purchase, notification.payload["app"], token, at)
            events.append(event)
        linked = purchase.get("linkedPurchaseToken")
        purchased = bool(events) and events[0].kind == K.CHANNEL_EVENT_KIND_PURCHASED
        if purchased and isinstance(linked, str) and linked and await self._known(linked):
            superseded_id = f"google_play:{notification.notification_id}:linked"
            superseded = self._event(superseded_id, K.CHANNEL_EVENT_KIND_EXPIRED, at, linked)
            events.insert(0, superseded)
        return events

    @staticmethod
    def _event(event_id: str, kind: lc.ChannelEventKind.ValueType, at: datetime, token: str) -> lc.ChannelEvent:
        return lc.ChannelEvent(
            event_id=event_id,
            kind=kind,
            occur_time=_timestamp(at),
            channel=channel_pb2.CHANNEL_GOOGLE_PLAY,
            identity=_identity(token),
        )

    async def _describe(
        self, event: lc.ChannelEvent, purchase: Mapping[str, Any], app: GooglePlayApp, token: str, at: datetime
    ) -> None:
        item = line_item(purchase)
        if event.kind in (K.CHANNEL_EVENT_KIND_PURCHASED, K.CHANNEL_EVENT_KIND_RENEWED, K.CHANNEL_EVENT_KIND_RECOVERED):
            event.period_end_time.CopyFrom(_timestamp(rfc3339(item.get("expiryTime"), "the line item's expiryTime")))
            price = google_play_price(item)
            if price is not None:
                event.price.CopyFrom(price)
        if event.kind == K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE and "expiryTime" in item:
            # NOTE: in grace, the line item's expiryTime is the end of the grace period.
            grace_end = rfc3339(item["expiryTime"], "the line item's expiryTime")
            if grace_end > at:
                event.grace_end_time.CopyFrom(_timestamp(grace_end))
        if event.kind == K.CHANNEL_EVENT_KIND_PAUSED:
            paused = purchase.get("pausedStateContext")
            resume = paused.get("autoResumeTime") if isinstance(paused, dict) else None
            event.resume_time.CopyFrom(_timestamp(rfc3339(resume, "the pause's autoResumeTime")))
        if event.kind == K.CHANNEL_EVENT_KIND_PURCHASED:
            mapping = await self._mapping(external_product_id(item))
            event.plan_id = mapping.plan_id
            event.storefront_id = mapping.storefront_id or app.storefront_id
            event.customer_id = await self._customer(purchase, token)
            offer_phase = item.get("offerPhase")
            event.in_trial = isinstance(offer_phase, dict) and "freeTrial" in offer_phase
            offer = item.get("offerDetails")
            offer_id = offer.get("offerId") if isinstance(offer, dict) else None
            order_id = purchase.get("latestOrderId")
            if isinstance(offer_id, str) and offer_id and isinstance(order_id, str) and order_id:
                event.offer_id, event.transaction_id = offer_id, order_id

    async def _known(self, token: str) -> bool:
        """Whether a customer bought with this token here (so lifecycle holds its subscription)."""
        try:
            await self.peers.lifecycle.FindCustomerByChannelIdentity(
                lc.FindCustomerByChannelIdentityRequest(identity=_identity(token))
            )
        except errors.NotFound:
            return False
        return True

    async def _mapping(self, product_id: str) -> cat.ChannelMapping:
        answer = await self.peers.catalog.ResolveChannelProduct(
            cat.ResolveChannelProductRequest(channel=channel_pb2.CHANNEL_GOOGLE_PLAY, external_product_id=product_id)
        )
        return answer.channel_mapping

    async def _customer(self, purchase: Mapping[str, Any], token: str) -> str:
        candidates = []
        accounts = purchase.get("externalAccountIdentifiers")
        account = accounts.get("obfuscatedExternalAccountId") if isinstance(accounts, dict) else None
        if isinstance(account, str) and account:
            candidates.append(lc.ChannelIdentity(kind=IDENTITY_ACCOUNT, value=account))
        linked = purchase.get("linkedPurchaseToken")
        if isinstance(linked, str) and linked:
            candidates.append(_identity(linked))
        candidates.append(_identity(token))
        for identity in candidates:
            try:
                found = await self.peers.lifecycle.FindCustomerByChannelIdentity(
                    lc.FindCustomerByChannelIdentityRequest(identity=identity)
                )
            except errors.NotFound:
                continue
            if identity.value != token:
                # NOTE: the token is the customer's from now on: a later upgrade names it as its linked token.
                await self.peers.lifecycle.LinkChannelIdentity(
                    lc.LinkChannelIdentityRequest(
                        request_id=derive_request_id("channel", "google_play", "link", token),
                        customer_id=found.customer.id,
                        identity=_identity(token),
                    )
                )
            return found.customer.id
        raise ChannelCustomerUnknown(
            "no customer has the purchase's obfuscatedExternalAccountId, linkedPurchaseToken or token linked"
        )


@dataclass(frozen=True)
class GooglePlayAcknowledger:
    """Implements `ChannelAcknowledger`: acknowledges a paid purchase Google still waits an acknowledgement of."""

    purchases: PlayPurchases

    async def acknowledge(self, notification: TrustedNotification) -> None:
        purchase: Mapping[str, Any] | None = notification.payload.get("purchase")
        if not purchase or purchase.get("acknowledgementState") != "ACKNOWLEDGEMENT_STATE_PENDING":
            return
        if purchase.get("subscriptionState") not in PAID_STATES:
            return
        token = notification.payload["notification"]["subscriptionNotification"]["purchaseToken"]
        product = line_item(purchase).get("productId")
        await self.purchases.acknowledge(notification.payload["app"], str(product), str(token))
