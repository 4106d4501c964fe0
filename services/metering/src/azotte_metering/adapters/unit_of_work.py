"""The metering unit of work on PostgreSQL: repositories over one transaction, events to the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.adapters.repositories.meters import PostgresMeterRepository
from azotte_metering.adapters.repositories.usage import PostgresUsageStore
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import ToEvent, UnitOfWork


class PostgresMeteringUnitOfWork(UnitOfWork):
    """`ports.MeteringUnitOfWork`: `async with uow:` then its repositories, `commit()`."""

    meters: PostgresMeterRepository
    usage: PostgresUsageStore

    def __init__(self, engine: AsyncEngine, clock: Clock, to_event: ToEvent, partitions: MonthlyPartitions):
        super().__init__(engine, "metering", clock, to_event)
        self._partitions = partitions

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.meters = PostgresMeterRepository(self.connection)
        self.usage = PostgresUsageStore(self.connection, self._partitions)
        return self
