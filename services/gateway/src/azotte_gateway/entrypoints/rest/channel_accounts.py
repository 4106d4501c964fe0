"""REST endpoints of Google Play and partners: the apps and partners a tenant configures, and what they post."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channels import RawNotification
from azotte_gateway.entrypoints.rest.channels import NotificationReceipt, receipt
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_gateway.service_layer.channel_accounts import PartnerEventAnswer
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["channels"])
MAX_BODY = 1 << 20


class GooglePlayAppBody(Body):
    app_id: str = Field(default="", description="1 to 63 of a-z, 0-9, '-', starting with a letter.")
    package_name: str = ""
    push_audience: str = Field(default="", description="The audience of the Pub/Sub push subscription.")
    push_service_account_email: str = Field(default="", description="The push subscription's service account.")
    service_account_key_json: str = Field(
        default="", description="The JSON key of a service account with Play Developer API access (never answered)."
    )
    storefront_id: str = ""


class CreateGooglePlayAppBody(MutatingBody):
    app: GooglePlayAppBody


@router.post(
    "/v1/google-play-apps",
    summary="Configure a Google Play app whose Real-time developer notifications the gateway accepts",
    description="`manage_channels` (manager, admin). The answer's `notification_path` is the push endpoint of the "
    "app's Pub/Sub subscription; a tenant's app id is taken once (409).",
    **answers(ca.CreateGooglePlayAppResponse),
)
async def create_google_play_app(body: CreateGooglePlayAppBody, who: Who, g: Gw) -> JSON:
    app = ca.GooglePlayApp(**body.app.model_dump())
    request = ca.CreateGooglePlayAppRequest(request_id=body.request_id, app=app)
    return js(await g.channel_accounts.create_google_play_app(who, request))


@router.get(
    "/v1/google-play-apps/{app_id}",
    summary="One Google Play app",
    description="`manage_channels` (manager, admin).",
    **answers(ca.GetGooglePlayAppResponse),
)
async def get_google_play_app(app_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.channel_accounts.get_google_play_app(who, ca.GetGooglePlayAppRequest(app_id=app_id)))


@router.get(
    "/v1/google-play-apps",
    summary="The tenant's Google Play apps",
    description="`manage_channels` (manager, admin). By `app_id`; no `filter` or `order_by`: a tenant has few apps.",
    **answers(ca.ListGooglePlayAppsResponse),
)
async def list_google_play_apps(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = ca.ListGooglePlayAppsRequest(page_size=page_size, page_token=page_token)
    return js(await g.channel_accounts.list_google_play_apps(who, request))


class PartnerBody(Body):
    partner_id: str = Field(default="", description="1 to 63 of a-z, 0-9, '-', starting with a letter.")
    display_name: str = ""
    public_key_pem: str = Field(default="", description="PEM of the partner's Ed25519 or P-256 public key.")
    revenue_share_bps: int | None = Field(
        default=None,
        ge=-(2**31),
        le=2**31 - 1,
        description="Wholesale terms: the tenant's share of the catalog price of each period the partner bills, "
        "in basis points (0 to 10000; unset: 10000); the partner keeps the rest.",
    )


class CreatePartnerBody(MutatingBody):
    partner: PartnerBody


@router.post(
    "/v1/partners",
    summary="Configure a partner whose signed subscriber events the gateway accepts",
    description="`manage_channels` (manager, admin). The answer's `events_path` is where the partner posts; a "
    "tenant's partner id is taken once (409). Each activation and renewal the partner sends is booked as a sale "
    "on the partner channel at the catalog price, the partner's part (per `revenue_share_bps`) as its commission.",
    **answers(ca.CreatePartnerResponse),
)
async def create_partner(body: CreatePartnerBody, who: Who, g: Gw) -> JSON:
    request = ca.CreatePartnerRequest(
        request_id=body.request_id, partner=ca.Partner(**body.partner.model_dump(exclude_none=True))
    )
    return js(await g.channel_accounts.create_partner(who, request))


@router.get(
    "/v1/partners/{partner_id}",
    summary="One partner",
    description="`manage_channels` (manager, admin).",
    **answers(ca.GetPartnerResponse),
)
async def get_partner(partner_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.channel_accounts.get_partner(who, ca.GetPartnerRequest(partner_id=partner_id)))


@router.get(
    "/v1/partners",
    summary="The tenant's partners",
    description="`manage_channels` (manager, admin). By `partner_id`; no `filter` or `order_by`.",
    **answers(ca.ListPartnersResponse),
)
async def list_partners(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = ca.ListPartnersRequest(page_size=page_size, page_token=page_token)
    return js(await g.channel_accounts.list_partners(who, request))


class PubSubMessage(BaseModel):
    data: str = Field(max_length=MAX_BODY, description="The DeveloperNotification, base64.")
    messageId: str = Field(max_length=200)
    publishTime: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)


class PubSubPush(BaseModel):
    """A Cloud Pub/Sub push delivery."""

    message: PubSubMessage
    subscription: str = ""


@router.post(
    "/v1/channels/google-play/{tenant_id}/{app_id}/notifications",
    summary="Real-time developer notifications of a tenant's Google Play app (Pub/Sub push)",
    description="Pub/Sub pushes here with its OIDC token (`Authorization: Bearer`); no API key. The token's "
    "signature (Google's keys), issuer, audience, service account and expiry, and the package name are the only "
    "proof (401 otherwise, nothing stored). The subscription's state is then read from the Play Developer API, the "
    "notification stored in the notification inbox and applied; a redelivery (same messageId and state) is applied "
    "once; a test notification answers no event. One that fails to apply (a customer not linked yet through "
    "obfuscatedExternalAccountId, ...) answers 200 with state FAILED: the inbox retries it, then parks it.",
    response_model=NotificationReceipt,
    openapi_extra={"security": []},
)
async def receive_google_play_notification(
    tenant_id: str, app_id: str, body: PubSubPush, request: Request, g: Gw
) -> NotificationReceipt:
    raw = RawNotification(
        body=await request.body(),
        headers={k.lower(): v for k, v in request.headers.items()},
        tenant_id=tenant_id,
        app_id=app_id,
    )
    return receipt(await g.channels.receive_notification(Channel.GOOGLE_PLAY, tenant_id, raw))


class PartnerEventError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str
    message: str
    field: str = Field(default="", description="The event's field at fault, e.g. `events[2].product_code`.")


class PartnerEventResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    outcome: str = Field(default="", description="APPLIED, DUPLICATE, STALE or IGNORED; empty when refused.")
    subscription_id: str = ""
    consistency_token: str = ""
    error: PartnerEventError | None = None


class PartnerReceipt(BaseModel):
    """One result per event of the request, in its order."""

    model_config = ConfigDict(extra="forbid")

    events: list[PartnerEventResult]


def _result(answer: PartnerEventAnswer) -> PartnerEventResult:
    if answer.error is not None:
        violations: list[Any] = getattr(answer.error, "violations", [])
        error = PartnerEventError(
            reason=answer.error.reason,
            message=answer.error.message,
            field=violations[0].field if violations else "",
        )
        return PartnerEventResult(event_id=answer.event_id, error=error)
    assert answer.applied is not None
    return PartnerEventResult(
        event_id=answer.event_id,
        outcome=lc.ChannelEventOutcome.Name(answer.applied.outcome).removeprefix("CHANNEL_EVENT_OUTCOME_"),
        subscription_id=answer.applied.subscription.id,
        consistency_token=answer.applied.consistency_token,
    )


@router.post(
    "/v1/channels/partners/{tenant_id}/{partner_id}/events",
    summary="A partner's subscriber events (activate, renew, suspend, resume, cancel, expire)",
    description="The body is a compact JWS (`application/jose`) signed with the partner's key: header `kid` = the "
    "partner id, claims `iat` within 5 minutes, a unique `jti` and `events`; no API key. A bad signature, a stale "
    "`iat` or a replayed `jti` answers 401 with nothing applied; otherwise 200 with one result per event: applied "
    "(an event id seen before is applied once) or refused with an error naming the event's field.",
    response_model=PartnerReceipt,
    openapi_extra={"security": []},
)
async def receive_partner_events(tenant_id: str, partner_id: str, request: Request, g: Gw) -> PartnerReceipt:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidArgument.field("body", f"must be at most {MAX_BODY} bytes")
    try:
        token = body.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise InvalidArgument.field("body", "must be a compact JWS") from error
    answers_ = await g.channel_accounts.receive_partner_events(tenant_id, partner_id, token)
    return PartnerReceipt(events=[_result(a) for a in answers_])
