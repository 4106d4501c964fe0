"""Partners and aggregators: their signed requests verified, their subscriber events normalized for lifecycle.

A request is a compact JWS (RFC 7515) signed with the partner's key: header `alg` EdDSA (Ed25519) or ES256
(P-256), whichever the configured key verifies, and `kid` = the partner id; claims `iat` (seconds, within
five minutes of now), a unique `jti`, and `events`, each:

    {"event_id": "e-1", "type": "activate", "subscriber_id": "s-42", "product_code": "OTT-PREMIUM",
     "occur_time": "2026-03-01T12:00:00Z", "period_end": "2026-04-01T12:00:00Z"}

`type` is activate, renew, suspend, resume, cancel or expire; `period_end` is required for activate and
renew. The subscriber id becomes the customer's channel identity (issuer: the partner); the subscription is
the subscriber's product; the product code is mapped to a plan by the catalog's PARTNER mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from google.protobuf import timestamp_pb2

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channel_accounts import Partner, PartnerRequest
from azotte_gateway.errors import ChannelNotificationRejected
from azotte_gateway.ports import Peers
from azotte_platform import errors
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.requests import text_problem
from azotte_platform.request_ids import derive_request_id

REPLAY_WINDOW = timedelta(minutes=5)
MAX_EVENTS = 500
MAX_TEXT = 200
K = lc.ChannelEventKind
KINDS = {
    "activate": K.CHANNEL_EVENT_KIND_PURCHASED,
    "renew": K.CHANNEL_EVENT_KIND_RENEWED,
    # NOTE: a suspended subscriber has no access until resumed; the policy's hold period ends it otherwise.
    "suspend": K.CHANNEL_EVENT_KIND_ON_HOLD,
    "resume": K.CHANNEL_EVENT_KIND_RESUMED,
    # NOTE: cancel keeps access to the end of the paid period; expire ends it now.
    "cancel": K.CHANNEL_EVENT_KIND_AUTO_RENEW_OFF,
    "expire": K.CHANNEL_EVENT_KIND_EXPIRED,
}
NEEDS_PERIOD_END = ("activate", "renew")


def _reject(reason: str) -> ChannelNotificationRejected:
    return ChannelNotificationRejected(f"partner request rejected: {reason}")


def verify_partner_request(token: str, partner: Partner, now: datetime) -> PartnerRequest:
    """The claims of a partner's JWS signed with its key within the replay window; rejected otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise _reject("the body is not a compact JWS") from error
    if header.get("kid") != partner.partner_id:
        raise _reject("the JWS kid is not the partner's id")
    if header.get("alg") != partner.algorithm:
        raise _reject(f"the JWS is not signed with {partner.algorithm}, the partner's key's algorithm")
    try:
        claims = jwt.decode(
            token,
            partner.public_key_pem,
            algorithms=[partner.algorithm],
            options={"require": ["iat", "jti"], "verify_iat": False},
        )
    except jwt.PyJWTError as error:
        raise _reject(f"the JWS does not verify ({error})") from error
    iat, jti = claims["iat"], claims["jti"]
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise _reject("iat is not a number of seconds")
    if abs(iat - now.timestamp()) > REPLAY_WINDOW.total_seconds():
        raise _reject("iat is not within five minutes of now")
    if not isinstance(jti, str) or not jti or text_problem(jti, MAX_TEXT):
        raise _reject("jti is not a short text")
    events = claims.get("events")
    if not isinstance(events, list) or not events:
        raise InvalidArgument.field("events", "must be a non-empty list")
    if len(events) > MAX_EVENTS:
        raise InvalidArgument.field("events", f"must hold at most {MAX_EVENTS} events")
    return PartnerRequest(jti=jti, events=events)


