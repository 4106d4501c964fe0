"""Meters on PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.tables import meters
from azotte_metering.domain.meters import Aggregation, Meter, QuotaFeature
from azotte_metering.errors import MeterExists
from azotte_metering.ports import MeterQuery

_COMPARE = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


def _row(meter: Meter) -> dict[str, Any]:
    return {
        "tenant_id": meter.tenant_id,
        "key": meter.key,
        "display_name": meter.display_name,
        "event_type": meter.event_type,
        "value_path": meter.value_path,
        "aggregation": meter.aggregation.value,
        "dimensions": list(meter.dimensions),
        "created_at": meter.created_at,
        "updated_at": meter.updated_at,
        "quota_features": [
            {"feature_key": quota.feature_key, "dimensions": dict(quota.dimensions)} for quota in meter.quota_features
        ],
    }


def _quota_features(stored: list[dict[str, Any]]) -> tuple[QuotaFeature, ...]:
    """The quota features of a meter as its `quota_features` column keeps them."""
    return tuple(QuotaFeature.of(item["feature_key"], item["dimensions"]) for item in stored)


def _meter(row: Any) -> Meter:
    return Meter(
        tenant_id=row.tenant_id,
        key=row.key,
        display_name=row.display_name,
        event_type=row.event_type,
        value_path=row.value_path,
        aggregation=Aggregation(row.aggregation),
        dimensions=tuple(row.dimensions),
        created_at=row.created_at,
        updated_at=row.updated_at,
        quota_features=_quota_features(row.quota_features),
    )


class PostgresMeterRepository:
    """`ports.MeterRepository` over the unit of work's connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, meter: Meter) -> None:
        inserted = await self._connection.execute(
            insert(meters).values(_row(meter)).on_conflict_do_nothing().returning(meters.c.key)
        )
        if inserted.first() is None:
            raise MeterExists(f"meter {meter.key!r} already exists")

    async def get(self, tenant_id: str, key: str) -> Meter | None:
        statement = sa.select(meters).where(meters.c.tenant_id == tenant_id, meters.c.key == key)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _meter(row)

    async def save(self, meter: Meter) -> None:
        values = _row(meter)
        await self._connection.execute(
            sa.update(meters)
            .where(meters.c.tenant_id == meter.tenant_id, meters.c.key == meter.key)
            .values({name: value for name, value in values.items() if name not in ("tenant_id", "key", "created_at")})
        )

    async def find(self, tenant_id: str, query: MeterQuery, limit: int, after: str | None) -> list[Meter]:
        statement = sa.select(meters).where(meters.c.tenant_id == tenant_id)
        if query.event_type is not None:
            statement = statement.where(meters.c.event_type == query.event_type)
        if query.aggregation is not None:
            statement = statement.where(meters.c.aggregation == query.aggregation.value)
        for op, moment in query.created:
            statement = statement.where(_COMPARE[op](meters.c.created_at, moment))
        if after is not None:
            statement = statement.where(meters.c.key < after if query.descending else meters.c.key > after)
        order = meters.c.key.desc() if query.descending else meters.c.key
        rows = await self._connection.execute(statement.order_by(order).limit(limit))
        return [_meter(row) for row in rows]

    async def of_types(self, tenant_id: str, event_types: Collection[str]) -> list[Meter]:
        rows = await self._connection.execute(
            sa.select(meters).where(
                meters.c.tenant_id == tenant_id,
                meters.c.event_type == sa.any_(sa.bindparam("event_types", list(event_types), type_=ARRAY(sa.Text))),
            )
        )
        return [_meter(row) for row in rows]

    async def with_quota_features(self, tenant_id: str) -> list[Meter]:
        rows = await self._connection.execute(_WITH_QUOTA_FEATURES, {"tenant_id": tenant_id})
        return [_meter(row) for row in rows]


_WITH_QUOTA_FEATURES = sa.select(meters).where(
    meters.c.tenant_id == sa.bindparam("tenant_id"), meters.c.quota_features != sa.text("'[]'::jsonb")
)
"""The tenant's meters measuring at least one quota feature."""
