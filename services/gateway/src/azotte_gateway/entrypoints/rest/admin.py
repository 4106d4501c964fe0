"""REST endpoints of tenant administration and the sandbox clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.domain.customer_tokens import MAX_TTL
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_gateway.service_layer.admin import MAX_ADVANCE
from azotte_platform import convert

router = APIRouter(tags=["administration"])
MAX_ADVANCE_DAYS = MAX_ADVANCE.days
"""How far one call may move the sandbox clock (a larger jump is no test of anything)."""


class ClockAdvanceBody(MutatingBody):
    advance_by_seconds: int | None = Field(default=None, ge=0, le=MAX_ADVANCE_DAYS * 86_400)
    advance_by_days: int | None = Field(default=None, ge=0, le=MAX_ADVANCE_DAYS)
    advance_to: datetime | None = None


class TenantBody(MutatingBody):
    tenant_id: str = Field(min_length=1)
    display_name: str = Field(min_length=1)
    mode: Literal["sandbox", "live"] = "sandbox"


class ApiKeyBody(MutatingBody):
    display_name: str = Field(min_length=1)
    role: Literal["admin", "manager", "operator", "viewer", "publishable"]
    expire_time: datetime | None = None


@router.post(
    "/v1/sandbox/clock:advance",
    summary="Move the sandbox clock forward",
    description="Sandbox tenants only. Moves the calling tenant's own clock (no other tenant's); its due work runs.",
    **answers(gw.AdvanceSandboxClockResponse),
)
async def advance_sandbox_clock(body: ClockAdvanceBody, who: Who, g: Gw) -> JSON:
    request = gw.AdvanceSandboxClockRequest(request_id=body.request_id)
    if body.advance_to is not None:
        request.advance_to.CopyFrom(convert.timestamp(body.advance_to))
    elif body.advance_by_seconds is not None or body.advance_by_days is not None:
        delta = timedelta(seconds=body.advance_by_seconds or 0, days=body.advance_by_days or 0)
        request.advance_by.FromTimedelta(delta)
    return js(await g.admin.advance_sandbox_clock(who, request))


@router.post(
    "/v1/tenants",
    summary="Create a tenant and its first admin key (root tenant admins)",
    **answers(ta.CreateTenantResponse),
)
async def create_tenant(body: TenantBody, who: Who, g: Gw) -> JSON:
    request = ta.CreateTenantRequest(
        request_id=body.request_id,
        tenant_id=body.tenant_id,
        display_name=body.display_name,
        mode=ta.TenantMode.Value(f"TENANT_MODE_{body.mode.upper()}"),
    )
    return js(await g.admin.create_tenant(who, request))


@router.get(
    "/v1/api-keys",
    summary="List the tenant's API keys",
    description="`filter` (AIP-160): `role` (admin, manager, operator, viewer, publishable) and `revoked` (true, "
    "false), with `=`, e.g. `role = viewer AND revoked = false`; without `revoked`, `show_revoked` decides. "
    "`order_by` (AIP-132): `create_time` (the default), `display_name`, `role`, each optionally `desc`.",
    **answers(ta.ListApiKeysResponse),
)
async def list_api_keys(
    who: Who,
    g: Gw,
    listing: Listing,
    show_revoked: bool = False,
) -> JSON:
    request = ta.ListApiKeysRequest(show_revoked=show_revoked, **listing.fields())
    return js(await g.admin.list_api_keys(who, request))


@router.post("/v1/api-keys", summary="Create an API key (its secret is shown once)", **answers(ta.CreateApiKeyResponse))
async def create_api_key(body: ApiKeyBody, who: Who, g: Gw) -> JSON:
    request = ta.CreateApiKeyRequest(
        request_id=body.request_id,
        display_name=body.display_name,
        role=ta.ApiKeyRole.Value(f"API_KEY_ROLE_{body.role.upper()}"),
        expire_time=convert.optional_timestamp(body.expire_time),
    )
    return js(await g.admin.create_api_key(who, request))


@router.post("/v1/api-keys/{api_key_id}:revoke", summary="Revoke an API key", **answers(ta.RevokeApiKeyResponse))
async def revoke_api_key(api_key_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = ta.RevokeApiKeyRequest(request_id=body.request_id, api_key_id=api_key_id)
    return js(await g.admin.revoke_api_key(who, request))


class CustomerTokenBody(Body):
    ttl_seconds: int | None = Field(
        default=None, ge=1, le=int(MAX_TTL.total_seconds()), description="Unset: one hour; at most 24 hours."
    )


@router.post(
    "/v1/customers/{customer_id}/tokens",
    summary="Issue a customer token for a device app",
    description="For the tenant's backend (operators and above). The device sends the token as the "
    "`X-Customer-Token` header (gRPC metadata `x-customer-token`) beside its publishable key, which then acts for "
    "this customer only. A JWT signed with the tenant's own secret; treat it as a credential.",
    **answers(ta.CreateCustomerTokenResponse),
)
async def create_customer_token(customer_id: str, body: CustomerTokenBody, who: Who, g: Gw) -> JSON:
    request = ta.CreateCustomerTokenRequest(customer_id=customer_id)
    if body.ttl_seconds is not None:
        request.ttl.FromTimedelta(timedelta(seconds=body.ttl_seconds))
    return js(await g.admin.create_customer_token(who, request))
