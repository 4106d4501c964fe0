"""Tenants over PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import tenants
from azotte_gateway.domain.tenants import Tenant, TenantMode

# Any number shared by every replica of the gateway, and by nothing else.
_BOOTSTRAP_LOCK = 7_305_101


def _tenant(row: Any) -> Tenant:
    return Tenant(
        id=row.tenant_id,
        name=row.name,
        mode=TenantMode(row.mode),
        operator_refund_limit_minor=row.operator_refund_limit_minor,
        is_root=row.is_root,
        customer_token_secret=row.customer_token_secret,
    )


class PostgresTenantRepository:
    """Implements `ports.TenantRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, tenant: Tenant, create_time: datetime) -> bool:
        result = await self._connection.execute(
            insert(tenants)
            .values(
                tenant_id=tenant.id,
                name=tenant.name,
                mode=tenant.mode.value,
                is_root=tenant.is_root,
                operator_refund_limit_minor=tenant.operator_refund_limit_minor,
                customer_token_secret=tenant.customer_token_secret,
                create_time=create_time,
            )
            .on_conflict_do_nothing()
            .returning(tenants.c.tenant_id)
        )
        return result.first() is not None

    async def get(self, tenant_id: str) -> Tenant | None:
        row = (await self._connection.execute(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))).first()
        return _tenant(row) if row else None

    async def any_exists(self) -> bool:
        query = sa.select(sa.literal(1)).select_from(tenants).limit(1)
        return (await self._connection.execute(query)).first() is not None

    async def lock_bootstrap(self) -> None:
        await self._connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))
