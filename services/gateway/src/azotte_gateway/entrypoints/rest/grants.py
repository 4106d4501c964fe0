"""REST endpoints of entitlements by hand: comps, revocations, feature suspensions, drift reconciliation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from fastapi import APIRouter
from pydantic import Field, StrictBool

from azotte.gateway.v1 import grants_pb2 as gr
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Int64, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["grants"])
TOKEN = "Its `consistency_token` makes a check reflect the change; the calling key's own checks reflect it at once."


REASON_REQUIRED = {**MutatingBody.use_case_rules, "reason": {"minLength": 1}}


class GrantBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**REASON_REQUIRED, "end_time": {}}

    feature_keys: list[str] = Field(
        default_factory=list, max_length=50, description="The features to grant; give these or plan_id."
    )
    plan_id: str = Field(default="", description="Grant every feature of this plan with its limits instead.")
    limit: Int64 | None = Field(default=None, description="Quota per period or seat count of quota/seats features.")
    start_time: datetime | None = Field(default=None, description="Unset: now.")
    end_time: datetime | None = Field(default=None, description="Required: at most 366 days after the start.")
    reason: str = Field(default="", description="Required: why, e.g. the support case.")


class RevokeGrantBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = REASON_REQUIRED

    reason: str = Field(default="", description="Required: why.")


class SuspendBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = REASON_REQUIRED

    reason: str = Field(default="", description="Required: why, e.g. abuse.")


class ReconcileBody(MutatingBody):
    validate_only: StrictBool = Field(default=False, description="Report what would be corrected without correcting.")


@router.post(
    "/v1/customers/{customer_id}/grants",
    summary="Grant features by hand until an end time (a comp)",
    description="Needs `manage_grants` (operator and up). " + TOKEN,
    **answers(gr.CreateGrantResponse),
)
async def create_grant(customer_id: str, body: GrantBody, who: Who, g: Gw) -> JSON:
    request = gr.CreateGrantRequest(
        request_id=body.request_id,
        customer_id=customer_id,
        feature_keys=body.feature_keys,
        plan_id=body.plan_id,
        limit=body.limit,
        start_time=convert.optional_timestamp(body.start_time),
        end_time=convert.optional_timestamp(body.end_time),
        reason=body.reason,
    )
    return js(await g.grants.create_grant(who, request))


@router.get(
    "/v1/customers/{customer_id}/grants",
    summary="List a customer's grants from every source",
    description="Needs `read_grants` (viewer and up). `filter` (AIP-160): `feature_key` (=), `source` (=; "
    "subscription, group, promotion, partner, manual), `valid_until` (=, !=, <, <=, >, >= an RFC 3339 time), "
    'joined by AND, e.g. `source = manual AND valid_until > "2026-01-01T00:00:00Z"`. `order_by` (AIP-132): '
    "`feature_key` (the default), `valid_from`, `valid_until`, each optionally `desc`.",
    **answers(gr.ListGrantsResponse),
)
async def list_grants(customer_id: str, who: Who, g: Gw, listing: Listing) -> JSON:
    request = gr.ListGrantsRequest(customer_id=customer_id, **listing.fields())
    return js(await g.grants.list_grants(who, request))


@router.post(
    "/v1/customers/{customer_id}/grants/{grant_id}:revoke",
    summary="Revoke a grant made by hand",
    description="Needs `manage_grants` (operator and up); subscription and group grants follow their lifecycle. "
    + TOKEN,
    **answers(gr.RevokeGrantResponse),
)
async def revoke_grant(customer_id: str, grant_id: str, body: RevokeGrantBody, who: Who, g: Gw) -> JSON:
    request = gr.RevokeGrantRequest(
        request_id=body.request_id, customer_id=customer_id, grant_id=grant_id, reason=body.reason
    )
    return js(await g.grants.revoke_grant(who, request))


@router.post(
    "/v1/customers/{customer_id}/features/{feature_key}:suspend",
    summary="Suspend a feature for a customer, whatever grants it",
    description="Needs `suspend_features` (manager and up). " + TOKEN,
    **answers(gr.SuspendFeatureResponse),
)
async def suspend_feature(customer_id: str, feature_key: str, body: SuspendBody, who: Who, g: Gw) -> JSON:
    request = gr.SuspendFeatureRequest(
        request_id=body.request_id, customer_id=customer_id, feature_key=feature_key, reason=body.reason
    )
    return js(await g.grants.suspend_feature(who, request))


@router.post(
    "/v1/customers/{customer_id}/features/{feature_key}:restore",
    summary="Lift a feature's suspension",
    description="Needs `suspend_features` (manager and up). " + TOKEN,
    **answers(gr.RestoreFeatureResponse),
)
async def restore_feature(customer_id: str, feature_key: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gr.RestoreFeatureRequest(request_id=body.request_id, customer_id=customer_id, feature_key=feature_key)
    return js(await g.grants.restore_feature(who, request))


@router.post(
    "/v1/customers/{customer_id}/grants:reconcile",
    summary="Reconcile a customer's grants and report the drift",
    description="Needs `reconcile_grants` (operator and up). The report says what was found and whether it was "
    "corrected.",
    **answers(gr.ReconcileGrantsResponse),
)
async def reconcile_customer_grants(customer_id: str, body: ReconcileBody, who: Who, g: Gw) -> JSON:
    request = gr.ReconcileGrantsRequest(
        request_id=body.request_id, customer_id=customer_id, validate_only=body.validate_only
    )
    return js(await g.grants.reconcile_grants(who, request))


@router.post(
    "/v1/grants:reconcile",
    summary="Reconcile every grant of the tenant and report the drift",
    description="Needs `reconcile_all_grants` (admin). The report says what was found and whether it was corrected; "
    "it lists at most 500 corrections (its counts are complete).",
    **answers(gr.ReconcileGrantsResponse),
)
async def reconcile_grants(body: ReconcileBody, who: Who, g: Gw) -> JSON:
    request = gr.ReconcileGrantsRequest(request_id=body.request_id, validate_only=body.validate_only)
    return js(await g.grants.reconcile_grants(who, request))
