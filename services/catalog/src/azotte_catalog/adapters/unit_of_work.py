"""The catalog's PostgreSQL unit of work: one transaction over the catalog repository and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

from azotte_catalog.adapters.proto import outbox_event
from azotte_catalog.adapters.repositories.catalog import PostgresCatalogRepository
from azotte_catalog.domain.events import CatalogEvent
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresCatalogUnitOfWork(UnitOfWork):
    """Implements `ports.CatalogUnitOfWork`: `async with uow:`, use `catalog`, then `commit()`."""

    catalog: PostgresCatalogRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.catalog = PostgresCatalogRepository(self.connection)
        self._after_commit: list[Callable[[], None]] = []
        return self

    def publish(self, tenant_id: str, *events: CatalogEvent) -> None:
        """Write `events` of `tenant_id` to the outbox if, and only if, this unit of work commits."""
        self.record(*(outbox_event(tenant_id, event) for event in events))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this unit of work has committed (never if it does not)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await super().commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
