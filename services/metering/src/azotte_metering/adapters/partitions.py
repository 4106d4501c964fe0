"""The monthly partitions of `usage_events`, created before the first event of a month is stored.

A month's partition is created once, outside any ingest transaction (its own autocommit statement), and
remembered by the process; replicas racing to create the same month are harmless (IF NOT EXISTS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)


def _month_of(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"usage_events_{month:%Y_%m}"


class MonthlyPartitions:
    """Creates the partition of each month events are stored in, once per process."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._known: set[datetime] = set()
        self._lock = asyncio.Lock()

    async def ensure(self, moments: Iterable[datetime]) -> None:
        """Make sure the partitions of the months from the earliest of `moments` to the latest exist."""
        # NOTE: the earliest and the latest alone: a batch's thousands of times fall in one or two months.
        times = list(moments)
        if not times:
            return
        month, last = _month_of(min(times)), _month_of(max(times))
        months = {month}
        while month < last:
            month = next_month(month)
            months.add(month)
        missing = months - self._known
        if not missing:
            return
        async with self._lock:
            missing -= self._known
            if not missing:
                return
            async with self._engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for month in sorted(missing):
                    await _create(autocommit, month)
            self._known |= missing


async def _create(connection: AsyncConnection, month: datetime) -> None:
    statement = sa.text(
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF usage_events "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
    )
    try:
        await connection.execute(statement)
    except sa.exc.DBAPIError:
        # NOTE: a replica creating the same month at the same instant makes IF NOT EXISTS fail on the
        # catalog's unique key; by now the partition exists, which the second try confirms.
        await connection.execute(statement)
