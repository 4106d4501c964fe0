"""The entitlement unit of work: repositories over one transaction, and changes to apply once it commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_entitlement.adapters.access_repository import AccessRepository
from azotte_entitlement.adapters.grant_repository import GrantRepository
from azotte_entitlement.adapters.group_repository import GroupRepository
from azotte_entitlement.adapters.subscription_repository import SubscriptionRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import UnitOfWork


class EntitlementUnitOfWork(UnitOfWork):
    """One transaction of the entitlement service; `on_commit` actions run right after it commits."""

    def __init__(self, engine: AsyncEngine, clock: Clock):
        super().__init__(engine, "entitlement", clock)
        self._on_commit: list[Callable[[], object]] = []

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._on_commit = []
        return self

    @property
    def grants(self) -> GrantRepository:
        return GrantRepository(self.connection)

    @property
    def subscriptions(self) -> SubscriptionRepository:
        return SubscriptionRepository(self.connection)

    @property
    def groups(self) -> GroupRepository:
        return GroupRepository(self.connection)

    @property
    def access(self) -> AccessRepository:
        return AccessRepository(self.connection)

    def on_commit(self, action: Callable[[], object]) -> None:
        """Run `action` (an in-memory projection change) only once this transaction has committed."""
        self._on_commit.append(action)

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        """Take the tenant's grant-derivation lock until the transaction ends.

        NOTE: lifecycle events and group changes share it; drift reconciliation takes it exclusively,
        so it never corrects against a half-applied change.
        """
        function = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
        await self.connection.execute(sa.select(function(sa.func.hashtext(f"entitlement:{tenant_id}"))))

    async def commit(self) -> None:
        await super().commit()
        actions, self._on_commit = self._on_commit, []
        for action in actions:
            action()
