"""The catalog application: reads through the per-tenant cache, writes in serialised transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message

from azotte_catalog.adapters.repository import StoredCatalog
from azotte_platform.clock import Clock
from azotte_platform.idempotency import run_once

from .unit_of_work import CatalogUnitOfWork
from .view import CatalogCache, CatalogView
from .writer import CatalogWriter

R = TypeVar("R", bound=Message)
T = TypeVar("T")


class CatalogApp:
    """Entry point of every catalog use case."""

    def __init__(
        self,
        uow_factory: Callable[[], CatalogUnitOfWork],
        clock: Clock,
        *,
        cache_ttl_seconds: float = 300.0,
        on_write: Callable[[], None] = lambda: None,
    ):
        self._uow_factory = uow_factory
        self.clock = clock
        self.cache = CatalogCache(self.load, cache_ttl_seconds)
        self._on_write = on_write

    async def load(self, tenant_id: str) -> StoredCatalog:
        """The tenant's catalog as stored now."""
        async with self._uow_factory() as uow:
            return await uow.catalog.load(tenant_id)

    async def view(self, tenant_id: str) -> CatalogView:
        """The tenant's catalog for reading (cached)."""
        return await self.cache.get(tenant_id)

    async def mutate(
        self,
        tenant_id: str,
        operation: str,
        request: Message,
        response_type: type[R],
        change: Callable[[CatalogWriter], Awaitable[R]],
    ) -> R:
        """Run `change` once per request id on the tenant's locked catalog, commit, and drop the cached view."""
        async with self._uow_factory() as uow:

            async def work() -> R:
                await uow.catalog.lock_tenant(tenant_id)
                stored = await uow.catalog.load(tenant_id)
                return await change(CatalogWriter(uow, tenant_id, stored, uow.clock.now()))

            response = await run_once(uow, tenant_id, operation, request, response_type, work)
        # NOTE: this replica drops its view at once; the others when they see the change's events.
        self.cache.invalidate(tenant_id)
        self._on_write()
        return response

    async def dry_run(self, tenant_id: str, compute: Callable[[CatalogWriter], Awaitable[T]]) -> T:
        """Compute a change on the tenant's current catalog without writing anything."""
        async with self._uow_factory() as uow:
            stored = await uow.catalog.load(tenant_id)
            return await compute(CatalogWriter(uow, tenant_id, stored, uow.clock.now()))
