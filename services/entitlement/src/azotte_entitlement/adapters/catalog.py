"""Plan features from the catalog service over gRPC, cached in-process (`ports.PlanCatalog`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_entitlement.adapters import proto
from azotte_entitlement.domain.derivation import PlanFeature
from azotte_entitlement.domain.grants import FeatureKind
from azotte_platform.context import require_tenant


@dataclass
class CatalogPlans:
    """Resolves a plan's features (with their kinds) and keeps them for `ttl_seconds`.

    NOTE: the tenant reaches the catalog in the request context, which the platform client forwards;
    the cache is kept per tenant. It is also dropped for a tenant whenever the catalog announces a
    plan or feature change, so the TTL only bounds staleness when such an event is missed.
    """

    channel: grpc.aio.Channel
    ttl_seconds: float = 60.0
    _plans: dict[tuple[str, str], tuple[float, tuple[PlanFeature, ...]]] = field(default_factory=dict)
    _kinds: dict[tuple[str, str], tuple[float, FeatureKind]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stub = catalog_pb2_grpc.CatalogServiceStub(self.channel)

    async def features(self, plan_id: str, *, fresh: bool = False) -> tuple[PlanFeature, ...]:
        """The features plan `plan_id` grants (`fresh`: read from the catalog, past the cache, and cached)."""
        tenant_id = require_tenant()
        now = time.monotonic()
        cached = self._plans.get((tenant_id, plan_id))
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        response = await self._stub.GetPlan(catalog_pb2.GetPlanRequest(id=plan_id))
        features = []
        for grant in response.plan.feature_grants:
            kind = await self._kind(tenant_id, grant.feature_key, now)
            features.append(proto.plan_feature(grant, kind))
        result = tuple(features)
        self._plans[(tenant_id, plan_id)] = (now + self.ttl_seconds, result)
        return result

    async def feature_kind(self, feature_key: str) -> FeatureKind:
        """How grants of feature `feature_key` combine."""
        return await self._kind(require_tenant(), feature_key, time.monotonic())

    async def clear(self) -> None:
        """Forget everything (events may have been missed, e.g. while NATS was unreachable)."""
        self._plans.clear()
        self._kinds.clear()

    def invalidate(self, tenant_id: str) -> None:
        """Forget everything cached for a tenant (its catalog changed)."""
        for cache in (self._plans, self._kinds):
            for key in [k for k in cache if k[0] == tenant_id]:
                del cache[key]

    async def _kind(self, tenant_id: str, feature_key: str, now: float) -> FeatureKind:
        cached = self._kinds.get((tenant_id, feature_key))
        if cached is not None and cached[0] > now:
            return cached[1]
        response = await self._stub.GetFeature(catalog_pb2.GetFeatureRequest(key=feature_key))
        kind = proto.feature_kind_from_catalog(response.feature.kind)
        self._kinds[(tenant_id, feature_key)] = (now + self.ttl_seconds, kind)
        return kind
