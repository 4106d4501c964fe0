"""The lifecycle unit of work: repositories over one transaction; aggregate events go to the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from azotte_lifecycle.adapters.protobuf import event_to_pb
from azotte_lifecycle.adapters.repositories import (
    ChannelEventLedger,
    CustomerRepository,
    PolicyRepository,
    SubscriptionRepository,
)
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.envelope import Event


class LifecycleUnitOfWork(UnitOfWork):
    """`async with uow:` then use `customers`, `subscriptions`, `policies`, `channel_events`."""

    customers: CustomerRepository
    subscriptions: SubscriptionRepository
    policies: PolicyRepository
    channel_events: ChannelEventLedger

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.customers = CustomerRepository(self.connection)
        self.subscriptions = SubscriptionRepository(self.connection)
        self.policies = PolicyRepository(self.connection)
        self.channel_events = ChannelEventLedger(self.connection)
        return self

    async def add(self, subscription: Subscription) -> None:
        """Insert a new subscription and record the events it caused."""
        await self.subscriptions.add(subscription, self.clock.now())
        self._record_events([subscription])

    async def save(self, *subscriptions: Subscription) -> None:
        """Write back changed subscriptions and record the events they caused."""
        await self.subscriptions.save_many(subscriptions, self.clock.now())
        self._record_events(subscriptions)

    def _record_events(self, subscriptions: Sequence[Subscription]) -> None:
        for sub in subscriptions:
            self.record(*(Event(sub.tenant_id, e.event_type.value, event_to_pb(e)) for e in sub.pull_events()))