def _text(event: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str:
    value = event.get(name, "")
    if not isinstance(value, str):
        raise InvalidArgument.field(f"{where}.{name}", "must be a string")
    problem = text_problem(value, MAX_TEXT)
    if problem:
        raise InvalidArgument.field(f"{where}.{name}", problem)
    if required and not value:
        raise InvalidArgument.field(f"{where}.{name}", "is required")
    return value


def _time(event: Mapping[str, Any], name: str, where: str) -> timestamp_pb2.Timestamp:
    text = _text(event, name, where)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidArgument.field(f"{where}.{name}", "is not an RFC 3339 timestamp") from error
    if at.tzinfo is None:
        raise InvalidArgument.field(f"{where}.{name}", "must name its time zone (e.g. Z)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at.astimezone(UTC))
    return stamp


@dataclass(frozen=True)
class SignedPartnerEvents:
    """Implements `channel_accounts.PartnerEvents`: verifies requests, normalizes one event at a time."""

    peers: Peers

    def verify(self, token: str, partner: Partner, now: datetime) -> PartnerRequest:
        return verify_partner_request(token, partner, now)

    def event_id(self, event: Any) -> str:
        value = event.get("event_id") if isinstance(event, dict) else None
        return value if isinstance(value, str) and not text_problem(value, MAX_TEXT) else ""

    def request_id(self, partner: Partner, event_id: str) -> str:
        # NOTE: the same whenever the partner sends the event again, in a new request: applied once.
        return derive_request_id("channel", "partner", partner.partner_id, event_id)

    async def normalize(self, partner: Partner, index: int, event: Any) -> lc.ChannelEvent:
        where = f"events[{index}]"
        if not isinstance(event, dict):
            raise InvalidArgument.field(where, "must be an object")
        event_id = _text(event, "event_id", where)
        kind_name = _text(event, "type", where)
        if kind_name not in KINDS:
            raise InvalidArgument.field(f"{where}.type", f"must be one of {', '.join(KINDS)}")
        subscriber = _text(event, "subscriber_id", where)
        product = _text(event, "product_code", where)
        # NOTE: one subscription per subscriber and product, so a subscriber may hold several products.
        identity = lc.ChannelIdentity(
            kind=lc.CHANNEL_IDENTITY_KIND_PARTNER_SUBSCRIBER_ID,
            value=f"{subscriber}/{product}",
            issuer=partner.partner_id,
        )
        normalized = lc.ChannelEvent(
            event_id=f"partner:{partner.partner_id}:{event_id}",
            kind=KINDS[kind_name],
            occur_time=_time(event, "occur_time", where),
            channel=channel_pb2.CHANNEL_PARTNER,
            identity=identity,
        )
        if kind_name in NEEDS_PERIOD_END or event.get("period_end"):
            normalized.period_end_time.CopyFrom(_time(event, "period_end", where))
        if kind_name == "activate":
            mapping = await self._mapping(product, f"{where}.product_code")
            normalized.plan_id, normalized.storefront_id = mapping.plan_id, mapping.storefront_id
            normalized.customer_id = await self._customer(partner, subscriber, mapping.storefront_id)
        return normalized

    async def _mapping(self, product: str, field: str) -> cat.ChannelMapping:
        try:
            answer = await self.peers.catalog.ResolveChannelProduct(
                cat.ResolveChannelProductRequest(channel=channel_pb2.CHANNEL_PARTNER, external_product_id=product)
            )
        except errors.NotFound as error:
            raise InvalidArgument.field(field, "is not mapped to a plan by the catalog's partner mappings") from error
        return answer.channel_mapping

    async def _customer(self, partner: Partner, subscriber: str, storefront_id: str) -> str:
        """The customer the subscriber id is linked to; else a new one with it, in the storefront's country."""
        identity = lc.ChannelIdentity(
            kind=lc.CHANNEL_IDENTITY_KIND_PARTNER_SUBSCRIBER_ID, value=subscriber, issuer=partner.partner_id
        )
        try:
            found = await self.peers.lifecycle.FindCustomerByChannelIdentity(
                lc.FindCustomerByChannelIdentityRequest(identity=identity)
            )
            return found.customer.id
        except errors.NotFound:
            pass
        storefront = await self.peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=storefront_id))
        created = await self.peers.lifecycle.CreateCustomer(
            lc.CreateCustomerRequest(
                request_id=derive_request_id("channel", "partner", partner.partner_id, "customer", subscriber),
                external_id=f"{partner.partner_id}:{subscriber}",
                country_code=storefront.storefront.country_code,
                identities=[identity],
            )
        )
        return created.customer.id
