"""How often the catalog's quota features reset, over the catalog's gRPC API, cached in-process (`QuotaResets`)."""

from __future__ import annotations

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_metering.domain.quotas import QuotaReset
from azotte_platform.errors import NotFound
from azotte_platform.tenant_cache import TenantCache

_RESETS = {
    catalog_pb2.RESET_PERIOD_DAY: QuotaReset.DAY,
    catalog_pb2.RESET_PERIOD_WEEK: QuotaReset.WEEK,
    catalog_pb2.RESET_PERIOD_MONTH: QuotaReset.MONTH,
    catalog_pb2.RESET_PERIOD_YEAR: QuotaReset.YEAR,
    catalog_pb2.RESET_PERIOD_NEVER: QuotaReset.NEVER,
}


class CatalogQuotaResets:
    """`billing_ports.QuotaResets`: each feature's reset period, kept for `ttl_seconds`.

    NOTE: kept per tenant (the platform client forwards the request context's tenant) and dropped for a tenant
    whenever the catalog announces a change (`tenant_cache.follow_changes`).
    """

    def __init__(self, channel: grpc.aio.Channel, ttl_seconds: float = 60.0):
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.resets: TenantCache[str, QuotaReset] = TenantCache(ttl_seconds)

    async def reset_period(self, feature_key: str) -> QuotaReset:
        async def load() -> QuotaReset:
            try:
                answer = await self._stub.GetFeature(catalog_pb2.GetFeatureRequest(key=feature_key))
            except NotFound:
                return QuotaReset.BILLING_PERIOD
            return _RESETS.get(answer.feature.reset_period, QuotaReset.BILLING_PERIOD)

        return await self.resets.get(feature_key, load)
