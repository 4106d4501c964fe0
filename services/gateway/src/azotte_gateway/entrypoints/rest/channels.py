"""REST endpoints of store channels: the App Store apps a tenant configures, the notifications Apple posts, and the
notification inbox operators look into."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_notifications_pb2 as cn
from azotte_gateway.domain.channel_inbox import InboxNotification
from azotte_gateway.domain.channels import RawNotification
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Int64, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform.enums import Channel

router = APIRouter(tags=["channels"])

_ENVIRONMENT = "APP_STORE_ENVIRONMENT_"


class AppStoreServerApiKeyBody(Body):
    issuer_id: str = ""
    key_id: str = Field(default="", description="The in-app purchase key's 10-character id.")
    private_key_pem: str = Field(default="", description="The key's PEM (the .p8 file); stored sealed, never answered.")


class AppStoreAppBody(Body):
    app_id: str = Field(default="", description="1 to 63 of a-z, 0-9, '-', starting with a letter.")
    bundle_id: str = ""
    environment: Literal["PRODUCTION", "SANDBOX", "APP_STORE_ENVIRONMENT_PRODUCTION", "APP_STORE_ENVIRONMENT_SANDBOX"]
    root_certificate_pem: str = Field(default="", description="PEM of the one trusted root certificate.")
    app_apple_id: Int64 = 0
    storefront_id: str = ""
    server_api: AppStoreServerApiKeyBody | None = Field(
        default=None, description="The App Store Server API key reading the history of a subscription never seen."
    )


class CreateAppStoreAppBody(MutatingBody):
    app: AppStoreAppBody


@router.post(
    "/v1/app-store-apps",
    summary="Configure an App Store app whose notifications the gateway accepts",
    description="`manage_channels` (manager, admin). The answer's `notification_path` is the URL to enter in App "
    "Store Connect. The root must be a PEM CA certificate; a tenant's app id is taken once (409). The optional "
    "`server_api` key is stored sealed and never answered (`private_key_set` says one is stored).",
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
    if given.server_api is not None:
        app.server_api.CopyFrom(ca.AppStoreServerApiKey(**given.server_api.model_dump()))
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
    """The stored notification and what applying it did: one entry per lifecycle event; none when it was ignored
    or is still to be applied."""

    model_config = ConfigDict(extra="forbid")

    notification: str = Field(description="Its name in the inbox (`GET /v1/channel-notifications/{name}`).")
    state: str = Field(description="APPLIED, IGNORED, FAILED (the inbox retries it) or PARKED.")
    events: list[AppliedEvent]


def receipt(notification: InboxNotification) -> NotificationReceipt:
    """The answer to a store: 200 once its notification is stored, whatever applying it did."""
    return NotificationReceipt(
        notification=notification.name,
        state=notification.state.name,
        events=[AppliedEvent(**vars(event)) for event in notification.applied],
    )


@router.post(
    "/v1/channels/app-store/{tenant_id}/{app_id}/notifications",
    summary="App Store Server Notifications v2 of a tenant's app",
    description="Apple posts here; no API key: the JWS signature, its x5c chain up to the app's configured root, "
    "Apple's marker extensions, the bundle id and the environment are the only proof (401 otherwise, nothing "
    "stored). 200 once stored in the notification inbox, and applied at once when it can be; a redelivered "
    "notification (same notificationUUID) answers the stored one and is applied once. One that fails to apply "
    "(a customer not linked yet, a product without channel mapping, lifecycle unavailable) answers 200 with state "
    "FAILED: the inbox retries it and parks it after the last attempt (`/v1/channel-notifications`).",
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
    return receipt(await g.channels.receive_notification(Channel.APP_STORE, tenant_id, raw))


@router.get(
    "/v1/channel-notifications",
    summary="The notification inbox: every verified store notification and where it stands",
    description="`manage_channels` (manager, admin). The newest event first, without bodies. `filter`: "
    '`channel = "app_store"|"google_play"`, `state = RECEIVED|APPLIED|IGNORED|FAILED|PARKED`.',
    **answers(cn.ListChannelNotificationsResponse),
)
async def list_channel_notifications(
    who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "", filter: str = ""
) -> JSON:
    request = cn.ListChannelNotificationsRequest(page_size=page_size, page_token=page_token, filter=filter)
    return js(await g.channel_notifications.list_channel_notifications(who, request))


@router.get(
    "/v1/channel-notifications/{channel}/{notification_id:path}",
    summary="One stored notification, its raw body and headers",
    description="`manage_channels` (manager, admin). 404 for another tenant's notification, as for a missing one.",
    **answers(cn.GetChannelNotificationResponse),
)
async def get_channel_notification(channel: str, notification_id: str, who: Who, g: Gw) -> JSON:
    request = cn.GetChannelNotificationRequest(name=f"{channel}/{notification_id}")
    return js(await g.channel_notifications.get_channel_notification(who, request))


@router.post(
    "/v1/channel-notifications/{channel}/{notification_id:path}:replay",
    summary="Apply a failed or parked notification again",
    description="`manage_channels` (manager, admin). Due at once for one more attempt (a parked one parks again if "
    "it fails); the answer is the notification queued, `GET` shows the outcome. 409 "
    "`CHANNEL_NOTIFICATION_NOT_REPLAYABLE` once applied or ignored.",
    **answers(cn.ReplayChannelNotificationResponse),
)
async def replay_channel_notification(channel: str, notification_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = cn.ReplayChannelNotificationRequest(request_id=body.request_id, name=f"{channel}/{notification_id}")
    return js(await g.channel_notifications.replay_channel_notification(who, request))
