"""REST endpoints: each builds the request message, calls the shared operation and answers its JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1.money_pb2 import Money
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.entrypoints.rest import models
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.operations import Operations
from azotte_platform.context import REQUEST_ID_HEADER

_bearer = HTTPBearer(auto_error=False, description="An API key `azk_<mode>_<prefix>_<secret>`.")
JSON = dict[str, Any]
FORMATS = {"yaml": cat.DOCUMENT_FORMAT_YAML, "json": cat.DOCUMENT_FORMAT_JSON}
MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}


def operations(request: Request) -> Operations:
    """The gateway's operations, built by the composition root."""
    ops: Operations = request.app.state.operations
    return ops


async def caller(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The authenticated caller of this request (rate limited per key)."""
    return await operations(request).authenticator.authenticate(
        request.headers.get("authorization"), request.headers.get(REQUEST_ID_HEADER, "")
    )


Ops = Annotated[Operations, Depends(operations)]
Who = Annotated[Caller, Depends(caller)]
PageSize = Annotated[int, Query(ge=0, le=500)]


def js(message: Message) -> JSON:
    """A message in its JSON form, snake_case names, default values included."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _timestamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


router = APIRouter()
access = APIRouter(tags=["access"])
subscriptions = APIRouter(tags=["subscriptions"])
catalog = APIRouter(tags=["catalog"])
payments = APIRouter(tags=["payments"])
admin = APIRouter(tags=["administration"])


# --- access and checkout --------------------------------------------------------------------------


@access.get("/v1/customers/{customer_id}/access/{feature_key}", summary="Check access to a feature")
async def check_access(customer_id: str, feature_key: str, who: Who, ops: Ops, quantity: int = 0) -> JSON:
    request = gw.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key, quantity=quantity)
    return js(await ops.check_access(who, request))


@access.get("/v1/customers/{customer_id}/entitlements", summary="List a customer's entitlements")
async def list_entitlements(
    customer_id: str, who: Who, ops: Ops, page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListEntitlementsRequest(customer_id=customer_id, page_size=page_size, page_token=page_token)
    return js(await ops.list_entitlements(who, request))


@access.post("/v1/customers", summary="Register a customer")
async def create_customer(body: models.CustomerBody, who: Who, ops: Ops) -> JSON:
    request = gw.CreateCustomerRequest(**body.model_dump())
    return js(await ops.create_customer(who, request))


@access.get("/v1/customers/{customer_id}", summary="Get a customer")
async def get_customer(customer_id: str, who: Who, ops: Ops) -> JSON:
    return js(await ops.get_customer(who, gw.GetCustomerRequest(customer_id=customer_id)))


@access.post("/v1/customers/{customer_id}/payment-methods", summary="Add a default payment method")
async def create_payment_method(customer_id: str, body: models.PaymentMethodBody, who: Who, ops: Ops) -> JSON:
    request = gw.CreatePaymentMethodRequest(
        request_id=body.request_id, customer_id=customer_id, payment_method_token=body.payment_method_token
    )
    return js(await ops.create_payment_method(who, request))


@access.post(
    "/v1/checkout",
    summary="Price, tax, charge and subscribe in one idempotent call",
    description="A declined card answers HTTP 402 with the normalized decline reason in the error details.",
)
async def checkout(body: models.CheckoutBody, who: Who, ops: Ops) -> JSON:
    request = gw.CheckoutRequest(
        request_id=body.request_id,
        customer_id=body.customer_id,
        storefront_id=body.storefront_id,
        plan_id=body.plan_id,
        channel=models.CHANNELS[body.channel],  # type: ignore[arg-type]
        payment_method_token=body.payment_method_token,
    )
    if body.promotion_code is not None:
        request.promotion_code = body.promotion_code
    return js(await ops.checkout(who, request))


# --- subscriptions --------------------------------------------------------------------------------


@subscriptions.get("/v1/subscriptions/{subscription_id}", summary="Get a subscription")
async def get_subscription(subscription_id: str, who: Who, ops: Ops) -> JSON:
    return js(await ops.get_subscription(who, gw.GetSubscriptionRequest(subscription_id=subscription_id)))


@subscriptions.get("/v1/customers/{customer_id}/subscriptions", summary="List a customer's subscriptions")
async def list_subscriptions(
    customer_id: str, who: Who, ops: Ops, page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListSubscriptionsRequest(customer_id=customer_id, page_size=page_size, page_token=page_token)
    return js(await ops.list_subscriptions(who, request))


@subscriptions.post("/v1/subscriptions/{subscription_id}:cancel", summary="Cancel at period end or now")
async def cancel_subscription(subscription_id: str, body: models.CancelBody, who: Who, ops: Ops) -> JSON:
    timing = {
        "at_period_end": gw.CANCELLATION_TIMING_AT_PERIOD_END,
        "immediately": gw.CANCELLATION_TIMING_IMMEDIATELY,
    }[body.timing]
    request = gw.CancelSubscriptionRequest(
        request_id=body.request_id,
        subscription_id=subscription_id,
        timing=timing,
        reason=body.reason,
        refund=body.refund,
    )
    return js(await ops.cancel_subscription(who, request))


@subscriptions.post("/v1/subscriptions/{subscription_id}:reactivate", summary="Undo a cancellation at period end")
async def reactivate_subscription(subscription_id: str, body: models.MutatingBody, who: Who, ops: Ops) -> JSON:
    request = gw.ReactivateSubscriptionRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await ops.reactivate_subscription(who, request))


@subscriptions.post("/v1/subscriptions/{subscription_id}:pause", summary="Pause billing and access")
async def pause_subscription(subscription_id: str, body: models.PauseBody, who: Who, ops: Ops) -> JSON:
    request = gw.PauseSubscriptionRequest(request_id=body.request_id, subscription_id=subscription_id)
    if body.resume_time is not None:
        request.resume_time.CopyFrom(_timestamp(body.resume_time))
    return js(await ops.pause_subscription(who, request))


@subscriptions.post("/v1/subscriptions/{subscription_id}:resume", summary="Resume a paused subscription")
async def resume_subscription(subscription_id: str, body: models.MutatingBody, who: Who, ops: Ops) -> JSON:
    request = gw.ResumeSubscriptionRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await ops.resume_subscription(who, request))


