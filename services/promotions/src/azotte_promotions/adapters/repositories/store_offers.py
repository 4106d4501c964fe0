"""Each tenant's App Store subscription key (one row per tenant)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_promotions.adapters.tables import app_store_subscription_keys as keys
from azotte_promotions.domain.store_offers import SubscriptionKey


class PostgresSubscriptionKeyRepository:
    """`ports.SubscriptionKeyRepository` over `app_store_subscription_keys`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def get(self, tenant_id: str) -> SubscriptionKey | None:
        row = (await self._conn.execute(sa.select(keys).where(keys.c.tenant_id == tenant_id))).first()
        return None if row is None else SubscriptionKey(row.tenant_id, row.key_id, row.bundle_id, row.private_key_pem)

    async def put(self, key: SubscriptionKey, now: datetime) -> None:
        values = {"key_id": key.key_id, "bundle_id": key.bundle_id, "private_key_pem": key.private_key_pem}
        upsert = insert(keys).values(tenant_id=key.tenant_id, updated_at=now, **values)
        await self._conn.execute(
            upsert.on_conflict_do_update(index_elements=["tenant_id"], set_={**values, "updated_at": now})
        )
