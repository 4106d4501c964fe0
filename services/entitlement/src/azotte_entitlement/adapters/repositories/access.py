"""Suspensions, usage, and loading stored access state into the projection."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_entitlement.adapters.repositories.grants import grant_from_row
from azotte_entitlement.adapters.tables import denials, grants, suspensions, usage
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.projection import CustomerRef, CustomerState, Usage
from azotte_entitlement.domain.suspension import Suspension
from azotte_platform.db.tables import inbox

_USAGE = insert(usage)
_RECORD_USAGE = _USAGE.on_conflict_do_update(
    index_elements=[usage.c.tenant_id, usage.c.customer_id, usage.c.feature_key],
    set_={
        "used": _USAGE.excluded.used,
        "period_start": _USAGE.excluded.period_start,
        "period_end": _USAGE.excluded.period_end,
    },
    where=sa.or_(
        _USAGE.excluded.period_start > usage.c.period_start,
        sa.and_(
            _USAGE.excluded.period_start == usage.c.period_start,
            sa.or_(
                _USAGE.excluded.used > usage.c.used,
                sa.and_(
                    _USAGE.excluded.used == usage.c.used,
                    _USAGE.excluded.period_end.is_distinct_from(usage.c.period_end),
                ),
            ),
        ),
    ),
).returning(usage.c.used)
"""Keep the newer of a stored and a reported usage (`Usage.replaced_by`), every column a parameter (built once)."""


# NOTE: the statements of every access reload are built once: building one costs more than running it.
_HANDLED = sa.select(inbox.c.event_id).where(
    inbox.c.consumer == sa.bindparam("consumer"), inbox.c.event_id.in_(sa.bindparam("event_ids", expanding=True))
)
_OF_CUSTOMERS = {
    table.name: sa.select(table).where(
        sa.tuple_(table.c.tenant_id, table.c.customer_id).in_(sa.bindparam("customers", expanding=True))
    )
    for table in (grants, denials, suspensions, usage)
}


class PostgresAccessRepository:
    """Suspensions, usage, and the stored state behind the projection (`ports.AccessRepository`)."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> Suspension | None:
        row = (
            await self._connection.execute(
                sa.select(suspensions).where(
                    suspensions.c.tenant_id == tenant_id,
                    suspensions.c.customer_id == customer_id,
                    suspensions.c.feature_key == feature_key,
                )
            )
        ).first()
        return Suspension(row.feature_key, row.reason, row.suspended_at) if row is not None else None

    async def handled_events(self, consumer: str, event_ids: Collection[str]) -> set[str]:
        rows = await self._connection.execute(_HANDLED, {"consumer": consumer, "event_ids": list(event_ids)})
        return {row.event_id for row in rows}

    async def put_suspension(self, tenant_id: str, customer_id: str, suspension: Suspension) -> None:
        await self._connection.execute(
            insert(suspensions)
            .values(
                tenant_id=tenant_id,
                customer_id=customer_id,
                feature_key=suspension.feature_key,
                reason=suspension.reason,
                suspended_at=suspension.suspended_at,
            )
            .on_conflict_do_nothing()
        )

    async def delete_suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> None:
        await self._connection.execute(
            sa.delete(suspensions).where(
                suspensions.c.tenant_id == tenant_id,
                suspensions.c.customer_id == customer_id,
                suspensions.c.feature_key == feature_key,
            )
        )

    async def record_usage(
        self,
        tenant_id: str,
        customer_id: str,
        feature_key: str,
        used: int,
        period_start: datetime,
        period_end: datetime | None,
    ) -> bool:
        """Keep the newest period's usage; within a period the highest total (reports may arrive out of order),
        with the end reported with it."""
        kept = await self._connection.execute(
            _RECORD_USAGE,
            {
                "tenant_id": tenant_id,
                "customer_id": customer_id,
                "feature_key": feature_key,
                "used": used,
                "period_start": period_start,
                "period_end": period_end,
            },
        )
        return kept.first() is not None

    async def load(self, customers: Collection[CustomerRef] | None = None) -> dict[CustomerRef, CustomerState]:
        """Stored access state of the given customers (every customer when None)."""
        states: dict[CustomerRef, CustomerState] = {}

        def state_of(tenant_id: str, customer_id: str) -> CustomerState:
            return states.setdefault((tenant_id, customer_id), CustomerState())

        if customers is not None:
            for ref in customers:
                state_of(*ref)
        for row in await self._scoped(grants, customers):
            state_of(row.tenant_id, row.customer_id).grants.append(grant_from_row(row))
        for row in await self._scoped(denials, customers):
            state_of(row.tenant_id, row.customer_id).why_not[row.feature_key] = AccessReason(row.reason)
        for row in await self._scoped(suspensions, customers):
            state_of(row.tenant_id, row.customer_id).suspensions.append(
                Suspension(row.feature_key, row.reason, row.suspended_at)
            )
        for row in await self._scoped(usage, customers):
            usage_of = state_of(row.tenant_id, row.customer_id).usage
            usage_of[row.feature_key] = Usage(row.used, row.period_start, row.period_end)
        return states

    async def _scoped(self, table: sa.Table, customers: Collection[CustomerRef] | None) -> sa.CursorResult[Any]:
        """`table`'s rows of the given customers (every customer's when None)."""
        if customers is None:
            return await self._connection.execute(sa.select(table))
        return await self._connection.execute(_OF_CUSTOMERS[table.name], {"customers": list(customers)})
