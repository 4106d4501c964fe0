"""The catalog service over gRPC: storefront terms, cached briefly per tenant (implements `ports.StorefrontCatalog`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from azotte.catalog.v1 import catalog_pb2
from azotte_payments.adapters.proto import storefront_terms
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.errors import StorefrontNotFound
from azotte_platform.clock import Clock
from azotte_platform.errors import NotFound

if TYPE_CHECKING:
    from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceAsyncStub


@dataclass(frozen=True)
class _Cached:
    terms: StorefrontTerms
    expires_at: datetime


class StorefrontDirectory:
    """Asks the catalog for storefronts and keeps answers for `ttl`.

    NOTE: the tenant reaches the catalog in the request context, which the platform client forwards;
    `tenant_id` only keys the cache.
    """

    def __init__(self, stub: CatalogServiceAsyncStub, clock: Clock, ttl: timedelta):
        self._stub = stub
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[tuple[str, str], _Cached] = {}

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        """The storefront's terms, or StorefrontNotFound."""
        now = self._clock.now()
        cached = self._cache.get((tenant_id, storefront_id))
        if cached is not None and cached.expires_at > now:
            return cached.terms
        try:
            response = await self._stub.GetStorefront(catalog_pb2.GetStorefrontRequest(id=storefront_id))
        except NotFound as error:
            raise StorefrontNotFound(f"storefront_id {storefront_id!r}: no such storefront") from error
        terms = storefront_terms(response.storefront)
        self._cache[(tenant_id, storefront_id)] = _Cached(terms, now + self._ttl)
        return terms
