"""The usage-billing unit of work on PostgreSQL: prices, usage periods, wallets and limits over one transaction."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_metering.adapters import billing_proto
from azotte_metering.adapters.repositories.limits import PostgresLimitRepository
from azotte_metering.adapters.repositories.usage_periods import PostgresUsagePeriodRepository
from azotte_metering.adapters.repositories.usage_prices import PostgresUsagePriceRepository
from azotte_metering.adapters.repositories.wallets import PostgresWalletRepository
from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import UnitOfWork


class PostgresBillingUnitOfWork(UnitOfWork):
    """`billing_ports.BillingUnitOfWork`: `async with uow:` then its repositories, `commit()`."""

    prices: PostgresUsagePriceRepository
    usage: PostgresUsagePeriodRepository
    wallets: PostgresWalletRepository
    limits: PostgresLimitRepository

    def __init__(self, engine: AsyncEngine, clock: Clock):
        super().__init__(engine, "metering", clock, billing_proto.to_event)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.prices = PostgresUsagePriceRepository(self.connection)
        self.usage = PostgresUsagePeriodRepository(self.connection)
        self.wallets = PostgresWalletRepository(self.connection)
        self.limits = PostgresLimitRepository(self.connection)
        return self
