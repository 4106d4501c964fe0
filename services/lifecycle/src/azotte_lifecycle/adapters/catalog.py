"""The catalog service over gRPC, as `ports.Catalog`: a plan's interval, rank and trial, its price in a storefront,
renewal prices resolved many at once, a storefront's currency and features' kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_lifecycle.adapters.proto import channel_to_pb
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.errors import PlanNotBillable
from azotte_lifecycle.ports import PlanInfo, Price, RenewalPriceQuery
from azotte_platform.catalog_prices import price_holds
from azotte_platform.convert import from_timestamp, timestamp
from azotte_platform.enums import Channel
from azotte_platform.errors import NotFound
from azotte_platform.tenant_cache import TenantCache

MAX_QUERIES = 1000  # NOTE: the most ResolvePrices answers in one call


class GrpcCatalog:
    """Catalog over gRPC (`connect(settings.catalog_addr)`), in the tenant of the request context; a plan's terms,
    and a price for as long as it holds (`price_holds`), are kept for `plan_ttl_seconds` (`plans`, `prices`: dropped
    for a tenant when the catalog announces a change)."""

    def __init__(self, channel: grpc.aio.Channel, plan_ttl_seconds: float = 0.0):
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.plans: TenantCache[str, PlanInfo] = TenantCache(plan_ttl_seconds)
        self.prices: TenantCache[tuple[str, str, Channel], catalog_pb2.ResolvePriceResponse] = TenantCache(
            plan_ttl_seconds
        )

    async def plan(self, plan_id: str) -> PlanInfo:
        return await self.plans.get(plan_id, lambda: self._plan(plan_id))

    async def _plan(self, plan_id: str) -> PlanInfo:
        response = await self._stub.GetPlan(catalog_pb2.GetPlanRequest(id=plan_id))
        plan = response.plan
        unit_name = catalog_pb2.IntervalUnit.Name(plan.billing_interval.unit).removeprefix("INTERVAL_UNIT_")
        if unit_name not in IntervalUnit.__members__:
            raise PlanNotBillable(f"plan {plan_id} has no billing interval")
        interval = BillingInterval(IntervalUnit[unit_name], plan.billing_interval.count or 1)
        return PlanInfo(plan.id, interval, plan.rank, plan.trial_days, plan.family, plan.add_on)

    async def price(self, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        request = catalog_pb2.ResolvePriceRequest(
            plan_id=plan_id, storefront_id=storefront_id, channel=channel_to_pb(channel), at_time=timestamp(at)
        )
        answer = await self.prices.get(
            (plan_id, storefront_id, channel),
            lambda: self._stub.ResolvePrice(request),
            holds=lambda kept: price_holds(kept, at),
        )
        return _price(answer)

    async def renewal_prices(self, queries: Sequence[RenewalPriceQuery]) -> list[Price | None]:
        prices: list[Price | None] = []
        for start in range(0, len(queries), MAX_QUERIES):
            request = catalog_pb2.ResolvePricesRequest(
                queries=[
                    catalog_pb2.ResolvePriceRequest(
                        plan_id=q.plan_id,
                        storefront_id=q.storefront_id,
                        channel=channel_to_pb(q.channel),
                        at_time=timestamp(q.at),
                        subscription_start_time=timestamp(q.started_at),
                    )
                    for q in queries[start : start + MAX_QUERIES]
                ]
            )
            response = await self._stub.ResolvePrices(request)
            prices.extend(_price(r.price) if r.WhichOneof("result") == "price" else None for r in response.results)
        return prices

    async def storefront_currency(self, storefront_id: str) -> str:
        response = await self._stub.GetStorefront(catalog_pb2.GetStorefrontRequest(id=storefront_id))
        return str(response.storefront.currency_code)

    async def feature_kinds(self, feature_keys: Sequence[str]) -> dict[str, str]:
        async def kind(key: str) -> str | None:
            try:
                response = await self._stub.GetFeature(catalog_pb2.GetFeatureRequest(key=key))
            except NotFound:
                return None
            return catalog_pb2.FeatureKind.Name(response.feature.kind).removeprefix("FEATURE_KIND_").lower()

        kinds = await asyncio.gather(*(kind(key) for key in feature_keys))
        return {key: found for key, found in zip(feature_keys, kinds, strict=True) if found is not None}


def _price(response: catalog_pb2.ResolvePriceResponse) -> Price:
    tax = response.tax_policy
    rate = Decimal(tax.rate or "0")
    exclusive = tax.mode == catalog_pb2.TAX_MODE_EXCLUSIVE
    return Price(
        response.amount.amount_minor,
        response.amount.currency_code,
        rate if exclusive else Decimal(0),
        response.price_increase_notice_days,
        response.price_increase_consent_required,
        Decimal(0) if exclusive or tax.mode != catalog_pb2.TAX_MODE_INCLUSIVE else rate,
        from_timestamp(response.effective_time) if response.HasField("effective_time") else None,
    )
