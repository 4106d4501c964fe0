"""REST endpoints of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from pydantic import Field, WithJsonSchema

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.domain.localization import content_language
from azotte_gateway.entrypoints.rest.checkout import CHANNELS
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.language import AcceptLanguage, accept_language, answer_language
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform import convert
from azotte_platform.context import REQUEST_ID_HEADER
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["catalog"])
FORMATS = {"yaml": cat.DOCUMENT_FORMAT_YAML, "json": cat.DOCUMENT_FORMAT_JSON}
MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}
DOCUMENT = {"type": "object", "description": "A catalog document (docs/examples/ott-catalog.yaml)."}
"""A catalog document, in YAML or JSON: a mapping of its sections."""
M = TypeVar("M", bound=Message)
EXISTING_SUBSCRIBERS = {
    "grandfathered": cat.EXISTING_SUBSCRIBERS_GRANDFATHERED,
    "at_next_renewal": cat.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
}


def _filter(fields: str) -> Any:
    return Query(description=f"AIP-160 filter: `field op value` joined by `AND`; {fields}.", max_length=2048)


def _order_by(fields: str) -> Any:
    return Query(description=f"AIP-132 order: `field` or `field desc`, comma-separated; {fields}.")


def _resource(message: type[Message], what: str) -> WithJsonSchema:
    """The schema of a body field holding a catalog resource in its JSON form (snake_case names, enums by name)."""
    ref = {"$ref": f"#/components/schemas/{response_model(message).__name__}"}
    return WithJsonSchema({"allOf": [ref], "description": what})


def _parsed(data: dict[str, Any], message: type[M], field: str) -> M:
    """`data` read as `message`, or INVALID_ARGUMENT naming `field` (or the field inside it that is null: the
    document types no field as nullable, and a null must not pass for "unset")."""
    null = _null_path(data, field)
    if null is not None:
        raise InvalidArgument.field(null, "must not be null (leave the field out instead)")
    try:
        return json_format.ParseDict(data, message())
    except (json_format.ParseError, TypeError, ValueError) as error:
        raise InvalidArgument.field(field, str(error)) from None


def _null_path(value: Any, path: str) -> str | None:
    """The path of the first null inside `value` (`plan.billing_interval`, `plan.texts[0].locale`), or None."""
    if value is None:
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found = _null_path(inner, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found is not None:
            return found
    return None


def _mask(text: str) -> FieldMask:
    return FieldMask(paths=[path.strip() for path in text.split(",") if path.strip()])


StorefrontFilter = Annotated[
    str, _filter("fields `country_code`, `currency_code`, `channel` (one it sells on), with `=`")
]
StorefrontOrder = Annotated[
    str,
    _order_by(
        "fields `id` (the default), `display_name`, `country_code`, `currency_code`, `create_time`, `update_time`"
    ),
]
PlanFilter = Annotated[
    str,
    _filter(
        "fields `family`, `state` (draft, active, retired), `add_on` (true, false) with `=`, and `rank` with `=`, "
        "`!=`, `<`, `<=`, `>`, `>=`, e.g. `state = active AND rank >= 2`"
    ),
]
PlanOrder = Annotated[
    str, _order_by("fields `id` (the default), `display_name`, `family`, `rank`, `create_time`, `update_time`")
]
PriceFilter = Annotated[
    str,
    _filter(
        "fields `plan_id`, `storefront_id`, `channel`, `existing_subscribers`, `scheduled` (true: not yet in "
        "effect) with `=`, and `effective_time` (RFC 3339) with `=`, `!=`, `<`, `<=`, `>`, `>=`, "
        "e.g. `scheduled = true`"
    ),
]
PriceOrder = Annotated[
    str, _order_by("fields `id` (the default), `plan_id`, `storefront_id`, `effective_time`, `schedule_time`")
]
FeatureFilter = Annotated[str, _filter("field `kind` (boolean, quota, seats) with `=`")]
FeatureOrder = Annotated[str, _order_by("fields `key` (the default), `display_name`, `kind`")]
MappingFilter = Annotated[str, _filter("fields `channel`, `plan_id`, `storefront_id`, with `=`")]
MappingOrder = Annotated[
    str, _order_by("fields `id` (the default), `channel`, `external_product_id`, `plan_id`, `storefront_id`")
]
StorefrontJson = Annotated[dict[str, Any], _resource(cat.Storefront, "A storefront; output-only fields are ignored.")]
FeatureJson = Annotated[dict[str, Any], _resource(cat.Feature, "A feature.")]
PlanJson = Annotated[
    dict[str, Any], _resource(cat.Plan, "A plan; output-only fields are ignored, state is draft or active.")
]
MappingJson = Annotated[dict[str, Any], _resource(cat.ChannelMapping, "A channel mapping (its id is output only).")]
TextStorefront = Annotated[
    str,
    Query(description="The storefront the texts are shown in (not a filter): its first locale is a fallback."),
]
UPDATE_MASK = Field(
    default="",
    description="Comma-separated fields to change, e.g. `display_name,trial_days`; empty: every field the body sets.",
)


class StorefrontBody(MutatingBody):
    storefront: StorefrontJson


class StorefrontPatch(MutatingBody):
    storefront: StorefrontJson
    update_mask: str = UPDATE_MASK


class FeatureBody(MutatingBody):
    feature: FeatureJson


class FeaturePatch(MutatingBody):
    feature: FeatureJson
    update_mask: str = UPDATE_MASK


class PlanBody(MutatingBody):
    plan: PlanJson


class PlanPatch(MutatingBody):
    plan: PlanJson
    update_mask: str = UPDATE_MASK


class PriceBody(MutatingBody):
    plan_id: str = Field(min_length=1)
    storefront_id: str = Field(min_length=1)
    channel: Literal["web", "app_store", "google_play", "telecom", "partner", "direct"] | None = Field(
        default=None, description="A channel-specific price; unset for the storefront default."
    )
    amount_minor: int = Field(ge=0, description="In minor units of the storefront currency.")
    effective_time: datetime | None = Field(
        default=None, description="When it takes effect; unset: now (only for the first price of its key)."
    )
    existing_subscribers: Literal["grandfathered", "at_next_renewal"] = "grandfathered"


class ChannelMappingBody(MutatingBody):
    channel_mapping: MappingJson


@router.put(
    "/v1/catalog",
    summary="Apply a catalog document",
    description="The body is the whole document (YAML, or JSON with `Content-Type: application/json`); its "
    "request id is the `X-Request-Id` header (required unless `dry_run=true`, which only computes the changes).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": DOCUMENT}, "application/json": {"schema": DOCUMENT}},
        }
    },
    **answers(gw.ApplyCatalogResponse),
)
async def apply_catalog(request: Request, who: Who, g: Gw, dry_run: bool = False) -> JSON:
    document = (await request.body()).decode("utf-8", errors="replace")
    is_json = request.headers.get("content-type", "").startswith("application/json")
    message = gw.ApplyCatalogRequest(
        request_id=request.headers.get(REQUEST_ID_HEADER, ""),
        document=document,
        format=cat.DOCUMENT_FORMAT_JSON if is_json else cat.DOCUMENT_FORMAT_YAML,
        validate_only=dry_run,
    )
    return js(await g.catalog.apply_catalog(who, message))


@router.get(
    "/v1/catalog",
    summary="Export the catalog as a document",
    response_class=Response,
    responses={
        200: {
            "description": "The whole catalog document: YAML (`format=yaml`, the default) or JSON (`format=json`).",
            "content": {
                "application/yaml": {"schema": DOCUMENT},
                "application/json": {"schema": DOCUMENT},
            },
        }
    },
)
async def export_catalog(who: Who, g: Gw, format: Literal["yaml", "json"] = "yaml") -> Response:
    answer = await g.catalog.export_catalog(who, gw.ExportCatalogRequest(format=FORMATS[format]))
    return Response(answer.document, media_type=MEDIA_TYPES[format])


@router.get("/v1/storefronts", summary="List storefronts", **answers(gw.ListStorefrontsResponse))
async def list_storefronts(
    who: Who,
    g: Gw,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: StorefrontFilter = "",
    order_by: StorefrontOrder = "",
) -> JSON:
    request = gw.ListStorefrontsRequest(page_size=page_size, page_token=page_token, filter=filter, order_by=order_by)
    return js(await g.catalog.list_storefronts(who, request))


@router.post("/v1/storefronts", summary="Create a storefront", **answers(ca.CreateStorefrontResponse))
async def create_storefront(body: StorefrontBody, who: Who, g: Gw) -> JSON:
    request = ca.CreateStorefrontRequest(
        request_id=body.request_id, storefront=_parsed(body.storefront, cat.Storefront, "storefront")
    )
    return js(await g.catalog.create_storefront(who, request))


@router.patch(
    "/v1/storefronts/{storefront_id}",
    summary="Update a storefront",
    description="Its currency is fixed once it has prices.",
    **answers(ca.UpdateStorefrontResponse),
)
async def update_storefront(storefront_id: str, body: StorefrontPatch, who: Who, g: Gw) -> JSON:
    storefront = _parsed(body.storefront, cat.Storefront, "storefront")
    storefront.id = storefront_id
    request = ca.UpdateStorefrontRequest(
        request_id=body.request_id, storefront=storefront, update_mask=_mask(body.update_mask)
    )
    return js(await g.catalog.update_storefront(who, request))


@router.get("/v1/storefronts/{storefront_id}", summary="Get a storefront", **answers(gw.GetStorefrontResponse))
async def get_storefront(storefront_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.catalog.get_storefront(who, gw.GetStorefrontRequest(storefront_id=storefront_id)))


@router.get("/v1/plans", summary="List plans", **answers(gw.ListPlansResponse))
async def list_plans(
    who: Who,
    g: Gw,
    response: Response,
    family: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
    filter: PlanFilter = "",
    order_by: PlanOrder = "",
    storefront_id: TextStorefront = "",
    accept_language_: AcceptLanguage = "",
) -> JSON:
    request = gw.ListPlansRequest(
        page_size=page_size,
        page_token=page_token,
        family=family,
        filter=filter,
        order_by=order_by,
        locale=accept_language_,
        storefront_id=storefront_id,
    )
    with accept_language():
        answer = await g.catalog.list_plans(who, request)
    answer_language(response, answer.content_language)
    return js(answer)


@router.post("/v1/plans", summary="Create a plan", **answers(ca.CreatePlanResponse))
async def create_plan(body: PlanBody, who: Who, g: Gw) -> JSON:
    request = ca.CreatePlanRequest(request_id=body.request_id, plan=_parsed(body.plan, cat.Plan, "plan"))
    return js(await g.catalog.create_plan(who, request))


@router.patch(
    "/v1/plans/{plan_id}",
    summary="Update a plan's definition",
    description="Its state changes only by `:activate` and `:retire`; a plan once sold keeps its billing interval.",
    **answers(ca.UpdatePlanResponse),
)
async def update_plan(plan_id: str, body: PlanPatch, who: Who, g: Gw) -> JSON:
    plan = _parsed(body.plan, cat.Plan, "plan")
    plan.id = plan_id
    request = ca.UpdatePlanRequest(request_id=body.request_id, plan=plan, update_mask=_mask(body.update_mask))
    return js(await g.catalog.update_plan(who, request))


@router.post("/v1/plans/{plan_id}:activate", summary="Open a draft plan for sale", **answers(ca.ActivatePlanResponse))
async def activate_plan(plan_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = ca.ActivatePlanRequest(request_id=body.request_id, plan_id=plan_id)
    return js(await g.catalog.activate_plan(who, request))


@router.post(
    "/v1/plans/{plan_id}:retire",
    summary="Stop selling a plan",
    description="Its subscribers keep renewing on it.",
    **answers(ca.RetirePlanResponse),
)
async def retire_plan(plan_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = ca.RetirePlanRequest(request_id=body.request_id, plan_id=plan_id)
    return js(await g.catalog.retire_plan(who, request))


@router.get("/v1/plans/{plan_id}", summary="Get a plan", **answers(gw.GetPlanResponse))
async def get_plan(
    plan_id: str,
    who: Who,
    g: Gw,
    response: Response,
    storefront_id: TextStorefront = "",
    accept_language_: AcceptLanguage = "",
) -> JSON:
    request = gw.GetPlanRequest(plan_id=plan_id, locale=accept_language_, storefront_id=storefront_id)
    with accept_language():
        answer = await g.catalog.get_plan(who, request)
    answer_language(response, answer.content_language)
    return js(answer)


@router.get("/v1/prices", summary="List price versions", **answers(gw.ListPricesResponse))
async def list_prices(
    who: Who,
    g: Gw,
    response: Response,
    plan_id: str = "",
    storefront_id: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
    filter: PriceFilter = "",
    order_by: PriceOrder = "",
    accept_language_: AcceptLanguage = "",
) -> JSON:
    request = gw.ListPricesRequest(
        plan_id=plan_id,
        storefront_id=storefront_id,
        page_size=page_size,
        page_token=page_token,
        filter=filter,
        order_by=order_by,
        locale=accept_language_,
    )
    with accept_language():
        answer = await g.catalog.list_prices(who, request)
    answer_language(response, answer.content_language)
    return js(answer)


@router.post(
    "/v1/prices",
    summary="Schedule a price version",
    description="It takes effect by itself at `effective_time`; list the ones still ahead with "
    "`GET /v1/prices?filter=scheduled = true`.",
    **answers(ca.SchedulePriceResponse),
)
async def schedule_price(body: PriceBody, who: Who, g: Gw) -> JSON:
    request = ca.SchedulePriceRequest(
        request_id=body.request_id,
        plan_id=body.plan_id,
        storefront_id=body.storefront_id,
        channel=CHANNELS[body.channel] if body.channel else channel_pb2.CHANNEL_UNSPECIFIED,
        amount_minor=body.amount_minor,
        effective_time=convert.optional_timestamp(body.effective_time),
        existing_subscribers=EXISTING_SUBSCRIBERS[body.existing_subscribers],
    )
    return js(await g.catalog.schedule_price(who, request))


@router.post(
    "/v1/prices/{price_id}:cancel",
    summary="Withdraw a scheduled price version",
    description="Only before it takes effect; a version in effect is history (409 `PRICE_ALREADY_EFFECTIVE`).",
    **answers(ca.CancelPriceResponse),
)
async def cancel_price(price_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = ca.CancelPriceRequest(request_id=body.request_id, price_id=price_id)
    return js(await g.catalog.cancel_price(who, request))


@router.get("/v1/features", summary="List features", **answers(ca.ListFeaturesResponse))
async def list_features(
    who: Who,
    g: Gw,
    response: Response,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: FeatureFilter = "",
    order_by: FeatureOrder = "",
    accept_language_: AcceptLanguage = "",
) -> JSON:
    request = ca.ListFeaturesRequest(
        page_size=page_size, page_token=page_token, filter=filter, order_by=order_by, locale=accept_language_
    )
    with accept_language():
        answer = await g.catalog.list_features(who, request)
    answer_language(response, content_language(f.localized.locale for f in answer.features))
    return js(answer)


@router.get("/v1/features/{feature_key}", summary="Get a feature", **answers(ca.GetFeatureResponse))
async def get_feature(
    feature_key: str, who: Who, g: Gw, response: Response, accept_language_: AcceptLanguage = ""
) -> JSON:
    with accept_language():
        answer = await g.catalog.get_feature(
            who, ca.GetFeatureRequest(feature_key=feature_key, locale=accept_language_)
        )
    answer_language(response, answer.feature.localized.locale)
    return js(answer)


@router.post("/v1/features", summary="Create a feature", **answers(ca.CreateFeatureResponse))
async def create_feature(body: FeatureBody, who: Who, g: Gw) -> JSON:
    request = ca.CreateFeatureRequest(request_id=body.request_id, feature=_parsed(body.feature, cat.Feature, "feature"))
    return js(await g.catalog.create_feature(who, request))


@router.patch(
    "/v1/features/{feature_key}",
    summary="Update a feature",
    description="Its kind is fixed.",
    **answers(ca.UpdateFeatureResponse),
)
async def update_feature(feature_key: str, body: FeaturePatch, who: Who, g: Gw) -> JSON:
    feature = _parsed(body.feature, cat.Feature, "feature")
    feature.key = feature_key
    request = ca.UpdateFeatureRequest(request_id=body.request_id, feature=feature, update_mask=_mask(body.update_mask))
    return js(await g.catalog.update_feature(who, request))


@router.get("/v1/channel-mappings", summary="List channel product mappings", **answers(ca.ListChannelMappingsResponse))
async def list_channel_mappings(
    who: Who,
    g: Gw,
    page_size: PageSize = 0,
    page_token: str = "",
    filter: MappingFilter = "",
    order_by: MappingOrder = "",
) -> JSON:
    request = ca.ListChannelMappingsRequest(
        page_size=page_size, page_token=page_token, filter=filter, order_by=order_by
    )
    return js(await g.catalog.list_channel_mappings(who, request))


@router.post(
    "/v1/channel-mappings",
    summary="Map a store's product id to a plan",
    **answers(ca.CreateChannelMappingResponse),
)
async def create_channel_mapping(body: ChannelMappingBody, who: Who, g: Gw) -> JSON:
    mapping = _parsed(body.channel_mapping, cat.ChannelMapping, "channel_mapping")
    request = ca.CreateChannelMappingRequest(request_id=body.request_id, channel_mapping=mapping)
    return js(await g.catalog.create_channel_mapping(who, request))
