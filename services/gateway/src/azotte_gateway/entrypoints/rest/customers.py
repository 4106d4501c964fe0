"""REST endpoints of customer search, channel identities and subscription history."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import customers_pb2 as cu
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["customers"])

_PREFIX = "CHANNEL_IDENTITY_KIND_"
IdentityKind = Literal[
    "APP_STORE_ORIGINAL_TRANSACTION_ID",
    "APP_STORE_APP_ACCOUNT_TOKEN",
    "GOOGLE_PLAY_PURCHASE_TOKEN",
    "GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID",
    "TELECOM_SUBSCRIBER_REF",
    "PARTNER_SUBSCRIBER_ID",
    "CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID",
    "CHANNEL_IDENTITY_KIND_APP_STORE_APP_ACCOUNT_TOKEN",
    "CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN",
    "CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID",
    "CHANNEL_IDENTITY_KIND_TELECOM_SUBSCRIBER_REF",
    "CHANNEL_IDENTITY_KIND_PARTNER_SUBSCRIBER_ID",
]


class IdentityBody(Body):
    kind: IdentityKind = Field(description="With or without the `CHANNEL_IDENTITY_KIND_` prefix.")
    value: str = Field(min_length=1)
    issuer: str = Field(default="", description="The carrier or partner id; required for telecom and partner ids.")


class LinkBody(MutatingBody):
    identity: IdentityBody


@router.get(
    "/v1/customers",
    summary="List and search the tenant's customers",
    description="`filter` (AIP-160), conditions joined by AND: `email`, `external_id`, `country_code`, "
    "`identity.kind` (e.g. `GOOGLE_PLAY_PURCHASE_TOKEN`), `identity.value`, `identity.issuer` (`=`) and "
    "`create_time` (`=`, `!=`, `<`, `<=`, `>`, `>=` an RFC 3339 time), e.g. "
    '`identity.kind = GOOGLE_PLAY_PURCHASE_TOKEN AND identity.value = "tok_1"`. `order_by` (AIP-132): '
    "`create_time` (the default), `email` or `external_id`, optionally `desc`.",
    **answers(cu.ListCustomersResponse),
)
async def list_customers(who: Who, g: Gw, listing: Listing) -> JSON:
    request = cu.ListCustomersRequest(**listing.fields())
    return js(await g.customers.list_customers(who, request))


@router.post(
    "/v1/customers/{customer_id}:linkChannelIdentity",
    summary="Link a channel identity to a customer",
    description="Linking it again is a no-op; an identity linked to another customer answers 409 `IDENTITY_LINKED`.",
    **answers(cu.LinkChannelIdentityResponse),
)
async def link_channel_identity(customer_id: str, body: LinkBody, who: Who, g: Gw) -> JSON:
    identity = gw.ChannelIdentity(
        kind=gw.ChannelIdentityKind.Value(_PREFIX + body.identity.kind.removeprefix(_PREFIX)),
        value=body.identity.value,
        issuer=body.identity.issuer,
    )
    request = cu.LinkChannelIdentityRequest(request_id=body.request_id, customer_id=customer_id, identity=identity)
    return js(await g.customers.link_channel_identity(who, request))


@router.get(
    "/v1/subscriptions/{subscription_id}/history",
    summary="A subscription's audit trail: every transition, its cause, time and actor",
    description="`filter` (AIP-160): `event_type`, `cause` (`=`) and `occur_time` (`=`, `!=`, `<`, `<=`, `>`, `>=`), "
    "joined by AND, e.g. `cause = soft_decline`. `order_by` (AIP-132): `occur_time` (the default, oldest first) or "
    "`occur_time desc`.",
    **answers(cu.ListSubscriptionHistoryResponse),
)
async def list_subscription_history(
    subscription_id: str,
    who: Who,
    g: Gw,
    listing: Listing,
) -> JSON:
    request = cu.ListSubscriptionHistoryRequest(subscription_id=subscription_id, **listing.fields())
    return js(await g.customers.list_subscription_history(who, request))
