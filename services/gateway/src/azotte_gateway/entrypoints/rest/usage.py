"""REST endpoints of usage: events reported as CloudEvents, meters, a customer's usage, the raw events (JSON, CSV)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import Field, WithJsonSchema

from azotte.gateway.v1 import usage_pb2 as gu
from azotte.metering.v1 import metering_pb2 as me
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform import convert
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["usage"])
INGEST = "Needs `ingest_usage` (operator and up; never a publishable key)."
MANAGE = "Needs `manage_meters` (manager and up)."
READ = "Needs `read_usage` (viewer and up)."
GRANULARITIES = {
    "total": me.GRANULARITY_UNSPECIFIED,
    "minute": me.GRANULARITY_MINUTE,
    "hour": me.GRANULARITY_HOUR,
    "day": me.GRANULARITY_DAY,
}
MeterJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "allOf": [{"$ref": f"#/components/schemas/{response_model(me.Meter).__name__}"}],
            "description": "A meter; create_time and update_time are ignored.",
        }
    ),
]
EventFilter = Annotated[
    str,
    Query(
        description="AIP-160 filter: `customer_id`, `type`, `source` with `=`, `time` (RFC 3339) with `<`, `<=`, "
        "`>`, `>=`, joined by `AND`.",
        max_length=2048,
    ),
]
CLOUD_EVENT = {
    "type": "object",
    "required": ["id", "source", "type", "subject"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "description": "Unique per source: (source, id) is counted once."},
        "source": {"type": "string"},
        "type": {"type": "string", "description": "Matched with the meters' event_type."},
        "subject": {"type": "string", "description": "The customer the usage is of."},
        "time": {"type": "string", "format": "date-time", "description": "At most 35 days ago; unset: now."},
        "data": {"type": "object", "description": "Where the meters read their value and dimensions."},
    },
}


def _meter(data: dict[str, Any]) -> me.Meter:
    """The body's meter, or INVALID_ARGUMENT naming `meter`."""
    try:
        return json_format.ParseDict(data, me.Meter())
    except (json_format.ParseError, TypeError, ValueError) as error:
        raise InvalidArgument.field("meter", str(error)) from None


class MeterBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "meter": {}}

    meter: MeterJson | None = None


class MeterPatch(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "meter": {}}

    meter: MeterJson | None = None
    update_mask: str = Field(default="", description="Required: comma-separated fields to change, e.g. `display_name`.")


# NOTE: every item is judged on its own, so any JSON value is accepted in the body and refused in its result.
ANY_EVENT = {"anyOf": [CLOUD_EVENT, {"description": "Anything else: refused in its own result, naming it."}]}


@router.post(
    "/v1/events",
    summary="Report usage events (CloudEvents)",
    description=INGEST
    + ' The body is a JSON array of up to 10,000 CloudEvents (structured JSON form), or `{"events": [...]}`, '
    "within 1 MiB. One result per event, in order: accepted, duplicate (same source and id, counted once), or "
    "rejected naming the field (e.g. `events[3].data.tokens`); a bad event never rejects the others. Accepted "
    "events are durable before the answer. A saturated service answers 429 with `Retry-After`: resend the batch.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "array", "items": ANY_EVENT, "maxItems": 10_000},
                            {"type": "object", "properties": {"events": {"type": "array", "items": ANY_EVENT}}},
                        ]
                    }
                }
            },
        }
    },
    **answers(gu.IngestEventsResponse),
)
async def ingest_events(request: Request, who: Who, g: Gw) -> JSON:
    return js(await g.usage.ingest_json(who, await request.body()))


@router.post("/v1/meters", summary="Create a meter", description=MANAGE, **answers(gu.CreateMeterResponse))
async def create_meter(body: MeterBody, who: Who, g: Gw) -> JSON:
    request = gu.CreateMeterRequest(request_id=body.request_id)
    if body.meter is not None:
        request.meter.CopyFrom(_meter(body.meter))
    return js(await g.usage.create_meter(who, request))


