"""The catalog's storefronts, plans and prices as a checkout reads them, kept per tenant: any catalog event of the
tenant drops them (`follow_changes`), a NATS reconnection drops all, and each lasts `ttl_seconds` at most; a price
only until the next version the catalog scheduled takes effect (`price_holds`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte_gateway.ports import Peers
from azotte_platform import convert
from azotte_platform.catalog_prices import price_holds
from azotte_platform.context import require_tenant
from azotte_platform.tenant_cache import TenantCache

M = TypeVar("M", bound=Message)


class CatalogReads:
    """GetStorefront, GetPlan and ResolvePrice answers of the caller's tenant; each caller gets its own copy."""

    def __init__(self, peers: Peers, ttl_seconds: float):
        self._peers = peers
        self.storefronts: TenantCache[str, cat.GetStorefrontResponse] = TenantCache(ttl_seconds)
        self.plans: TenantCache[tuple[str, tuple[str, ...], str], cat.GetPlanResponse] = TenantCache(ttl_seconds)
        self.prices: TenantCache[tuple[str, str, int], cat.ResolvePriceResponse] = TenantCache(ttl_seconds)

    @property
    def caches(self) -> tuple[TenantCache[Any, Any], ...]:
        """Every cache, for `follow_changes`."""
        return self.storefronts, self.plans, self.prices

    async def storefront(self, storefront_id: str) -> cat.GetStorefrontResponse:
        catalog = self._peers.catalog
        kept = await self.storefronts.get(
            storefront_id, lambda: catalog.GetStorefront(cat.GetStorefrontRequest(id=storefront_id))
        )
        return _copy(kept)

    async def plan(self, plan_id: str, preference: cat.TextPreference) -> cat.GetPlanResponse:
        """The plan with its texts in the `preference`d language."""
        catalog = self._peers.catalog
        key = (plan_id, tuple(preference.locales), preference.storefront_id)
        kept = await self.plans.get(key, lambda: catalog.GetPlan(cat.GetPlanRequest(id=plan_id, language=preference)))
        return _copy(kept)

    async def price(self, request: cat.ResolvePriceRequest) -> cat.ResolvePriceResponse:
        """The price of a plan in a storefront on a channel at `request.at_time` (a new sale)."""
        catalog = self._peers.catalog
        at = convert.from_timestamp(request.at_time)
        kept = await self.prices.get(
            (request.plan_id, request.storefront_id, request.channel),
            lambda: catalog.ResolvePrice(request),
            holds=lambda answer: price_holds(answer, at),
        )
        return _copy(kept)

    def forget(self) -> None:
        """Drop what is kept of the caller's tenant (its catalog was just changed through this replica)."""
        tenant_id = require_tenant()
        for cache in self.caches:
            cache.invalidate(tenant_id)


def _copy(message: M) -> M:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy
