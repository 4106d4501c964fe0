"""REST endpoints of access checks and entitlements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Listing, Quantity, Who, js
from azotte_gateway.entrypoints.rest.language import AcceptLanguage, accept_language, answer_language
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["access"])

FeatureKeys = Annotated[
    list[str], Query(min_length=1, description="The features to check, repeated: `feature_keys=hd&feature_keys=4k`.")
]


@router.get(
    "/v1/customers/{customer_id}/access/{feature_key}",
    summary="Check access to a feature",
    **answers(gw.CheckAccessResponse),
)
async def check_access(
    customer_id: str, feature_key: str, who: Who, g: Gw, quantity: Quantity = 0, consistency_token: str = ""
) -> JSON:
    request = gw.CheckAccessRequest(
        customer_id=customer_id, feature_key=feature_key, quantity=quantity, consistency_token=consistency_token
    )
    return js(await g.access.check_access(who, request))


@router.get(
    "/v1/customers/{customer_id}/entitlements",
    summary="List a customer's entitlements",
    description="`filter` (AIP-160): `feature_key` (=) and `source` (=; subscription, group, promotion, partner, "
    "manual: the features that source gives access to), joined by AND, e.g. `source = manual`. `order_by` (AIP-132): "
    "`feature_key` (the default), optionally `desc`.",
    **answers(gw.ListEntitlementsResponse),
)
async def list_entitlements(
    customer_id: str,
    who: Who,
    g: Gw,
    listing: Listing,
    response: Response,
    consistency_token: str = "",
    accept_language_: AcceptLanguage = "",
) -> JSON:
    request = gw.ListEntitlementsRequest(
        customer_id=customer_id, consistency_token=consistency_token, locale=accept_language_, **listing.fields()
    )
    with accept_language():
        answer = await g.access.list_entitlements(who, request)
    answer_language(response, answer.content_language)
    return js(answer)


@router.get(
    "/v1/customers/{customer_id}/access:batchCheck",
    summary="Check access to several features at once (at most 100)",
    **answers(gw.BatchCheckAccessResponse),
)
async def batch_check_access(
    customer_id: str, who: Who, g: Gw, feature_keys: FeatureKeys, consistency_token: str = ""
) -> JSON:
    request = gw.BatchCheckAccessRequest(
        customer_id=customer_id, feature_keys=feature_keys, consistency_token=consistency_token
    )
    return js(await g.access.batch_check_access(who, request))
