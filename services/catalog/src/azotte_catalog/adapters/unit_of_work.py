"""The catalog's PostgreSQL unit of work: one transaction over the catalog repository and the outbox."""

from __future__ import annotations

from typing import Self

from azotte_catalog.adapters.repositories.catalog import PostgresCatalogRepository
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresCatalogUnitOfWork(UnitOfWork):
    """Implements `ports.CatalogUnitOfWork`: `async with uow:`, use `catalog`, then `commit()`.

    Built with `adapters.proto.outbox_event`, the events the use cases emit.
    """

    catalog: PostgresCatalogRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.catalog = PostgresCatalogRepository(self.connection)
        return self
