"""A tenant's catalog indexed for reads, and the per-process cache of those views."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from azotte_catalog.domain.catalog import Catalog, StoredCatalog, Times
from azotte_catalog.domain.feature import Feature
from azotte_catalog.domain.mapping import ChannelMapping, resolve_channel_product
from azotte_catalog.domain.plan import Plan
from azotte_catalog.domain.price import Price, PriceKey, ResolvedPrice, resolve_price
from azotte_catalog.domain.storefront import Storefront
from azotte_catalog.domain.texts import fallback_chain
from azotte_catalog.errors import FeatureNotFound, PlanNotFound, StorefrontNotFound
from azotte_platform.enums import Channel


@dataclass(frozen=True)
class CatalogView:
    """An immutable, indexed snapshot of one tenant's catalog."""

    catalog: Catalog
    times: Mapping[tuple[str, str], Times]
    plans: Mapping[str, Plan]
    storefronts: Mapping[str, Storefront]
    features: Mapping[str, Feature]
    prices_by_key: Mapping[PriceKey, tuple[Price, ...]]

    @classmethod
    def of(cls, stored: StoredCatalog) -> CatalogView:
        """Index a stored catalog."""
        catalog = stored.catalog
        by_key: dict[PriceKey, list[Price]] = {}
        for price in catalog.prices:
            by_key.setdefault(price.key, []).append(price)
        return cls(
            catalog=catalog,
            times=stored.times,
            plans=catalog.plan_map(),
            storefronts=catalog.storefront_map(),
            features=catalog.feature_map(),
            prices_by_key={key: tuple(sorted(v, key=lambda p: p.effective_from)) for key, v in by_key.items()},
        )

    def plan(self, plan_id: str) -> Plan:
        """A plan, or NotFound."""
        plan = self.plans.get(plan_id)
        if plan is None:
            raise PlanNotFound(f"plan {plan_id!r} not found")
        return plan

    def storefront(self, storefront_id: str) -> Storefront:
        """A storefront, or NotFound."""
        storefront = self.storefronts.get(storefront_id)
        if storefront is None:
            raise StorefrontNotFound(f"storefront {storefront_id!r} not found")
        return storefront

    def feature(self, key: str) -> Feature:
        """A feature, or NotFound."""
        feature = self.features.get(key)
        if feature is None:
            raise FeatureNotFound(f"feature {key!r} not found")
        return feature

    def times_of(self, kind: str, resource_id: str) -> Times | None:
        """When a resource was created and last updated."""
        return self.times.get((kind, resource_id))

    def resolve_price(
        self,
        plan_id: str,
        storefront_id: str,
        channel: Channel,
        at: datetime,
        subscription_started_at: datetime | None = None,
    ) -> ResolvedPrice:
        """The price of a plan in a storefront on a channel at a time (a renewal when started_at is given)."""
        plan, storefront = self.plan(plan_id), self.storefront(storefront_id)
        candidates = (
            *self.prices_by_key.get(PriceKey(plan_id, storefront_id, channel), ()),
            *self.prices_by_key.get(PriceKey(plan_id, storefront_id), ()),
        )
        return resolve_price(candidates, plan, storefront, channel, at, subscription_started_at)

    def text_chain(self, locales: tuple[str, ...], storefront_id: str = "") -> tuple[str, ...]:
        """The locales a read tries for its texts: the caller's, the storefront's first, the catalog default."""
        storefront_locales = self.storefront(storefront_id).locales if storefront_id else ()
        return fallback_chain(locales, storefront_locales, self.catalog.default_locale)

    def resolve_channel_product(self, channel: Channel, external_product_id: str) -> tuple[ChannelMapping, Plan]:
        """The mapping of a store's product id and the plan it stands for."""
        mapping = resolve_channel_product(self.catalog.mappings, channel, external_product_id)
        return mapping, self.plan(mapping.plan_id)


@dataclass(frozen=True)
class _Entry:
    view: CatalogView
    expires: float


class CatalogCache:
    """Views per tenant, loaded on first use and dropped whenever the tenant's catalog changes.

    NOTE: a load that raced with an invalidation is returned to its caller but not kept, so a
    change committed during the load is never hidden by a stale entry.
    """

    def __init__(self, load: Callable[[str], Awaitable[StoredCatalog]], ttl_seconds: float):
        self._load = load
        self._ttl = ttl_seconds
        self._entries: dict[str, _Entry] = {}
        self._generations: dict[str, int] = {}
        self._loading: dict[tuple[str, int], asyncio.Future[CatalogView]] = {}

    async def get(self, tenant_id: str) -> CatalogView:
        """The tenant's current view."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(tenant_id)
        if entry is not None and loop.time() < entry.expires:
            return entry.view
        generation = self._generations.get(tenant_id, 0)
        pending = self._loading.get((tenant_id, generation))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CatalogView] = loop.create_future()
        self._loading[(tenant_id, generation)] = future
        try:
            view = CatalogView.of(await self._load(tenant_id))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # marks it retrieved when no one else waits
            raise
        finally:
            self._loading.pop((tenant_id, generation), None)
        future.set_result(view)
        if self._generations.get(tenant_id, 0) == generation:
            self._entries[tenant_id] = _Entry(view, loop.time() + self._ttl)
        return view

    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's view; the next read loads it again."""
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        """Forget every tenant's view (e.g. changes may have been missed while NATS was unreachable)."""
        for tenant_id in {*self._entries, *(tenant for tenant, _ in self._loading)}:
            self.invalidate(tenant_id)
