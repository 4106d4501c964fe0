"""WalletsService over gRPC: proto -> command -> use case -> proto, through `service_kit.Units`."""

from __future__ import annotations

from typing import Any

from azotte.metering.v1 import wallets_pb2 as pb
from azotte.metering.v1 import wallets_pb2_grpc
from azotte_metering.adapters import billing_proto as proto
from azotte_metering.billing_ports import BillingUnitOfWork, Payments, QuotaResets
from azotte_metering.service_layer import closing, limits, prices, rating, wallets
from azotte_platform.context import require_tenant
from azotte_platform.convert import optional_from_timestamp
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units


class WalletsServicer(wallets_pb2_grpc.WalletsServiceServicer):
    """Translates WalletsService calls into usage-billing use cases."""

    def __init__(self, units: Units[BillingUnitOfWork], payments: Payments, resets: QuotaResets):
        self.units = units
        self._payments = payments
        self._resets = resets

    # ------------------------------------------------------------------ prices

    async def SetUsagePrice(self, request: pb.SetUsagePriceRequest, context: Any) -> pb.SetUsagePriceResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.SetUsagePriceResponse:
            price = await prices.set_usage_price(uow, tenant, proto.usage_price_from_pb(request.price))
            return pb.SetUsagePriceResponse(price=proto.usage_price_to_pb(price))

        return await self.units.mutate(request, pb.SetUsagePriceResponse, work)

    async def ListUsagePrices(self, request: pb.ListUsagePricesRequest, context: Any) -> pb.ListUsagePricesResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.ListUsagePricesResponse:
            found = await prices.list_usage_prices(uow, tenant, request.storefront_id, request.plan_id)
            return pb.ListUsagePricesResponse(prices=[proto.usage_price_to_pb(price) for price in found])

        return await self.units.read(work)

    async def DeleteUsagePrice(self, request: pb.DeleteUsagePriceRequest, context: Any) -> pb.DeleteUsagePriceResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.DeleteUsagePriceResponse:
            await prices.delete_usage_price(
                uow,
                tenant,
                request.storefront_id,
                request.plan_id,
                request.meter_key,
                proto.dimensions_from_pb(request.dimensions, "dimensions"),
            )
            return pb.DeleteUsagePriceResponse()

        return await self.units.mutate(request, pb.DeleteUsagePriceResponse, work)

    # ------------------------------------------------------------------ wallets

    async def GrantCredit(self, request: pb.GrantCreditRequest, context: Any) -> pb.GrantCreditResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.GrantCreditResponse:
            currency, amount = proto.credit_amount(request.amount, "amount")
            grant, wallet = await wallets.grant_credit(
                uow,
                tenant,
                request.customer_id,
                currency,
                amount,
                proto.grant_source_from_pb(request.source),
                priority=request.priority,
                expires_at=optional_from_timestamp(request, "expire_time"),
                storefront_id=request.storefront_id,
                reference=request.reference,
            )
            return pb.GrantCreditResponse(
                grant=proto.grant_to_pb(grant, currency), wallet=proto.wallet_to_pb(wallet, uow.clock.now())
            )

        return await self.units.mutate(request, pb.GrantCreditResponse, work)

    async def TopUpWallet(self, request: pb.TopUpWalletRequest, context: Any) -> pb.TopUpWalletResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.TopUpWalletResponse:
            currency, amount = proto.credit_amount(request.amount, "amount")
            grant, wallet, charge_id = await wallets.top_up(
                uow,
                self._payments,
                tenant,
                request.request_id,
                request.customer_id,
                currency,
                amount,
                payment_method_id=request.payment_method_id,
                storefront_id=request.storefront_id,
            )
            return pb.TopUpWalletResponse(
                grant=proto.grant_to_pb(grant, currency),
                wallet=proto.wallet_to_pb(wallet, uow.clock.now()),
                charge_id=charge_id,
            )

        return await self.units.mutate(request, pb.TopUpWalletResponse, work)

    async def SetAutoRecharge(self, request: pb.SetAutoRechargeRequest, context: Any) -> pb.SetAutoRechargeResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.SetAutoRechargeResponse:
            wallet = await wallets.set_auto_recharge(
                uow,
                tenant,
                request.customer_id,
                request.currency_code,
                proto.auto_recharge_from_pb(request),
                request.storefront_id,
            )
            return pb.SetAutoRechargeResponse(wallet=proto.wallet_to_pb(wallet, uow.clock.now()))

        return await self.units.mutate(request, pb.SetAutoRechargeResponse, work)

    async def GetWallet(self, request: pb.GetWalletRequest, context: Any) -> pb.GetWalletResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.GetWalletResponse:
            wallet = await wallets.get_wallet(uow, tenant, request.customer_id, request.currency_code)
            return pb.GetWalletResponse(wallet=proto.wallet_to_pb(wallet, uow.clock.now()))

        return await self.units.read(work)

    async def ListWallets(self, request: pb.ListWalletsRequest, context: Any) -> pb.ListWalletsResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.ListWalletsResponse:
            if not request.customer_id:
                raise InvalidArgument.field("customer_id", "is required")
            found = (await uow.wallets.of_customers(tenant, [request.customer_id])).get(request.customer_id, [])
            now = uow.clock.now()
            return pb.ListWalletsResponse(wallets=[proto.wallet_to_pb(wallet, now) for wallet in found])

        return await self.units.read(work)

    async def ListWalletMovements(
        self, request: pb.ListWalletMovementsRequest, context: Any
    ) -> pb.ListWalletMovementsResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.ListWalletMovementsResponse:
            page_request = PageRequest.of(request, "wallet_movements", request.customer_id, request.currency_code)
            page = await wallets.list_movements(uow, tenant, request.customer_id, request.currency_code, page_request)
            return pb.ListWalletMovementsResponse(
                movements=[proto.movement_to_pb(entry) for entry in page.items],
                next_page_token=page.next_page_token,
            )

        return await self.units.read(work)

    # ------------------------------------------------------------------ limits

    async def SetLimit(self, request: pb.SetLimitRequest, context: Any) -> pb.SetLimitResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.SetLimitResponse:
            limit, state = await limits.set_limit(uow, tenant, proto.limit_from_pb(request.limit))
            return pb.SetLimitResponse(limit=proto.limit_to_pb(limit, state))

        return await self.units.mutate(request, pb.SetLimitResponse, work)

    async def GetLimit(self, request: pb.GetLimitRequest, context: Any) -> pb.GetLimitResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.GetLimitResponse:
            limit, state = await limits.get_limit(uow, tenant, request.limit_id)
            return pb.GetLimitResponse(limit=proto.limit_to_pb(limit, state))

        return await self.units.read(work)

    async def ListLimits(self, request: pb.ListLimitsRequest, context: Any) -> pb.ListLimitsResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.ListLimitsResponse:
            found = await limits.list_limits(uow, tenant, request.customer_id)
            return pb.ListLimitsResponse(limits=[proto.limit_to_pb(limit, state) for limit, state in found])

        return await self.units.read(work)

    async def DeleteLimit(self, request: pb.DeleteLimitRequest, context: Any) -> pb.DeleteLimitResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.DeleteLimitResponse:
            limit = await limits.delete_limit(uow, tenant, request.limit_id)
            return pb.DeleteLimitResponse(limit=proto.limit_to_pb(limit))

        return await self.units.mutate(request, pb.DeleteLimitResponse, work)

    # ------------------------------------------------------------------ charges

    async def PreviewUsageCharges(
        self, request: pb.PreviewUsageChargesRequest, context: Any
    ) -> pb.PreviewUsageChargesResponse:
        async def work(uow: BillingUnitOfWork, tenant: str) -> pb.PreviewUsageChargesResponse:
            return proto.charges_to_pb(await rating.preview_charges(uow, tenant, request.customer_id))

        return await self.units.read(work)

    async def CloseUsagePeriods(
        self, request: pb.CloseUsagePeriodsRequest, context: Any
    ) -> pb.CloseUsagePeriodsResponse:
        # NOTE: idempotent by its own key (subscription, period): a repeat answers the bill frozen first.
        periods = proto.periods_to_close_from_pb(request)
        tenant = require_tenant()
        async with self.units.factory() as uow:
            bills = await closing.close_usage_periods(uow, self._resets, tenant, periods)
            await uow.commit()
        return pb.CloseUsagePeriodsResponse(bills=[proto.bill_to_pb(bill) for bill in bills])
