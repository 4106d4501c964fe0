"""gRPC servicers of the public API: authenticate, then hand the request to the shared operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from azotte.gateway.v1 import gateway_pb2_grpc, tenant_admin_pb2_grpc
from azotte_gateway.service_layer.auth import RETRY_AFTER_KEY, Caller
from azotte_gateway.service_layer.operations import Operations
from azotte_platform import context
from azotte_platform.errors import ResourceExhausted
from azotte_platform.grpc.status import DETAILS_KEY, to_rich_status

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


async def _abort_rate_limited(error: ResourceExhausted, servicer_context: grpc.aio.ServicerContext[Any, Any]) -> None:
    """RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail next to the ErrorInfo."""
    code, message, trailers = to_rich_status(error)
    status = status_pb2.Status.FromString(trailers[0][1])
    retry = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=int(error.metadata.get(RETRY_AFTER_KEY, "1")))
    )
    packed = any_pb2.Any()
    packed.Pack(retry)
    status.details.append(packed)
    await servicer_context.abort(code, message, ((DETAILS_KEY, status.SerializeToString()),))


async def _call(
    operations: Operations,
    operation: Callable[[Caller, Req], Awaitable[Resp]],
    request: Req,
    servicer_context: grpc.aio.ServicerContext[Any, Any],
) -> Resp:
    authorization = next((v for k, v in servicer_context.invocation_metadata() or () if k == "authorization"), None)
    try:
        # NOTE: the platform interceptor already bound the call's request id to the context.
        caller = await operations.authenticator.authenticate(
            str(authorization) if authorization else None, context.current().request_id
        )
    except ResourceExhausted as error:
        await _abort_rate_limited(error, servicer_context)
        raise
    return await operation(caller, request)


def _method(name: str) -> Callable[..., Awaitable[Any]]:
    async def handler(self: _Base, request: Any, servicer_context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await _call(self.operations, getattr(self.operations, name), request, servicer_context)

    handler.__name__ = name
    return handler


class _Base:
    def __init__(self, operations: Operations):
        self.operations = operations


class GatewayServicer(_Base, gateway_pb2_grpc.GatewayServiceServicer):
    """GatewayService: every RPC maps to the operation of the same name."""

    CheckAccess = _method("check_access")
    BatchCheckAccess = _method("batch_check_access")
    ListEntitlements = _method("list_entitlements")
    Checkout = _method("checkout")
    GetSubscription = _method("get_subscription")
    ListSubscriptions = _method("list_subscriptions")
    CancelSubscription = _method("cancel_subscription")
    ReactivateSubscription = _method("reactivate_subscription")
    PauseSubscription = _method("pause_subscription")
    ResumeSubscription = _method("resume_subscription")
    PreviewPlanChange = _method("preview_plan_change")
    ChangeSubscriptionPlan = _method("change_subscription_plan")
    ListCharges = _method("list_charges")
    RefundCharge = _method("refund_charge")
    AdvanceSandboxClock = _method("advance_sandbox_clock")
    CreateCustomer = _method("create_customer")
    GetCustomer = _method("get_customer")
    CreatePaymentMethod = _method("create_payment_method")
    ApplyCatalog = _method("apply_catalog")
    ExportCatalog = _method("export_catalog")
    GetStorefront = _method("get_storefront")
    ListStorefronts = _method("list_storefronts")
    GetPlan = _method("get_plan")
    ListPlans = _method("list_plans")
    ListPrices = _method("list_prices")


class TenantAdminServicer(_Base, tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    """TenantAdminService: tenants and API keys."""

    CreateTenant = _method("create_tenant")
    CreateApiKey = _method("create_api_key")
    ListApiKeys = _method("list_api_keys")
    RevokeApiKey = _method("revoke_api_key")
