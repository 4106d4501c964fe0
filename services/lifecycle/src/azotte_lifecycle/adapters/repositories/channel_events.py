"""The store event ids applied per tenant, and the subscription each one applied to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.tables import applied_channel_events


class PostgresChannelEventLedger:
    """`ports.ChannelEventLedger` over the `applied_channel_events` table."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def claim(self, tenant_id: str, event_id: str, subscription_id: str, now: datetime) -> bool:
        inserted = await self._conn.execute(
            insert(applied_channel_events)
            .values(tenant_id=tenant_id, event_id=event_id, subscription_id=subscription_id, applied_at=now)
            .on_conflict_do_nothing()
            .returning(applied_channel_events.c.event_id)
        )
        return inserted.first() is not None

    async def subscription_of(self, tenant_id: str, event_id: str) -> str | None:
        c = applied_channel_events.c
        return await self._conn.scalar(
            sa.select(c.subscription_id).where(c.tenant_id == tenant_id, c.event_id == event_id)
        )
