"""What a catalog change works with: the tenant's catalog as locked for writing, and how to save it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from azotte_catalog.domain.catalog import Catalog, StoredCatalog, Times
from azotte_catalog.domain.events import CatalogEvent, PriceActivated, PriceCancelled, PriceScheduled
from azotte_catalog.domain.feature import Feature
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import Plan
from azotte_catalog.domain.price import Price
from azotte_catalog.domain.storefront import Storefront
from azotte_catalog.errors import FeatureNotFound, PlanNotFound, StorefrontNotFound
from azotte_catalog.ports import CatalogUnitOfWork


def changed_fields(before: Any, after: Any) -> tuple[str, ...]:
    """Names of the dataclass fields that differ."""
    return tuple(f.name for f in fields(before) if getattr(before, f.name) != getattr(after, f.name))


@dataclass
class CatalogWriter:
    """One tenant's catalog inside a write transaction (the tenant's writers are serialised)."""

    uow: CatalogUnitOfWork
    tenant_id: str
    stored: StoredCatalog
    now: datetime
    times: dict[tuple[str, str], Times] = field(default_factory=dict)

    @property
    def catalog(self) -> Catalog:
        """The catalog as it was when the transaction began."""
        return self.stored.catalog

    def storefront(self, storefront_id: str) -> Storefront:
        """An existing storefront, or NotFound."""
        found = self.catalog.storefront_map().get(storefront_id)
        if found is None:
            raise StorefrontNotFound(f"storefront {storefront_id!r} not found")
        return found

    def feature(self, key: str) -> Feature:
        """An existing feature, or NotFound."""
        found = self.catalog.feature_map().get(key)
        if found is None:
            raise FeatureNotFound(f"feature {key!r} not found")
        return found

    def plan(self, plan_id: str) -> Plan:
        """An existing plan, or NotFound."""
        found = self.catalog.plan_map().get(plan_id)
        if found is None:
            raise PlanNotFound(f"plan {plan_id!r} not found")
        return found

    def times_of(self, kind: str, resource_id: str) -> Times:
        """When a resource was created and last updated, counting this transaction's saves."""
        key = (kind, resource_id)
        return self.times.get(key) or self.stored.times.get(key) or (self.now, self.now)

    def publish(self, *events: CatalogEvent) -> None:
        """Announce events of this tenant if the transaction commits."""
        self.uow.emit(self.tenant_id, *events)

    def _touch(self, kind: str, resource_id: str) -> Times:
        created = self.stored.times.get((kind, resource_id), (self.now, self.now))[0]
        self.times[(kind, resource_id)] = (created, self.now)
        return self.times[(kind, resource_id)]

    async def save_storefront(self, storefront: Storefront) -> Times:
        """Insert or update a storefront."""
        await self.uow.catalog.save_storefront(self.tenant_id, storefront, self.now)
        return self._touch("storefront", storefront.id)

    async def save_feature(self, feature: Feature) -> Times:
        """Insert or update a feature."""
        await self.uow.catalog.save_feature(self.tenant_id, feature, self.now)
        return self._touch("feature", feature.key)

    async def save_plan(self, plan: Plan) -> Times:
        """Insert or update a plan."""
        await self.uow.catalog.save_plan(self.tenant_id, plan, self.now)
        return self._touch("plan", plan.id)

    async def save_default_locale(self, locale: str) -> None:
        """Set the locale of the catalog's own names."""
        await self.uow.catalog.save_default_locale(self.tenant_id, locale, self.now)

    async def save_mapping(self, mapping: ChannelMapping) -> Times:
        """Insert or update a channel mapping."""
        await self.uow.catalog.save_mapping(self.tenant_id, mapping, self.now)
        return self._touch("channel_mapping", mapping.id)

    async def cancel_price(self, price: Price) -> None:
        """Withdraw a price version scheduled ahead and announce it."""
        await self.uow.catalog.delete_price(self.tenant_id, price.id)
        self.publish(PriceCancelled(price, self.now))

    async def add_price(self, price: Price) -> None:
        """Store a new price version and announce it; one effective at once is also activated now."""
        # NOTE: a price scheduled ahead is activated by the activation loop when its time comes;
        # one that takes effect as it is scheduled (a key's first price) is activated here.
        effective_now = price.effective_from <= price.scheduled_at
        await self.uow.catalog.add_price(self.tenant_id, price, self.now if effective_now else None)
        self.publish(PriceScheduled(price))
        if effective_now:
            previous = await self.uow.catalog.previous_version(self.tenant_id, price)
            self.publish(PriceActivated(price, previous))