def _plan_change_timing(timing: str | None) -> gw.PlanChangeTiming.ValueType:
    return {
        None: gw.PLAN_CHANGE_TIMING_UNSPECIFIED,
        "immediately": gw.PLAN_CHANGE_TIMING_IMMEDIATELY,
        "at_period_end": gw.PLAN_CHANGE_TIMING_AT_PERIOD_END,
    }[timing]


@subscriptions.post("/v1/subscriptions/{subscription_id}:preview-change", summary="What a plan change would cost")
async def preview_plan_change(subscription_id: str, body: models.PlanChangeBody, who: Who, ops: Ops) -> JSON:
    request = gw.PreviewPlanChangeRequest(
        subscription_id=subscription_id, new_plan_id=body.new_plan_id, timing=_plan_change_timing(body.timing)
    )
    return js(await ops.preview_plan_change(who, request))


@subscriptions.post("/v1/subscriptions/{subscription_id}:change-plan", summary="Upgrade or downgrade")
async def change_subscription_plan(subscription_id: str, body: models.PlanChangeBody, who: Who, ops: Ops) -> JSON:
    request = gw.ChangeSubscriptionPlanRequest(
        request_id=body.request_id,
        subscription_id=subscription_id,
        new_plan_id=body.new_plan_id,
        timing=_plan_change_timing(body.timing),
    )
    return js(await ops.change_subscription_plan(who, request))


# --- payments -------------------------------------------------------------------------------------


@payments.get("/v1/customers/{customer_id}/charges", summary="List a customer's charges, newest first")
async def list_charges(
    customer_id: str, who: Who, ops: Ops, subscription_id: str = "", page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListChargesRequest(
        customer_id=customer_id, subscription_id=subscription_id, page_size=page_size, page_token=page_token
    )
    return js(await ops.list_charges(who, request))


@payments.post("/v1/charges/{charge_id}:refund", summary="Refund a charge fully or partly")
async def refund_charge(charge_id: str, body: models.RefundBody, who: Who, ops: Ops) -> JSON:
    request = gw.RefundChargeRequest(request_id=body.request_id, charge_id=charge_id, reason=body.reason)
    if body.amount is not None:
        request.amount.CopyFrom(Money(currency_code=body.amount.currency_code, amount_minor=body.amount.amount_minor))
    return js(await ops.refund_charge(who, request))


# --- catalog --------------------------------------------------------------------------------------


@catalog.put(
    "/v1/catalog",
    summary="Apply a catalog document",
    description="The body is the whole document (YAML, or JSON with `Content-Type: application/json`). "
    "`dry_run=true` only computes the changes.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {}}},
        }
    },
)
async def apply_catalog(request: Request, who: Who, ops: Ops, dry_run: bool = False) -> JSON:
    document = (await request.body()).decode("utf-8", errors="replace")
    is_json = request.headers.get("content-type", "").startswith("application/json")
    message = gw.ApplyCatalogRequest(
        request_id=request.headers.get(REQUEST_ID_HEADER, ""),
        document=document,
        format=cat.DOCUMENT_FORMAT_JSON if is_json else cat.DOCUMENT_FORMAT_YAML,
        validate_only=dry_run,
    )
    return js(await ops.apply_catalog(who, message))


