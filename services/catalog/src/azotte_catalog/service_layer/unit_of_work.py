"""The catalog's unit of work: one transaction over the catalog repository and the outbox."""

from __future__ import annotations

from azotte_catalog.adapters.repository import CatalogRepository
from azotte_platform.db.unit_of_work import UnitOfWork


class CatalogUnitOfWork(UnitOfWork):
    """A transaction exposing the catalog repository."""

    @property
    def catalog(self) -> CatalogRepository:
        return CatalogRepository(self.connection)
