"""Plan features from the catalog service over gRPC, cached in-process (`ports.PlanCatalog`)."""

from __future__ import annotations

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_entitlement.adapters import proto
from azotte_entitlement.domain.derivation import PlanFeature
from azotte_entitlement.domain.grants import FeatureKind
from azotte_platform.tenant_cache import TenantCache


class CatalogPlans:
    """Resolves a plan's features (with their kinds) and keeps them for `ttl_seconds`.

    NOTE: the tenant reaches the catalog in the request context, which the platform client forwards;
    the caches are kept per tenant, and dropped for a tenant whenever the catalog announces a change
    (`tenant_cache.follow_changes`), so the TTL only bounds staleness when such an event is missed.
    """

    def __init__(self, channel: grpc.aio.Channel, ttl_seconds: float = 60.0):
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.plans: TenantCache[str, tuple[PlanFeature, ...]] = TenantCache(ttl_seconds)
        self.kinds: TenantCache[str, FeatureKind] = TenantCache(ttl_seconds)

    async def features(self, plan_id: str, *, fresh: bool = False) -> tuple[PlanFeature, ...]:
        """The features plan `plan_id` grants (`fresh`: read from the catalog, past the cache, and cached)."""

        async def load() -> tuple[PlanFeature, ...]:
            response = await self._stub.GetPlan(catalog_pb2.GetPlanRequest(id=plan_id))
            return tuple(
                [
                    proto.plan_feature(grant, await self.feature_kind(grant.feature_key))
                    for grant in response.plan.feature_grants
                ]
            )

        return await self.plans.get(plan_id, load, fresh=fresh)

    async def feature_kind(self, feature_key: str) -> FeatureKind:
        """How grants of feature `feature_key` combine."""

        async def load() -> FeatureKind:
            response = await self._stub.GetFeature(catalog_pb2.GetFeatureRequest(key=feature_key))
            return proto.feature_kind_from_catalog(response.feature.kind)

        return await self.kinds.get(feature_key, load)
