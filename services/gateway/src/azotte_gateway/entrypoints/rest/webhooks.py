"""REST endpoints of webhooks to tenants: endpoints and their secrets, the delivery log, replays, test events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Query
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import Field, StrictBool

from azotte.gateway.v1 import webhooks_pb2 as wh
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["webhooks"])
MANAGE = "Needs `manage_webhooks` (admin)."
READ = "Needs `read_webhooks` (viewer and up)."
EVENT_TYPES_DOC = "Event types sent to the endpoint (`subscription.renewed`, `payment.*`); empty: every type."


class EndpointBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "url": {"minLength": 1}}

    url: str = Field(default="", description="Required: https (http only for sandbox tenants), a public host.")
    description: str = ""
    event_types: list[str] = Field(default_factory=list, max_length=100, description=EVENT_TYPES_DOC)


class EndpointUpdateBody(MutatingBody):
    url: str = ""
    description: str = ""
    event_types: list[str] = Field(default_factory=list, max_length=100, description=EVENT_TYPES_DOC)
    enabled: StrictBool = Field(default=True, description="False disables it; true enables it again.")
    update_mask: str = Field(
        default="", description="Comma-separated: url, description, event_types, enabled; empty: all four."
    )


class ReplayRangeBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {
        **MutatingBody.use_case_rules,
        "start_time": {},
        "end_time": {},
    }

    start_time: datetime | None = Field(default=None, description="Required: messages created from this time on.")
    end_time: datetime | None = Field(default=None, description="Required: and before this one (at most 31 days on).")
    include_delivered: StrictBool = Field(default=False, description="Also replay delivered (and pending) messages.")


@router.post(
    "/v1/webhook-endpoints",
    summary="Add a webhook endpoint",
    description=MANAGE + " The answer's `secret` (`whsec_...`) is shown only once. The URL is checked: https for "
    "live tenants, and every address it resolves to must be public (sandbox tenants may use http and loopback).",
    **answers(wh.CreateWebhookEndpointResponse),
)
async def create_endpoint(body: EndpointBody, who: Who, g: Gw) -> JSON:
    endpoint = wh.WebhookEndpoint(url=body.url, description=body.description, event_types=body.event_types)
    request = wh.CreateWebhookEndpointRequest(request_id=body.request_id, endpoint=endpoint)
    return js(await g.webhooks.create_webhook_endpoint(who, request))


@router.get(
    "/v1/webhook-endpoints",
    summary="List the webhook endpoints",
    description=READ + " Oldest first.",
    **answers(wh.ListWebhookEndpointsResponse),
)
async def list_endpoints(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = wh.ListWebhookEndpointsRequest(page_size=page_size, page_token=page_token)
    return js(await g.webhooks.list_webhook_endpoints(who, request))


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Get a webhook endpoint",
    description=READ + " Never its secret; a disabled endpoint says why and since when.",
    **answers(wh.GetWebhookEndpointResponse),
)
async def get_endpoint(endpoint_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.webhooks.get_webhook_endpoint(who, wh.GetWebhookEndpointRequest(endpoint_id=endpoint_id)))


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Change a webhook endpoint, or enable or disable it",
    description=MANAGE,
    **answers(wh.UpdateWebhookEndpointResponse),
)
async def update_endpoint(endpoint_id: str, body: EndpointUpdateBody, who: Who, g: Gw) -> JSON:
    endpoint = wh.WebhookEndpoint(
        id=endpoint_id,
        url=body.url,
        description=body.description,
        event_types=body.event_types,
        enabled=body.enabled,
    )
    mask = FieldMask(paths=[path.strip() for path in body.update_mask.split(",") if path.strip()])
    request = wh.UpdateWebhookEndpointRequest(request_id=body.request_id, endpoint=endpoint, update_mask=mask)
    return js(await g.webhooks.update_webhook_endpoint(who, request))


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Remove a webhook endpoint with its messages and log",
    description=MANAGE + " `request_id` (required) names the call, as in a body.",
    **answers(wh.DeleteWebhookEndpointResponse),
)
async def delete_endpoint(
    endpoint_id: str,
    who: Who,
    g: Gw,
    request_id: Annotated[str, Query(max_length=128, description="Required: names the call, as in a body.")] = "",
) -> JSON:
    request = wh.DeleteWebhookEndpointRequest(request_id=request_id, endpoint_id=endpoint_id)
    return js(await g.webhooks.delete_webhook_endpoint(who, request))


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}:rotate-secret",
    summary="Rotate an endpoint's signing secret",
    description=MANAGE + " The new secret is shown once; the previous one keeps signing for 24 hours, so "
    "every message in that window carries both signatures.",
    **answers(wh.RotateWebhookEndpointSecretResponse),
)
async def rotate_secret(endpoint_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = wh.RotateWebhookEndpointSecretRequest(request_id=body.request_id, endpoint_id=endpoint_id)
    return js(await g.webhooks.rotate_webhook_endpoint_secret(who, request))


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}:send-test-event",
    summary="Send a webhook.test message to an endpoint",
    description=MANAGE,
    **answers(wh.SendTestWebhookEventResponse),
)
async def send_test_event(endpoint_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = wh.SendTestWebhookEventRequest(request_id=body.request_id, endpoint_id=endpoint_id)
    return js(await g.webhooks.send_test_webhook_event(who, request))


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/messages:replay",
    summary="Replay an endpoint's messages of a time range",
    description=MANAGE + " Failed messages only, unless `include_delivered`; each keeps its `webhook-id`.",
    **answers(wh.ReplayWebhookMessagesResponse),
)
async def replay_messages(endpoint_id: str, body: ReplayRangeBody, who: Who, g: Gw) -> JSON:
    request = wh.ReplayWebhookMessagesRequest(
        request_id=body.request_id,
        endpoint_id=endpoint_id,
        start_time=convert.optional_timestamp(body.start_time),
        end_time=convert.optional_timestamp(body.end_time),
        include_delivered=body.include_delivered,
    )
    return js(await g.webhooks.replay_webhook_messages(who, request))


@router.get(
    "/v1/webhook-messages",
    summary="The delivery log: messages, newest first",
    description=READ + " `filter` (AIP-160): `endpoint_id`, `event_type`, `event_id`, `state` (PENDING, "
    "DELIVERED, FAILED) with `=`; `create_time` with `>=` and `<` (RFC 3339), joined by AND, e.g. `state = FAILED "
    'AND create_time >= "2026-01-01T00:00:00Z"`.',
    **answers(wh.ListWebhookMessagesResponse),
)
async def list_messages(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "", filter: str = "") -> JSON:
    request = wh.ListWebhookMessagesRequest(page_size=page_size, page_token=page_token, filter=filter)
    return js(await g.webhooks.list_webhook_messages(who, request))


@router.get(
    "/v1/webhook-messages/{message_id}/attempts",
    summary="Every delivery attempt of a message",
    description=READ + " Oldest first: status code, duration, error, the answer's first KiB, the next attempt.",
    **answers(wh.ListWebhookAttemptsResponse),
)
async def list_attempts(message_id: str, who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = wh.ListWebhookAttemptsRequest(message_id=message_id, page_size=page_size, page_token=page_token)
    return js(await g.webhooks.list_webhook_attempts(who, request))


@router.post(
    "/v1/webhook-messages/{message_id}:replay",
    summary="Deliver one message again, now",
    description=MANAGE + " Same `webhook-id`, same body; its endpoint must be enabled.",
    **answers(wh.ReplayWebhookMessageResponse),
)
async def replay_message(message_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = wh.ReplayWebhookMessageRequest(request_id=body.request_id, message_id=message_id)
    return js(await g.webhooks.replay_webhook_message(who, request))
