"""Usage prices (`billing_ports.UsagePriceRepository`) over `usage_prices`, with their models as JSON of strings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.tables import meters, usage_prices
from azotte_metering.domain.charges import dimensions_key
from azotte_metering.domain.pricing import Percentage, PriceModel, PricingModel, Tier, UsagePrice

_P = usage_prices.c
_OF_PLAN = sa.select(usage_prices).where(
    _P.tenant_id == sa.bindparam("tenant_id"),
    _P.storefront_id == sa.bindparam("storefront_id"),
    _P.plan_id == sa.bindparam("plan_id"),
)
_OF_PLAN_METER = _OF_PLAN.where(_P.meter_key == sa.bindparam("meter_key"))


def model_to_json(price: PriceModel) -> dict[str, Any]:
    """A price model's parameters, every amount a decimal string."""
    percentage = price.percentage
    return {
        "unit_price": str(price.unit_price),
        "package_size": price.package_size,
        "included_units": str(price.included_units),
        "tiers": [
            {
                "up_to": None if t.up_to is None else str(t.up_to),
                "unit_price": str(t.unit_price),
                "flat_fee": str(t.flat_fee),
            }
            for t in price.tiers
        ],
        "percentage": None
        if percentage is None
        else {
            "rate": str(percentage.rate),
            "fixed_fee": str(percentage.fixed_fee),
            "min": None if percentage.min_per_transaction is None else str(percentage.min_per_transaction),
            "max": None if percentage.max_per_transaction is None else str(percentage.max_per_transaction),
        },
    }


def model_from_json(model: str, data: dict[str, Any]) -> PriceModel:
    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    percentage = data.get("percentage")
    return PriceModel(
        PricingModel(model),
        unit_price=Decimal(data["unit_price"]),
        package_size=int(data["package_size"]),
        tiers=tuple(
            Tier(dec(t["up_to"]), Decimal(t["unit_price"]), Decimal(t["flat_fee"])) for t in data.get("tiers", [])
        ),
        percentage=None
        if percentage is None
        else Percentage(
            Decimal(percentage["rate"]),
            Decimal(percentage["fixed_fee"]),
            dec(percentage["min"]),
            dec(percentage["max"]),
        ),
        included_units=Decimal(data["included_units"]),
    )


class PostgresUsagePriceRepository:
    """`billing_ports.UsagePriceRepository`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def put(self, tenant_id: str, price: UsagePrice, now: datetime) -> None:
        values = {
            "tenant_id": tenant_id,
            "storefront_id": price.storefront_id,
            "plan_id": price.plan_id,
            "meter_key": price.meter_key,
            "dimensions_key": dimensions_key(price.dimensions),
            "dimensions": dict(price.dimensions),
            "currency_code": price.currency_code,
            "model": price.price.model.value,
            "definition": model_to_json(price.price),
            "created_at": now,
            "updated_at": now,
        }
        statement = insert(usage_prices).values(**values)
        changed = {name: statement.excluded[name] for name in ("dimensions", "currency_code", "model", "definition")}
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[_P.tenant_id, _P.storefront_id, _P.plan_id, _P.meter_key, _P.dimensions_key],
                set_={**changed, "updated_at": now},
            )
        )

    async def delete(
        self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str, dimensions: Mapping[str, str]
    ) -> bool:
        result = await self._conn.execute(
            sa.delete(usage_prices)
            .where(
                _P.tenant_id == tenant_id,
                _P.storefront_id == storefront_id,
                _P.plan_id == plan_id,
                _P.meter_key == meter_key,
                _P.dimensions_key == dimensions_key(dimensions),
            )
            .returning(_P.meter_key)
        )
        return result.first() is not None

    async def of_plan(self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str = "") -> list[UsagePrice]:
        key = {"tenant_id": tenant_id, "storefront_id": storefront_id, "plan_id": plan_id, "meter_key": meter_key}
        return [
            UsagePrice(
                row.storefront_id,
                row.plan_id,
                row.meter_key,
                row.currency_code,
                model_from_json(row.model, row.definition),
                row.dimensions,
            )
            for row in await self._conn.execute(_OF_PLAN_METER if meter_key else _OF_PLAN, key)
        ]

    async def meter_aggregation(self, tenant_id: str, meter_key: str) -> str | None:
        row = (
            await self._conn.execute(
                sa.select(meters.c.aggregation).where(meters.c.tenant_id == tenant_id, meters.c.key == meter_key)
            )
        ).first()
        return None if row is None else str(row.aggregation)
