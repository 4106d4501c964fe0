"""Usage billing: usage prices, wallets of prepaid credit, limits and the upcoming usage charges (metering does
the work).

NOTE: prices, wallets, grants, movements, limits and charge lines are answered as metering sends them (the
re-export policy in the README): the tenant declares prices and limits, and the others hold nothing internal.
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import usage_billing_pb2 as ub
from azotte.metering.v1 import wallets_pb2 as wa
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import InvalidArgument


@dataclass(frozen=True)
class UsageBilling:
    """UsageBillingService."""

    peers: Peers
    customers: KnownCustomers

    # ------------------------------------------------------------------ prices

    async def set_usage_price(self, caller: Caller, request: ub.SetUsagePriceRequest) -> ub.SetUsagePriceResponse:
        authorize(caller.principal, Permission.MANAGE_USAGE_BILLING)
        require_mutation(request, "price")
        answer = await self.peers.wallets.SetUsagePrice(
            wa.SetUsagePriceRequest(request_id=request.request_id, price=request.price)
        )
        return ub.SetUsagePriceResponse(price=answer.price)

    async def list_usage_prices(self, caller: Caller, request: ub.ListUsagePricesRequest) -> ub.ListUsagePricesResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "storefront_id", "plan_id")
        answer = await self.peers.wallets.ListUsagePrices(
            wa.ListUsagePricesRequest(storefront_id=request.storefront_id, plan_id=request.plan_id)
        )
        return ub.ListUsagePricesResponse(prices=answer.prices)

    async def delete_usage_price(
        self, caller: Caller, request: ub.DeleteUsagePriceRequest
    ) -> ub.DeleteUsagePriceResponse:
        authorize(caller.principal, Permission.MANAGE_USAGE_BILLING)
        require_mutation(request, "storefront_id", "plan_id", "meter_key")
        await self.peers.wallets.DeleteUsagePrice(
            wa.DeleteUsagePriceRequest(
                request_id=request.request_id,
                storefront_id=request.storefront_id,
                plan_id=request.plan_id,
                meter_key=request.meter_key,
                dimensions=request.dimensions,
            )
        )
        return ub.DeleteUsagePriceResponse(
            storefront_id=request.storefront_id,
            plan_id=request.plan_id,
            meter_key=request.meter_key,
            dimensions=request.dimensions,
        )

    # ------------------------------------------------------------------ wallets

    async def grant_usage_credit(
        self, caller: Caller, request: ub.GrantUsageCreditRequest
    ) -> ub.GrantUsageCreditResponse:
        authorize(caller.principal, Permission.GRANT_USAGE_CREDIT)
        require_mutation(request, "customer_id", "amount")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        grant = wa.GrantCreditRequest(
            request_id=request.request_id,
            customer_id=request.customer_id,
            amount=request.amount,
            source=request.source,
            priority=request.priority,
            storefront_id=request.storefront_id,
            reference=request.reference,
        )
        if request.HasField("expire_time"):
            grant.expire_time.CopyFrom(request.expire_time)
        answer = await self.peers.wallets.GrantCredit(grant)
        return ub.GrantUsageCreditResponse(grant=answer.grant, wallet=answer.wallet)

    async def top_up_wallet(self, caller: Caller, request: ub.TopUpWalletRequest) -> ub.TopUpWalletResponse:
        authorize(caller.principal, Permission.GRANT_USAGE_CREDIT)
        require_mutation(request, "customer_id", "amount")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.TopUpWallet(
            wa.TopUpWalletRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                amount=request.amount,
                payment_method_id=request.payment_method_id,
                storefront_id=request.storefront_id,
            )
        )
        return ub.TopUpWalletResponse(grant=answer.grant, wallet=answer.wallet, charge_id=answer.charge_id)

    async def set_auto_recharge(self, caller: Caller, request: ub.SetAutoRechargeRequest) -> ub.SetAutoRechargeResponse:
        authorize(caller.principal, Permission.GRANT_USAGE_CREDIT)
        require_mutation(request, "customer_id", "currency_code")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        recharge = wa.SetAutoRechargeRequest(
            request_id=request.request_id,
            customer_id=request.customer_id,
            currency_code=request.currency_code,
            storefront_id=request.storefront_id,
        )
        if request.HasField("auto_recharge"):
            recharge.auto_recharge.CopyFrom(request.auto_recharge)
        answer = await self.peers.wallets.SetAutoRecharge(recharge)
        return ub.SetAutoRechargeResponse(wallet=answer.wallet)

    async def get_wallet(self, caller: Caller, request: ub.GetWalletRequest) -> ub.GetWalletResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "customer_id", "currency_code")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.GetWallet(
            wa.GetWalletRequest(customer_id=request.customer_id, currency_code=request.currency_code)
        )
        return ub.GetWalletResponse(wallet=answer.wallet)

    async def list_wallets(self, caller: Caller, request: ub.ListWalletsRequest) -> ub.ListWalletsResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.ListWallets(wa.ListWalletsRequest(customer_id=request.customer_id))
        return ub.ListWalletsResponse(wallets=answer.wallets)

    async def list_wallet_movements(
        self, caller: Caller, request: ub.ListWalletMovementsRequest
    ) -> ub.ListWalletMovementsResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "customer_id", "currency_code")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.ListWalletMovements(
            wa.ListWalletMovementsRequest(
                customer_id=request.customer_id,
                currency_code=request.currency_code,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        )
        return ub.ListWalletMovementsResponse(movements=answer.movements, next_page_token=answer.next_page_token)

    # ------------------------------------------------------------------ limits

    async def set_usage_limit(self, caller: Caller, request: ub.SetUsageLimitRequest) -> ub.SetUsageLimitResponse:
        authorize(caller.principal, Permission.MANAGE_USAGE_BILLING)
        require_mutation(request, "limit")
        if not request.limit.customer_id:
            raise InvalidArgument.field("limit.customer_id", "is required")
        await self.customers.require(caller.principal.tenant_id, request.limit.customer_id)
        answer = await self.peers.wallets.SetLimit(
            wa.SetLimitRequest(request_id=request.request_id, limit=request.limit)
        )
        return ub.SetUsageLimitResponse(limit=answer.limit)

    async def list_usage_limits(self, caller: Caller, request: ub.ListUsageLimitsRequest) -> ub.ListUsageLimitsResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.ListLimits(wa.ListLimitsRequest(customer_id=request.customer_id))
        return ub.ListUsageLimitsResponse(limits=answer.limits)

    async def get_usage_limit(self, caller: Caller, request: ub.GetUsageLimitRequest) -> ub.GetUsageLimitResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "limit_id")
        answer = await self.peers.wallets.GetLimit(wa.GetLimitRequest(limit_id=request.limit_id))
        return ub.GetUsageLimitResponse(limit=answer.limit)

    async def delete_usage_limit(
        self, caller: Caller, request: ub.DeleteUsageLimitRequest
    ) -> ub.DeleteUsageLimitResponse:
        authorize(caller.principal, Permission.MANAGE_USAGE_BILLING)
        require_mutation(request, "limit_id")
        answer = await self.peers.wallets.DeleteLimit(
            wa.DeleteLimitRequest(request_id=request.request_id, limit_id=request.limit_id)
        )
        return ub.DeleteUsageLimitResponse(limit=answer.limit)

    # ------------------------------------------------------------------ charges

    async def preview_usage_charges(
        self, caller: Caller, request: ub.PreviewUsageChargesRequest
    ) -> ub.PreviewUsageChargesResponse:
        authorize(caller.principal, Permission.READ_USAGE_BILLING)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.wallets.PreviewUsageCharges(
            wa.PreviewUsageChargesRequest(customer_id=request.customer_id)
        )
        return ub.PreviewUsageChargesResponse(
            customer_id=answer.customer_id,
            period_start_time=answer.period_start_time,
            period_end_time=answer.period_end_time,
            lines=answer.lines,
            adjustments=answer.adjustments,
            subtotal=answer.subtotal,
            credited=answer.credited,
            due=answer.due,
        )
