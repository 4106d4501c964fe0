"""Promotions: the definition as JSONB, the columns lists filter and sort on, and the live counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.enums import Channel
from azotte_promotions.adapters.tables import promotion_budgets, promotions
from azotte_promotions.domain.eligibility import Usage
from azotte_promotions.domain.promotion import (
    Definition,
    Discount,
    DiscountDuration,
    DiscountKind,
    Eligibility,
    Limits,
    Promotion,
    PromotionState,
    PromotionText,
    Targets,
)
from azotte_promotions.domain.store_offers import StoreOffers
from azotte_promotions.errors import PromotionExists, PromotionVersionMismatch
from azotte_promotions.ports import PromotionQuery

_OPS = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
# NOTE: the state a literal, not a parameter, so that the planner proves the partial index promotions_automatic_active.
_ACTIVE_AUTOMATIC = (
    sa.select(promotions)
    .where(
        promotions.c.tenant_id == sa.bindparam("tenant_id"),
        promotions.c.automatic,
        promotions.c.state == sa.literal_column(f"'{PromotionState.ACTIVE.value}'"),
    )
    .order_by(promotions.c.created_at, promotions.c.id)
)


class PostgresPromotionRepository:
    """`ports.PromotionRepository` over `promotions` and `promotion_budgets`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, promotion: Promotion) -> None:
        inserted = await self._conn.execute(
            insert(promotions).values(**_row(promotion)).on_conflict_do_nothing().returning(promotions.c.id)
        )
        if inserted.first() is None:
            raise PromotionExists(f"a promotion with id {promotion.id!r} already exists")
        await self._budgets(promotion)

    async def get(self, tenant_id: str, promotion_id: str, *, for_update: bool = False) -> Promotion | None:
        c = promotions.c
        select = sa.select(promotions).where(c.tenant_id == tenant_id, c.id == promotion_id)
        if for_update:
            # NOTE: FOR NO KEY UPDATE: reservations of one promotion take their counts one after the other.
            select = select.with_for_update(key_share=True)
        row = (await self._conn.execute(select)).first()
        return None if row is None else _promotion(row)

    async def active_automatic(self, tenant_id: str) -> list[Promotion]:
        return [_promotion(row) for row in await self._conn.execute(_ACTIVE_AUTOMATIC, {"tenant_id": tenant_id})]

    async def find_by_store_offer(self, tenant_id: str, channel: Channel, offer_id: str) -> Promotion | None:
        c = promotions.c
        field = "app_store_offer_id" if channel is Channel.APP_STORE else "google_play_offer_id"
        select = (
            sa.select(promotions)
            .where(c.tenant_id == tenant_id, c.definition["store_offers"][field].astext == offer_id)
            .order_by(c.created_at.desc())
            .limit(1)
        )
        row = (await self._conn.execute(select)).first()
        return None if row is None else _promotion(row)

    async def save(self, promotion: Promotion, expected_version: int) -> None:
        c = promotions.c
        values = _row(promotion)
        for key in ("tenant_id", "id", "created_at"):
            values.pop(key)
        updated = await self._conn.execute(
            sa.update(promotions)
            .where(c.tenant_id == promotion.tenant_id, c.id == promotion.id, c.version == expected_version)
            .values(**values)
            .returning(c.id)
        )
        if updated.first() is None:
            raise PromotionVersionMismatch(f"promotion {promotion.id!r} changed meanwhile; read it again and retry")
        await self._budgets(promotion)

    async def usage(self, tenant_id: str, promotion_ids: Sequence[str]) -> dict[str, Usage]:
        if not promotion_ids:
            return {}
        c, b = promotions.c, promotion_budgets.c
        # NOTE: one round trip: a row per promotion and currency (the currency NULL without a budget row).
        rows = await self._conn.execute(
            sa.select(c.id, c.reserved_count, c.confirmed_count, b.currency_code, b.reserved_minor, b.confirmed_minor)
            .select_from(
                promotions.outerjoin(promotion_budgets, sa.and_(b.tenant_id == c.tenant_id, b.promotion_id == c.id))
            )
            .where(c.tenant_id == tenant_id, c.id.in_(list(promotion_ids)))
        )
        found: dict[str, Usage] = {}
        for row in rows:
            usage = found.setdefault(row.id, Usage(row.reserved_count, row.confirmed_count, {}, {}))
            if row.currency_code is not None:
                usage.reserved_minor[row.currency_code] = row.reserved_minor
                usage.confirmed_minor[row.currency_code] = row.confirmed_minor
        return found

    async def find(
        self, tenant_id: str, limit: int, *, query: PromotionQuery, after: Sequence[str] | None = None
    ) -> list[Promotion]:
        c = promotions.c
        column = {"updated_at": c.updated_at, "display_name": c.display_name}.get(query.order_by, c.created_at)
        select = sa.select(promotions).where(c.tenant_id == tenant_id).limit(limit)
        select = select.order_by(column.desc(), c.id.desc()) if query.descending else select.order_by(column, c.id)
        if after is not None:
            last: Any = after[0] if column is c.display_name else datetime.fromisoformat(after[0])
            key, other = sa.tuple_(column, c.id), sa.tuple_(sa.literal(last, column.type), sa.literal(after[1]))
            select = select.where(key < other if query.descending else key > other)
        if query.state is not None:
            select = select.where(c.state == query.state.value)
        if query.stackable is not None:
            select = select.where(c.stackable == query.stackable)
        if query.automatic is not None:
            select = select.where(c.automatic == query.automatic)
        if query.discount_kind is not None:
            select = select.where(c.discount_kind == query.discount_kind.value)
        for bound in query.created:
            select = select.where(getattr(c.created_at, _OPS[bound.op])(bound.at))
        return [_promotion(row) for row in await self._conn.execute(select)]

    async def _budgets(self, promotion: Promotion) -> None:
        """Keep each currency's budget row in step with the definition (counts are kept; no budget: NULL)."""
        b = promotion_budgets.c
        budgets = promotion.definition.limits.budgets
        await self._conn.execute(
            sa.update(promotion_budgets)
            .where(
                b.tenant_id == promotion.tenant_id,
                b.promotion_id == promotion.id,
                b.currency_code.not_in(list(budgets)),
            )
            .values(budget_minor=None)
        )
        for currency, budget in budgets.items():
            statement = insert(promotion_budgets).values(
                tenant_id=promotion.tenant_id, promotion_id=promotion.id, currency_code=currency, budget_minor=budget
            )
            await self._conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[b.tenant_id, b.promotion_id, b.currency_code],
                    set_={"budget_minor": statement.excluded.budget_minor},
                )
            )


