"""Every tenant's catalog: read from a per-process cache, opened for writing in a request's unit of work."""

from __future__ import annotations

from collections.abc import Callable

from azotte_catalog.domain.catalog import StoredCatalog
from azotte_catalog.ports import CatalogUnitOfWork

from .view import CatalogCache, CatalogView
from .writer import CatalogWriter


class TenantCatalogs:
    """Views to read a tenant's catalog, writers to change it; a change drops the view once it commits."""

    def __init__(
        self,
        uow_factory: Callable[[], CatalogUnitOfWork],
        *,
        cache_ttl_seconds: float = 300.0,
        on_change: Callable[[], None] = lambda: None,
    ):
        self._uow_factory = uow_factory
        self.cache = CatalogCache(self.load, cache_ttl_seconds)
        self._on_change = on_change

    async def load(self, tenant_id: str) -> StoredCatalog:
        """The tenant's catalog as stored now."""
        async with self._uow_factory() as uow:
            return await uow.catalog.load(tenant_id)

    async def view(self, tenant_id: str) -> CatalogView:
        """The tenant's catalog for reading (cached)."""
        return await self.cache.get(tenant_id)

    async def open(self, uow: CatalogUnitOfWork, tenant_id: str) -> CatalogWriter:
        """The tenant's catalog locked for writing in `uow`."""
        # NOTE: writers of one tenant take turns, so a change is checked against the catalog it modifies.
        await uow.catalog.lock_tenant(tenant_id)
        stored = await uow.catalog.load(tenant_id)
        uow.after_commit(lambda: self._changed(tenant_id))
        return CatalogWriter(uow, tenant_id, stored, uow.clock.now())

    def _changed(self, tenant_id: str) -> None:
        # NOTE: this replica drops its view at once; the others when they see the change's events.
        self.cache.invalidate(tenant_id)
        self._on_change()