@router.get("/v1/meters", summary="List meters", description=READ, **answers(gu.ListMetersResponse))
async def list_meters(
    who: Who,
    g: Gw,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: Annotated[
        str,
        Query(
            description="AIP-160 filter: `event_type`, `aggregation` (e.g. SUM) with `=`, `create_time` compared.",
            max_length=2048,
        ),
    ] = "",
    order_by: Annotated[str, Query(description="AIP-132 order: `key` (the default) or `key desc`.")] = "",
) -> JSON:
    request = gu.ListMetersRequest(page_size=page_size, page_token=page_token, filter=filter, order_by=order_by)
    return js(await g.usage.list_meters(who, request))


@router.get("/v1/meters/{meter_key}", summary="Get a meter", description=READ, **answers(gu.GetMeterResponse))
async def get_meter(meter_key: str, who: Who, g: Gw) -> JSON:
    return js(await g.usage.get_meter(who, gu.GetMeterRequest(meter_key=meter_key)))


@router.patch(
    "/v1/meters/{meter_key}",
    summary="Change a meter",
    description=MANAGE + " What a meter counts (event_type, value_path, aggregation, dimensions) cannot change "
    "once it counted events: 409 `METER_HAS_EVENTS`.",
    **answers(gu.UpdateMeterResponse),
)
async def update_meter(meter_key: str, body: MeterPatch, who: Who, g: Gw) -> JSON:
    request = gu.UpdateMeterRequest(
        request_id=body.request_id,
        update_mask=FieldMask(paths=[p.strip() for p in body.update_mask.split(",") if p.strip()]),
    )
    if body.meter is not None:
        request.meter.CopyFrom(_meter(body.meter))
    request.meter.key = meter_key
    return js(await g.usage.update_meter(who, request))


@router.get(
    "/v1/customers/{customer_id}/usage",
    summary="A customer's usage of a meter",
    description=READ + " From rollups: per bucket (`granularity`) and per `group_by` dimension values, over a "
    "window of whole minutes (e.g. the billing period). Another tenant's or an unknown customer is 404.",
    **answers(gu.GetUsageResponse),
)
async def get_usage(
    customer_id: str,
    who: Who,
    g: Gw,
    meter_key: Annotated[str, Query(description="Required.")] = "",
    start_time: Annotated[datetime | None, Query(description="Required: inclusive, a whole minute.")] = None,
    end_time: Annotated[datetime | None, Query(description="Required: exclusive, a whole minute.")] = None,
    group_by: Annotated[list[str] | None, Query(description="Dimensions of the meter, repeated.")] = None,
    granularity: Literal["total", "minute", "hour", "day"] = "total",
) -> JSON:
    request = gu.GetUsageRequest(
        customer_id=customer_id,
        meter_key=meter_key,
        start_time=convert.optional_timestamp(start_time),
        end_time=convert.optional_timestamp(end_time),
        group_by=group_by or [],
        granularity=GRANULARITIES[granularity],
    )
    return js(await g.usage.get_usage(who, request))


@router.get(
    "/v1/usage-events",
    summary="List the raw usage events (audit)",
    description=READ + " Newest first.",
    **answers(gu.ListUsageEventsResponse),
)
async def list_usage_events(
    who: Who,
    g: Gw,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: EventFilter = "",
    order_by: Annotated[str, Query(description="AIP-132 order: `time desc` (the default) or `time`.")] = "",
) -> JSON:
    request = gu.ListUsageEventsRequest(page_size=page_size, page_token=page_token, filter=filter, order_by=order_by)
    return js(await g.usage.list_usage_events(who, request))


@router.get(
    "/v1/usage-events.csv",
    summary="Export the raw usage events as CSV",
    description=READ + " Every event matching `filter`, newest first, streamed: columns time, source, id, type, "
    "subject, data (JSON), receive_time.",
    response_class=StreamingResponse,
    responses={200: {"description": "CSV with a header line.", "content": {"text/csv": {}}}},
)
async def export_usage_events(who: Who, g: Gw, filter: EventFilter = "") -> StreamingResponse:
    lines: AsyncIterator[str] = await g.usage.export_usage_events(who, filter)
    headers = {"Content-Disposition": 'attachment; filename="usage-events.csv"'}
    return StreamingResponse(lines, media_type="text/csv", headers=headers)
