"""The PostgreSQL unit of work of the entitlement service (`ports.EntitlementUnitOfWork`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_entitlement.adapters import proto
from azotte_entitlement.adapters.repositories.access import PostgresAccessRepository
from azotte_entitlement.adapters.repositories.grants import PostgresGrantRepository
from azotte_entitlement.adapters.repositories.groups import PostgresGroupRepository
from azotte_entitlement.adapters.repositories.subscriptions import PostgresSubscriptionRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import UnitOfWork

_KEY = sa.func.hashtext(sa.bindparam("key", type_=sa.Text))
_EXCLUSIVE = sa.select(sa.func.pg_advisory_xact_lock(_KEY))
_SHARED = sa.select(sa.func.pg_advisory_xact_lock_shared(_KEY))


class PostgresEntitlementUnitOfWork(UnitOfWork):
    """Repositories over one transaction; emitted events go to the outbox as `adapters.proto` payloads.

    `_locked` holds the tenants whose lock the transaction took (True: exclusive), until it ends: events applied
    together ask for each tenant's lock once. Once committed, the ids of the events it published are told to
    `applied_here`: each use case that emits an event applies its change to this replica's projection at the
    commit (`after_commit`), so the event needs no reload here.
    """

    _locked: dict[str, bool]

    def __init__(self, engine: AsyncEngine, clock: Clock, applied_here: Callable[[list[str]], None] | None = None):
        super().__init__(engine, "entitlement", clock, proto.outbox_event)
        self._applied_here = applied_here

    async def __aenter__(self) -> Self:
        self._locked = {}
        return await super().__aenter__()

    async def commit(self) -> None:
        published = [event.id for event in self.recorded]
        await super().commit()
        if published and self._applied_here is not None:
            self._applied_here(published)
        self._locked = {}

    @property
    def grants(self) -> PostgresGrantRepository:
        return PostgresGrantRepository(self.connection)

    @property
    def subscriptions(self) -> PostgresSubscriptionRepository:
        return PostgresSubscriptionRepository(self.connection)

    @property
    def groups(self) -> PostgresGroupRepository:
        return PostgresGroupRepository(self.connection)

    @property
    def access(self) -> PostgresAccessRepository:
        return PostgresAccessRepository(self.connection)

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        held = self._locked.get(tenant_id)
        if held is not None and (held or not exclusive):
            return
        await self.connection.execute(_EXCLUSIVE if exclusive else _SHARED, {"key": f"entitlement:{tenant_id}"})
        self._locked[tenant_id] = exclusive
