"""REST endpoints of the catalog."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Gw, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform.context import REQUEST_ID_HEADER

router = APIRouter(tags=["catalog"])
FORMATS = {"yaml": cat.DOCUMENT_FORMAT_YAML, "json": cat.DOCUMENT_FORMAT_JSON}
MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}
DOCUMENT = {"type": "object", "description": "A catalog document (docs/examples/ott-catalog.yaml)."}
"""A catalog document, in YAML or JSON: a mapping of its sections."""


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
async def list_storefronts(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gw.ListStorefrontsRequest(page_size=page_size, page_token=page_token)
    return js(await g.catalog.list_storefronts(who, request))


@router.get("/v1/storefronts/{storefront_id}", summary="Get a storefront", **answers(gw.GetStorefrontResponse))
async def get_storefront(storefront_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.catalog.get_storefront(who, gw.GetStorefrontRequest(storefront_id=storefront_id)))


@router.get("/v1/plans", summary="List plans", **answers(gw.ListPlansResponse))
async def list_plans(who: Who, g: Gw, family: str = "", page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gw.ListPlansRequest(page_size=page_size, page_token=page_token, family=family)
    return js(await g.catalog.list_plans(who, request))


@router.get("/v1/plans/{plan_id}", summary="Get a plan", **answers(gw.GetPlanResponse))
async def get_plan(plan_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.catalog.get_plan(who, gw.GetPlanRequest(plan_id=plan_id)))


@router.get("/v1/prices", summary="List price versions", **answers(gw.ListPricesResponse))
async def list_prices(
    who: Who, g: Gw, plan_id: str = "", storefront_id: str = "", page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListPricesRequest(
        plan_id=plan_id, storefront_id=storefront_id, page_size=page_size, page_token=page_token
    )
    return js(await g.catalog.list_prices(who, request))
