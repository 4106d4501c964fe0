"""The lifecycle unit of work on PostgreSQL: repositories over one transaction, aggregate events to the outbox."""

from __future__ import annotations

from typing import Self

from azotte_lifecycle.adapters.repositories.channel_events import PostgresChannelEventLedger
from azotte_lifecycle.adapters.repositories.contracts import PostgresContractRepository
from azotte_lifecycle.adapters.repositories.customers import PostgresCustomerRepository
from azotte_lifecycle.adapters.repositories.policies import PostgresPolicyRepository
from azotte_lifecycle.adapters.repositories.subscriptions import PostgresSubscriptionRepository
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresLifecycleUnitOfWork(UnitOfWork):
    """`ports.LifecycleUnitOfWork`: `async with uow:` then use its repositories, `add`/`save`, `commit()`."""

    customers: PostgresCustomerRepository
    subscriptions: PostgresSubscriptionRepository
    policies: PostgresPolicyRepository
    channel_events: PostgresChannelEventLedger
    contracts: PostgresContractRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.customers = PostgresCustomerRepository(self.connection)
        self.subscriptions = PostgresSubscriptionRepository(self.connection)
        self.policies = PostgresPolicyRepository(self.connection)
        self.channel_events = PostgresChannelEventLedger(self.connection)
        self.contracts = PostgresContractRepository(self.connection)
        return self
