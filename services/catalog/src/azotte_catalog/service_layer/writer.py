"""What a catalog change works with: the tenant's catalog as locked for writing, and how to save it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters.proto import api_error, price_to_proto
from azotte_catalog.adapters.repository import StoredCatalog, Times
from azotte_catalog.domain.catalog import Catalog
from azotte_catalog.domain.feature import Feature
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import Plan
from azotte_catalog.domain.price import Price
from azotte_catalog.domain.storefront import Storefront
from azotte_catalog.domain.validation import Violations
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.events.envelope import Event

from .unit_of_work import CatalogUnitOfWork


def raise_invalid(v: Violations, subject: str, renames: Mapping[str, str]) -> None:
    """Raise InvalidArgument for `v` (if any) with field paths in the API's names."""
    try:
        v.raise_if_any(subject)
    except InvalidArgument as error:
        raise api_error(error, renames) from None


def changed_fields(before: Any, after: Any, renames: Mapping[str, str]) -> list[str]:
    """Names (in the API's spelling) of the dataclass fields that differ."""
    return [renames.get(f.name, f.name) for f in fields(before) if getattr(before, f.name) != getattr(after, f.name)]


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
            raise NotFound(f"storefront {storefront_id!r} not found", reason="STOREFRONT_NOT_FOUND")
        return found

    def feature(self, key: str) -> Feature:
        """An existing feature, or NotFound."""
        found = self.catalog.feature_map().get(key)
        if found is None:
            raise NotFound(f"feature {key!r} not found", reason="FEATURE_NOT_FOUND")
        return found

    def plan(self, plan_id: str) -> Plan:
        """An existing plan, or NotFound."""
        found = self.catalog.plan_map().get(plan_id)
        if found is None:
            raise NotFound(f"plan {plan_id!r} not found", reason="PLAN_NOT_FOUND")
        return found

    def times_of(self, kind: str, resource_id: str) -> Times:
        """When a resource was created and last updated, counting this transaction's saves."""
        key = (kind, resource_id)
        return self.times.get(key) or self.stored.times.get(key) or (self.now, self.now)

    def record(self, event_type: str, payload: Message) -> None:
        """Publish an event of this tenant if the transaction commits."""
        self.uow.record(Event(self.tenant_id, event_type, payload))

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

    async def save_mapping(self, mapping: ChannelMapping) -> Times:
        """Insert or update a channel mapping."""
        await self.uow.catalog.save_mapping(self.tenant_id, mapping, self.now)
        return self._touch("channel_mapping", mapping.id)

    async def add_price(self, price: Price) -> None:
        """Store a new price version and announce it; one effective at once is also activated now."""
        # NOTE: a price scheduled ahead is activated by the activation loop when its time comes;
        # one that takes effect as it is scheduled (a key's first price) is activated here.
        effective_now = price.effective_from <= price.scheduled_at
        await self.uow.catalog.add_price(self.tenant_id, price, self.now if effective_now else None)
        message = price_to_proto(price)
        self.record("price.scheduled", events_pb2.PriceScheduled(price=message))
        if effective_now:
            previous = await self.uow.catalog.previous_version(self.tenant_id, price)
            self.record("price.activated", events_pb2.PriceActivated(price=message, previous_price_id=previous))
