"""What the catalog's use cases need: the catalog repository and a unit of work over it.

`adapters/` implements them over PostgreSQL; the unit tests' fakes implement them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from azotte_catalog.domain.catalog import StoredCatalog
from azotte_catalog.domain.feature import Feature
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import Plan
from azotte_catalog.domain.price import Price
from azotte_catalog.domain.storefront import Storefront
from azotte_platform.clock import TenantTimes
from azotte_platform.ports import AbstractUnitOfWork


@dataclass(frozen=True)
class DuePrice:
    """A scheduled price whose time has come, claimed for activation."""

    tenant_id: str
    price: Price


class CatalogRepository(Protocol):
    """Every tenant's catalog; each call names its tenant, except the activation queue's, which spans them."""

    async def lock_tenant(self, tenant_id: str) -> None:
        """Serialise writers of one tenant's catalog until the transaction ends."""
        ...

    async def load(self, tenant_id: str) -> StoredCatalog:
        """The tenant's whole catalog, price history included."""
        ...

    async def save_storefront(self, tenant_id: str, storefront: Storefront, now: datetime) -> None:
        """Insert or update a storefront."""
        ...

    async def save_feature(self, tenant_id: str, feature: Feature, now: datetime) -> None:
        """Insert or update a feature."""
        ...

    async def save_plan(self, tenant_id: str, plan: Plan, now: datetime) -> None:
        """Insert or update a plan."""
        ...

    async def save_default_locale(self, tenant_id: str, locale: str, now: datetime) -> None:
        """Set the locale of the catalog's own names (the last step of every text fallback)."""
        ...

    async def save_mapping(self, tenant_id: str, mapping: ChannelMapping, now: datetime) -> None:
        """Insert or update a channel product mapping."""
        ...

    async def add_price(self, tenant_id: str, price: Price, activated_at: datetime | None) -> None:
        """Store a new price version (versions are never changed afterwards)."""
        ...

    async def delete_price(self, tenant_id: str, price_id: str) -> None:
        """Remove a price version not yet activated (one withdrawn before it takes effect)."""
        ...

    async def previous_version(self, tenant_id: str, price: Price) -> str:
        """The id of the version of the same key in effect before `price` ('' for the first one)."""
        ...

    async def claim_due_prices(self, times: TenantTimes, limit: int) -> list[DuePrice]:
        """Claim up to `limit` prices of any tenant that took effect by its tenant's now and are not activated yet."""
        ...

    async def mark_activated(self, tenant_id: str, price_id: str, now: datetime) -> None:
        """Record that a price's activation was announced."""
        ...

    async def next_activation_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the earliest pending price takes effect by its tenant's now (None: nothing pending)."""
        ...


class CatalogUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over the catalog repository and the outbox."""

    @property
    def catalog(self) -> CatalogRepository: ...
