"""The PostgreSQL unit of work of the entitlement service (`ports.EntitlementUnitOfWork`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_entitlement.adapters import proto
from azotte_entitlement.adapters.repositories.access import SqlAccessRepository
from azotte_entitlement.adapters.repositories.grants import SqlGrantRepository
from azotte_entitlement.adapters.repositories.groups import SqlGroupRepository
from azotte_entitlement.adapters.repositories.subscriptions import SqlSubscriptionRepository
from azotte_entitlement.domain.events import EntitlementEvent
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresUnitOfWork(UnitOfWork):
    """Repositories over one transaction; events go to the outbox and `on_commit` actions run after the commit."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        super().__init__(engine, "entitlement", clock)
        self._on_commit: list[Callable[[], object]] = []

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._on_commit = []
        return self

    @property
    def grants(self) -> SqlGrantRepository:
        return SqlGrantRepository(self.connection)

    @property
    def subscriptions(self) -> SqlSubscriptionRepository:
        return SqlSubscriptionRepository(self.connection)

    @property
    def groups(self) -> SqlGroupRepository:
        return SqlGroupRepository(self.connection)

    @property
    def access(self) -> SqlAccessRepository:
        return SqlAccessRepository(self.connection)

    def emit(self, *events: EntitlementEvent) -> None:
        self.record(*(proto.outbox_event(event) for event in events))

    def on_commit(self, action: Callable[[], object]) -> None:
        self._on_commit.append(action)

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        function = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
        await self.connection.execute(sa.select(function(sa.func.hashtext(f"entitlement:{tenant_id}"))))

    async def commit(self) -> None:
        await super().commit()
        actions, self._on_commit = self._on_commit, []
        for action in actions:
            action()