@catalog.get("/v1/catalog", summary="Export the catalog as a document", response_class=PlainTextResponse)
async def export_catalog(who: Who, ops: Ops, format: Literal["yaml", "json"] = "yaml") -> PlainTextResponse:
    answer = await ops.export_catalog(who, gw.ExportCatalogRequest(format=FORMATS[format]))
    return PlainTextResponse(answer.document, media_type=MEDIA_TYPES[format])


@catalog.get("/v1/storefronts", summary="List storefronts")
async def list_storefronts(who: Who, ops: Ops, page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gw.ListStorefrontsRequest(page_size=page_size, page_token=page_token)
    return js(await ops.list_storefronts(who, request))


@catalog.get("/v1/storefronts/{storefront_id}", summary="Get a storefront")
async def get_storefront(storefront_id: str, who: Who, ops: Ops) -> JSON:
    return js(await ops.get_storefront(who, gw.GetStorefrontRequest(storefront_id=storefront_id)))


@catalog.get("/v1/plans", summary="List plans")
async def list_plans(who: Who, ops: Ops, family: str = "", page_size: PageSize = 0, page_token: str = "") -> JSON:
    request = gw.ListPlansRequest(page_size=page_size, page_token=page_token, family=family)
    return js(await ops.list_plans(who, request))


@catalog.get("/v1/plans/{plan_id}", summary="Get a plan")
async def get_plan(plan_id: str, who: Who, ops: Ops) -> JSON:
    return js(await ops.get_plan(who, gw.GetPlanRequest(plan_id=plan_id)))


@catalog.get("/v1/prices", summary="List price versions")
async def list_prices(
    who: Who, ops: Ops, plan_id: str = "", storefront_id: str = "", page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = gw.ListPricesRequest(
        plan_id=plan_id, storefront_id=storefront_id, page_size=page_size, page_token=page_token
    )
    return js(await ops.list_prices(who, request))


# --- administration -------------------------------------------------------------------------------


@admin.post(
    "/v1/sandbox/clock:advance",
    summary="Move the sandbox clock forward",
    description="Sandbox tenants only. The clock is shared by the whole suite; the due work runs.",
)
async def advance_sandbox_clock(body: models.ClockAdvanceBody, who: Who, ops: Ops) -> JSON:
    request = gw.AdvanceSandboxClockRequest(request_id=body.request_id)
    if body.advance_to is not None:
        request.advance_to.CopyFrom(_timestamp(body.advance_to))
    elif body.advance_by_seconds is not None or body.advance_by_days is not None:
        delta = timedelta(seconds=body.advance_by_seconds or 0, days=body.advance_by_days or 0)
        request.advance_by.FromTimedelta(delta)
    return js(await ops.advance_sandbox_clock(who, request))


@admin.post("/v1/tenants", summary="Create a tenant and its first admin key (root tenant admins)")
async def create_tenant(body: models.TenantBody, who: Who, ops: Ops) -> JSON:
    mode = ta.TENANT_MODE_SANDBOX if body.mode == "sandbox" else ta.TENANT_MODE_LIVE
    request = ta.CreateTenantRequest(
        request_id=body.request_id, tenant_id=body.tenant_id, display_name=body.display_name, mode=mode
    )
    return js(await ops.create_tenant(who, request))


@admin.get("/v1/api-keys", summary="List the tenant's API keys")
async def list_api_keys(
    who: Who, ops: Ops, show_revoked: bool = False, page_size: PageSize = 0, page_token: str = ""
) -> JSON:
    request = ta.ListApiKeysRequest(page_size=page_size, page_token=page_token, show_revoked=show_revoked)
    return js(await ops.list_api_keys(who, request))


@admin.post("/v1/api-keys", summary="Create an API key (its secret is shown once)")
async def create_api_key(body: models.ApiKeyBody, who: Who, ops: Ops) -> JSON:
    request = ta.CreateApiKeyRequest(
        request_id=body.request_id,
        display_name=body.display_name,
        role=ta.ApiKeyRole.Value(f"API_KEY_ROLE_{body.role.upper()}"),
    )
    if body.expire_time is not None:
        request.expire_time.CopyFrom(_timestamp(body.expire_time))
    return js(await ops.create_api_key(who, request))


@admin.post("/v1/api-keys/{api_key_id}:revoke", summary="Revoke an API key")
async def revoke_api_key(api_key_id: str, body: models.MutatingBody, who: Who, ops: Ops) -> JSON:
    request = ta.RevokeApiKeyRequest(request_id=body.request_id, api_key_id=api_key_id)
    return js(await ops.revoke_api_key(who, request))


for part in (access, subscriptions, payments, catalog, admin):
    router.include_router(part)
