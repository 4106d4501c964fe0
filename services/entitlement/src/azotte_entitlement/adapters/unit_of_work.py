"""The PostgreSQL unit of work of the entitlement service (`ports.EntitlementUnitOfWork`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_entitlement.adapters import proto
from azotte_entitlement.adapters.repositories.access import SqlAccessRepository
from azotte_entitlement.adapters.repositories.grants import SqlGrantRepository
from azotte_entitlement.adapters.repositories.groups import SqlGroupRepository
from azotte_entitlement.adapters.repositories.subscriptions import SqlSubscriptionRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresEntitlementUnitOfWork(UnitOfWork):
    """Repositories over one transaction; emitted events go to the outbox as `adapters.proto` payloads."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        super().__init__(engine, "entitlement", clock, proto.outbox_event)

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

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        function = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
        await self.connection.execute(sa.select(function(sa.func.hashtext(f"entitlement:{tenant_id}"))))
