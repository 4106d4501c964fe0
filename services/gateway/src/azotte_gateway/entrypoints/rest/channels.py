"""REST endpoints of store channels: the App Store apps a tenant configures, and the notifications Apple posts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channels import RawNotification
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Int64, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform.enums import Channel

router = APIRouter(tags=["channels"])

_ENVIRONMENT = "APP_STORE_ENVIRONMENT_"


class AppStoreAppBody(Body):
    app_id: str = Field(default="", description="1 to 63 of a-z, 0-9, '-', starting with a letter.")
    bundle_id: str = ""
    environment: Literal["PRODUCTION", "SANDBOX", "APP_STORE_ENVIRONMENT_PRODUCTION", "APP_STORE_ENVIRONMENT_SANDBOX"]
    root_certificate_pem: str = Field(default="", description="PEM of the one trusted root certificate.")
    app_apple_id: Int64 = 0
    storefront_id: str = ""


class CreateAppStoreAppBody(MutatingBody):
    app: AppStoreAppBody


@router.post(
    "/v1/app-store-apps",
    summary="Configure an App Store app whose notifications the gateway accepts",
    description="`manage_channels` (manager, admin). The answer's `notification_path` is the URL to enter in App "
    "Store Connect. The root must be a PEM CA certificate; a tenant's app id is taken once (409).",
    **answers(ca.CreateAppStoreAppResponse),
)
async def create_app_store_app(body: CreateAppStoreAppBody, who: Who, g: Gw) -> JSON:
    given = body.app
    app = ca.AppStoreApp(
        app_id=given.app_id,
        bundle_id=given.bundle_id,
        environment=ca.AppStoreEnvironment.Value(_ENVIRONMENT + given.environment.removeprefix(_ENVIRONMENT)),
        root_certificate_pem=given.root_certificate_pem,
        app_apple_id=given.app_apple_id,
        storefront_id=given.storefront_id,
    )
    request = ca.CreateAppStoreAppRequest(request_id=body.request_id, app=app)
    return js(await g.channels.create_app_store_app(who, request))


@router.get(
    "/v1/app-store-apps/{app_id}",
    summary="One App Store app",
    description="`manage_channels` (manager, admin).",
    **answers(ca.GetAppStoreAppResponse),
)
async def get_app_store_app(app_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.channels.get_app_store_app(who, ca.GetAppStoreAppRequest(app_id=app_id)))


@router.get(
    "/v1/app-store-apps",
    summary="The tenant's App Store apps",
    description="`manage_channels` (manager, admin). By `app_id`; no `filter` or `order_by`: a tenant has few apps.",
    **answers(ca.ListAppStoreAppsResponse),
)
async def list_app_store_apps(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = ca.ListAppStoreAppsRequest(page_size=page_size, page_token=page_token)
    return js(await g.channels.list_app_store_apps(who, request))


class AppStoreNotificationBody(BaseModel):
    """Apple's responseBodyV2."""

    signedPayload: str = Field(max_length=1 << 20, description="The notification as a JWS signed by Apple.")


class AppliedEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(description="APPLIED, DUPLICATE, STALE or IGNORED.")
    subscription_id: str
    consistency_token: str = Field(description="Pass to CheckAccess to read at least this state.")


class NotificationReceipt(BaseModel):
    """What applying the notification did: one entry per lifecycle event; none when it was ignored."""

    model_config = ConfigDict(extra="forbid")

    events: list[AppliedEvent]


@router.post(
    "/v1/channels/app-store/{tenant_id}/{app_id}/notifications",
    summary="App Store Server Notifications v2 of a tenant's app",
    description="Apple posts here; no API key: the JWS signature, its x5c chain up to the app's configured root, "
    "Apple's marker extensions, the bundle id and the environment are the only proof (401 otherwise, nothing "
    "applied). 200 once applied; a redelivered notification (same notificationUUID) is applied once. A purchase "
    "whose customer is not linked yet (appAccountToken or originalTransactionId) answers 409 so Apple retries.",
    response_model=NotificationReceipt,
    openapi_extra={"security": []},
)
async def receive_app_store_notification(
    tenant_id: str, app_id: str, body: AppStoreNotificationBody, request: Request, g: Gw
) -> NotificationReceipt:
    raw = RawNotification(
        body=await request.body(),
        headers={k.lower(): v for k, v in request.headers.items()},
        tenant_id=tenant_id,
        app_id=app_id,
    )
    answers_ = await g.channels.receive_notification(Channel.APP_STORE, tenant_id, raw)
    return NotificationReceipt(
        events=[
            AppliedEvent(
                outcome=lc.ChannelEventOutcome.Name(a.outcome).removeprefix("CHANNEL_EVENT_OUTCOME_"),
                subscription_id=a.subscription.id,
                consistency_token=a.consistency_token,
            )
            for a in answers_
        ]
    )
