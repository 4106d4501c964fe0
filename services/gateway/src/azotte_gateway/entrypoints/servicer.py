"""gRPC servicers of the public API: authenticate, enter the caller's tenant, call the area method of the RPC."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from azotte.gateway.v1 import gateway_pb2_grpc, tenant_admin_pb2_grpc
from azotte_gateway.errors import RateLimited
from azotte_gateway.service_layer.auth import RETRY_AFTER_KEY, Caller, single_authorization
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.grpc.status import DETAILS_KEY, to_rich_status

Context = grpc.aio.ServicerContext[Any, Any]
Operation = Callable[[Caller, Any], Awaitable[Any]]


async def _abort_rate_limited(error: RateLimited, servicer_context: Context) -> None:
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


def _rpc(select: Callable[[Gateway], Operation]) -> Callable[..., Awaitable[Any]]:
    """The servicer method of an RPC served by the area method `select` picks."""

    async def handler(self: _Servicer, request: Any, servicer_context: Context) -> Any:
        return await self.serve(select(self.gateway), request, servicer_context)

    return handler


class _Servicer:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    async def serve(self, operation: Operation, request: Any, servicer_context: Context) -> Any:
        """Authenticate the call's key, then run `operation` as the caller's tenant."""
        metadata = servicer_context.invocation_metadata() or ()
        try:
            authorization = single_authorization([str(v) for k, v in metadata if k == "authorization"])
            caller = await self.gateway.authenticator.authenticate(authorization)
        except RateLimited as error:
            await _abort_rate_limited(error, servicer_context)
            raise
        with caller.scope():
            return await operation(caller, request)


class GatewayServicer(_Servicer, gateway_pb2_grpc.GatewayServiceServicer):
    """GatewayService: each RPC is served by the area method of the same name."""

    CheckAccess = _rpc(lambda g: g.access.check_access)
    BatchCheckAccess = _rpc(lambda g: g.access.batch_check_access)
    ListEntitlements = _rpc(lambda g: g.access.list_entitlements)
    CreateCustomer = _rpc(lambda g: g.checkout.create_customer)
    GetCustomer = _rpc(lambda g: g.checkout.get_customer)
    Checkout = _rpc(lambda g: g.checkout.checkout)
    GetSubscription = _rpc(lambda g: g.subscriptions.get_subscription)
    ListSubscriptions = _rpc(lambda g: g.subscriptions.list_subscriptions)
    CancelSubscription = _rpc(lambda g: g.subscriptions.cancel_subscription)
    ReactivateSubscription = _rpc(lambda g: g.subscriptions.reactivate_subscription)
    PauseSubscription = _rpc(lambda g: g.subscriptions.pause_subscription)
    ResumeSubscription = _rpc(lambda g: g.subscriptions.resume_subscription)
    PreviewPlanChange = _rpc(lambda g: g.subscriptions.preview_plan_change)
    ChangeSubscriptionPlan = _rpc(lambda g: g.subscriptions.change_subscription_plan)
    CreatePaymentMethod = _rpc(lambda g: g.billing.create_payment_method)
    ListCharges = _rpc(lambda g: g.billing.list_charges)
    RefundCharge = _rpc(lambda g: g.billing.refund_charge)
    ApplyCatalog = _rpc(lambda g: g.catalog.apply_catalog)
    ExportCatalog = _rpc(lambda g: g.catalog.export_catalog)
    GetStorefront = _rpc(lambda g: g.catalog.get_storefront)
    ListStorefronts = _rpc(lambda g: g.catalog.list_storefronts)
    GetPlan = _rpc(lambda g: g.catalog.get_plan)
    ListPlans = _rpc(lambda g: g.catalog.list_plans)
    ListPrices = _rpc(lambda g: g.catalog.list_prices)
    AdvanceSandboxClock = _rpc(lambda g: g.admin.advance_sandbox_clock)


class TenantAdminServicer(_Servicer, tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    """TenantAdminService: tenants and API keys."""

    CreateTenant = _rpc(lambda g: g.admin.create_tenant)
    CreateApiKey = _rpc(lambda g: g.admin.create_api_key)
    ListApiKeys = _rpc(lambda g: g.admin.list_api_keys)
    RevokeApiKey = _rpc(lambda g: g.admin.revoke_api_key)
