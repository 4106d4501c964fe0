"""REST endpoints of access checks and entitlements."""

from __future__ import annotations

from fastapi import APIRouter

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Int64, PageSize, Who, js

router = APIRouter(tags=["access"])


@router.get("/v1/customers/{customer_id}/access/{feature_key}", summary="Check access to a feature")
async def check_access(customer_id: str, feature_key: str, who: Who, g: Gw, quantity: Int64 = 0) -> JSON:
    request = gw.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key, quantity=quantity)
    return js(await g.access.check_access(who, request))


@router.get("/v1/customers/{customer_id}/entitlements", summary="List a customer's entitlements")
async def list_entitlements(customer_id: str, who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gw.ListEntitlementsRequest(customer_id=customer_id, page_size=page_size, page_token=page_token)
    return js(await g.access.list_entitlements(who, request))
