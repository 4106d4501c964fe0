"""Limits with where each stands in its period (`billing_ports.LimitRepository`) over `usage_limits`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.tables import usage_limits
from azotte_metering.domain.limits import Limit, LimitState, Measure, Policy

_L = usage_limits.c
_OF_CUSTOMERS = (
    sa.select(usage_limits)
    .where(
        _L.tenant_id == sa.bindparam("tenant_id"),
        _L.customer_id == sa.any_(sa.bindparam("customer_ids", type_=ARRAY(sa.Text))),
    )
    .order_by(_L.customer_id, _L.limit_id)
)


class PostgresLimitRepository:
    """`billing_ports.LimitRepository`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def put(self, tenant_id: str, limit: Limit, state: LimitState, now: datetime) -> None:
        values = {
            "customer_id": limit.customer_id,
            "feature_key": limit.feature_key,
            "measure": limit.measure.value,
            "value": limit.value,
            "policy": limit.policy.value,
            "meter_key": limit.meter_key,
            "currency_code": limit.currency_code,
            "alert_percents": list(limit.alert_percents),
            "downgrade_plan_id": limit.downgrade_plan_id,
            **_state_values(state),
            "updated_at": now,
        }
        statement = insert(usage_limits).values(tenant_id=tenant_id, limit_id=limit.limit_id, created_at=now, **values)
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=[_L.tenant_id, _L.limit_id], set_=values)
        )

    async def get(self, tenant_id: str, limit_id: str) -> tuple[Limit, LimitState] | None:
        row = (
            await self._conn.execute(sa.select(usage_limits).where(_L.tenant_id == tenant_id, _L.limit_id == limit_id))
        ).first()
        return None if row is None else _pair(row)

    async def delete(self, tenant_id: str, limit_id: str) -> None:
        await self._conn.execute(sa.delete(usage_limits).where(_L.tenant_id == tenant_id, _L.limit_id == limit_id))

    async def of_customers(
        self, tenant_id: str, customer_ids: Sequence[str]
    ) -> dict[str, list[tuple[Limit, LimitState]]]:
        rows = await self._conn.execute(_OF_CUSTOMERS, {"tenant_id": tenant_id, "customer_ids": list(customer_ids)})
        found: dict[str, list[tuple[Limit, LimitState]]] = {}
        for row in rows:
            found.setdefault(row.customer_id, []).append(_pair(row))
        return found

    async def save_state(self, tenant_id: str, limit_id: str, state: LimitState, now: datetime) -> None:
        await self._conn.execute(
            sa.update(usage_limits)
            .where(_L.tenant_id == tenant_id, _L.limit_id == limit_id)
            .values(**_state_values(state), updated_at=now)
        )


def _state_values(state: LimitState) -> dict[str, Any]:
    return {
        "period_key": state.period_key,
        "alerted": sorted(state.alerted),
        "cut_off": state.cut_off,
        "downgraded": state.downgraded,
    }


def _pair(row: Any) -> tuple[Limit, LimitState]:
    limit = Limit(
        row.limit_id,
        row.customer_id,
        row.feature_key,
        Measure(row.measure),
        row.value,
        Policy(row.policy),
        row.meter_key,
        row.currency_code,
        tuple(row.alert_percents),
        row.downgrade_plan_id,
    )
    return limit, LimitState(row.period_key, frozenset(row.alerted), row.cut_off, row.downgraded)
