"""The lifecycle unit of work on PostgreSQL: repositories over one transaction, aggregate events to the outbox."""

from __future__ import annotations

from typing import Self

from azotte_lifecycle.adapters.repositories.channel_events import SqlChannelEventLedger
from azotte_lifecycle.adapters.repositories.customers import SqlCustomerRepository
from azotte_lifecycle.adapters.repositories.policies import SqlPolicyRepository
from azotte_lifecycle.adapters.repositories.subscriptions import SqlSubscriptionRepository
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresLifecycleUnitOfWork(UnitOfWork):
    """`ports.LifecycleUnitOfWork`: `async with uow:` then use its repositories, `add`/`save`, `commit()`."""

    customers: SqlCustomerRepository
    subscriptions: SqlSubscriptionRepository
    policies: SqlPolicyRepository
    channel_events: SqlChannelEventLedger

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.customers = SqlCustomerRepository(self.connection)
        self.subscriptions = SqlSubscriptionRepository(self.connection)
        self.policies = SqlPolicyRepository(self.connection)
        self.channel_events = SqlChannelEventLedger(self.connection)
        return self

    async def add(self, subscription: Subscription) -> None:
        await self.subscriptions.add(subscription, self.clock.now())
        self.emit(subscription.tenant_id, *subscription.pull_events())

    async def save(self, *subscriptions: Subscription) -> None:
        await self.subscriptions.save_many(subscriptions, self.clock.now())
        for subscription in subscriptions:
            self.emit(subscription.tenant_id, *subscription.pull_events())