def _row(promotion: Promotion) -> dict[str, Any]:
    d = promotion.definition
    return {
        "tenant_id": promotion.tenant_id,
        "id": promotion.id,
        "state": promotion.state.value,
        "version": promotion.version,
        "display_name": d.display_name,
        "discount_kind": d.discount.kind.value,
        "stackable": d.stackable,
        "automatic": d.automatic,
        "definition": definition_to_json(d),
        "max_redemptions": d.limits.max_redemptions,
        "created_at": promotion.created_at,
        "updated_at": promotion.updated_at,
    }


def _promotion(row: Any) -> Promotion:
    return Promotion(
        row.tenant_id,
        row.id,
        definition_from_json(row.definition),
        PromotionState(row.state),
        row.version,
        row.created_at,
        row.updated_at,
    )


def definition_to_json(d: Definition) -> dict[str, Any]:
    """The stored form of a definition."""
    return {
        "display_name": d.display_name,
        "description": d.description,
        "discount": {
            "kind": d.discount.kind.value,
            "percent_basis_points": d.discount.percent_basis_points,
            "amounts": d.discount.amounts,
            "trial_days": d.discount.trial_days,
            "duration": d.discount.duration.value,
            "duration_periods": d.discount.duration_periods,
        },
        "targets": {
            "plan_ids": sorted(d.targets.plan_ids),
            "product_lines": sorted(d.targets.product_lines),
            "storefront_ids": sorted(d.targets.storefront_ids),
            "channels": sorted(c.value for c in d.targets.channels),
        },
        "start_at": d.start_at.isoformat() if d.start_at else None,
        "end_at": d.end_at.isoformat() if d.end_at else None,
        "limits": {
            "max_redemptions": d.limits.max_redemptions,
            "max_per_customer": d.limits.max_per_customer,
            "budgets": d.limits.budgets,
        },
        "eligibility": {
            "new_customers_only": d.eligibility.new_customers_only,
            "minimum_amounts": d.eligibility.minimum_amounts,
            "country_codes": sorted(d.eligibility.country_codes),
            "required_plan_ids": sorted(d.eligibility.required_plan_ids),
            "excluded_plan_ids": sorted(d.eligibility.excluded_plan_ids),
            "segment_ids": sorted(d.eligibility.segment_ids),
        },
        "stackable": d.stackable,
        "automatic": d.automatic,
        "store_offers": asdict(d.store_offers),
        "texts": [
            {
                "locale": t.locale,
                "display_name": t.display_name,
                "description": t.description,
                "disclosure": t.disclosure,
            }
            for t in d.texts
        ],
    }


def definition_from_json(data: dict[str, Any]) -> Definition:
    discount, targets, limits, rules = data["discount"], data["targets"], data["limits"], data["eligibility"]
    return Definition(
        display_name=data["display_name"],
        description=data["description"],
        discount=Discount(
            DiscountKind(discount["kind"]),
            discount["percent_basis_points"],
            dict(discount["amounts"]),
            discount["trial_days"],
            DiscountDuration(discount["duration"]),
            discount["duration_periods"],
        ),
        targets=Targets(
            frozenset(targets["plan_ids"]),
            frozenset(targets["product_lines"]),
            frozenset(targets["storefront_ids"]),
            frozenset(Channel(c) for c in targets["channels"]),
        ),
        start_at=datetime.fromisoformat(data["start_at"]) if data["start_at"] else None,
        end_at=datetime.fromisoformat(data["end_at"]) if data["end_at"] else None,
        limits=Limits(limits["max_redemptions"], limits["max_per_customer"], dict(limits["budgets"])),
        eligibility=Eligibility(
            rules["new_customers_only"],
            dict(rules["minimum_amounts"]),
            frozenset(rules["country_codes"]),
            frozenset(rules["required_plan_ids"]),
            frozenset(rules["excluded_plan_ids"]),
            frozenset(rules["segment_ids"]),
        ),
        stackable=data["stackable"],
        automatic=data.get("automatic", False),
        texts=tuple(PromotionText(**text) for text in data.get("texts", ())),
        store_offers=StoreOffers(**data.get("store_offers", {})),
    )
