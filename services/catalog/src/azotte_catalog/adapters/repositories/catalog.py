"""The catalog repository over PostgreSQL: a tenant's whole catalog in and out of rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_catalog.adapters.tables import catalog_settings, channel_mappings, features, plans, prices, storefronts
from azotte_catalog.domain.branding import Branding
from azotte_catalog.domain.catalog import Catalog, StoredCatalog, Times
from azotte_catalog.domain.feature import Feature, FeatureKind, ResetPeriod
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import BillingInterval, FeatureGrant, IntervalUnit, Plan, PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, Price, PriceKey
from azotte_catalog.domain.storefront import (
    PaymentRouting,
    RoutingCondition,
    RoutingRule,
    Storefront,
    TaxMode,
    TaxPolicy,
)
from azotte_catalog.domain.texts import DEFAULT_LOCALE, LocalizedText, Texts, texts_of
from azotte_catalog.ports import DuePrice
from azotte_platform.clock import TenantTimes
from azotte_platform.db.tenant_time import own_now
from azotte_platform.enums import Channel


class PostgresCatalogRepository:
    """Reads and writes one service database's catalog rows; every statement is tenant-scoped."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def lock_tenant(self, tenant_id: str) -> None:
        """Serialise writers of one tenant's catalog until the transaction ends."""
        await self._connection.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("catalog:" + tenant_id, 0)))
        )

    async def load(self, tenant_id: str) -> StoredCatalog:
        """The tenant's whole catalog, price history included."""
        times: dict[tuple[str, str], Times] = {}

        async def rows(table: sa.Table) -> Sequence[sa.Row[Any]]:
            result = await self._connection.execute(sa.select(table).where(table.c.tenant_id == tenant_id))
            return result.all()

        sf_rows, feature_rows, plan_rows, price_rows, mapping_rows = (
            await rows(storefronts),
            await rows(features),
            await rows(plans),
            await rows(prices),
            await rows(channel_mappings),
        )
        for kind, id_of, table_rows in (
            ("storefront", lambda r: r.id, sf_rows),
            ("feature", lambda r: r.key, feature_rows),
            ("plan", lambda r: r.id, plan_rows),
            ("channel_mapping", lambda r: f"{r.channel}:{r.external_product_id}", mapping_rows),
        ):
            for row in table_rows:
                times[(kind, id_of(row))] = (row.create_time, row.update_time)
        default_locale = await self._connection.scalar(
            sa.select(catalog_settings.c.default_locale).where(catalog_settings.c.tenant_id == tenant_id)
        )
        catalog = Catalog(
            storefronts=tuple(_storefront(r) for r in sorted(sf_rows, key=lambda r: r.id)),
            features=tuple(_feature(r) for r in sorted(feature_rows, key=lambda r: r.key)),
            plans=tuple(_plan(r) for r in sorted(plan_rows, key=lambda r: r.id)),
            prices=tuple(_price(r) for r in sorted(price_rows, key=lambda r: r.id)),
            mappings=tuple(_mapping(r) for r in mapping_rows),
            default_locale=default_locale or DEFAULT_LOCALE,
        )
        return StoredCatalog(catalog, times)

    async def save_default_locale(self, tenant_id: str, locale: str, now: datetime) -> None:
        """Set the locale of the catalog's own names."""
        await self._upsert(catalog_settings, ["tenant_id"], tenant_id, now, {"default_locale": locale})

    async def save_storefront(self, tenant_id: str, storefront: Storefront, now: datetime) -> None:
        """Insert or update a storefront."""
        await self._upsert(storefronts, ["tenant_id", "id"], tenant_id, now, _storefront_row(storefront))

    async def save_feature(self, tenant_id: str, feature: Feature, now: datetime) -> None:
        """Insert or update a feature."""
        row = {
            "key": feature.key,
            "name": feature.name,
            "kind": str(feature.kind),
            "unit": feature.unit,
            "reset_period": None if feature.reset_period is None else str(feature.reset_period),
            "texts": _texts_row(feature.texts),
        }
        await self._upsert(features, ["tenant_id", "key"], tenant_id, now, row)

    async def save_plan(self, tenant_id: str, plan: Plan, now: datetime) -> None:
        """Insert or update a plan."""
        row = {
            "id": plan.id,
            "name": plan.name,
            "family": plan.family,
            "rank": plan.rank,
            "interval_unit": str(plan.interval.unit),
            "interval_count": plan.interval.count,
            "trial_days": plan.trial_days,
            "grants": [{"key": g.feature_key, "limit": g.limit} for g in plan.grants],
            "is_add_on": plan.is_add_on,
            "add_on_ids": list(plan.add_on_ids),
            "status": str(plan.status),
            "texts": _texts_row(plan.texts),
        }
        await self._upsert(plans, ["tenant_id", "id"], tenant_id, now, row)

    async def save_mapping(self, tenant_id: str, mapping: ChannelMapping, now: datetime) -> None:
        """Insert or update a channel product mapping."""
        row = {
            "channel": str(mapping.channel),
            "external_product_id": mapping.external_product_id,
            "plan_id": mapping.plan_id,
            "storefront_id": mapping.storefront_id,
        }
        await self._upsert(channel_mappings, ["tenant_id", "channel", "external_product_id"], tenant_id, now, row)

    async def add_price(self, tenant_id: str, price: Price, activated_at: datetime | None) -> None:
        """Store a new price version (versions are never changed afterwards)."""
        await self._connection.execute(
            prices.insert().values(
                tenant_id=tenant_id,
                id=price.id,
                plan_id=price.key.plan_id,
                storefront_id=price.key.storefront_id,
                channel=price.key.channel or "",
                amount_minor=price.amount_minor,
                currency=price.currency,
                effective_from=price.effective_from,
                scheduled_at=price.scheduled_at,
                existing_subscribers=str(price.existing_subscribers),
                activated_at=activated_at,
            )
        )

    async def delete_price(self, tenant_id: str, price_id: str) -> None:
        """Remove a price version not yet activated (one withdrawn before it takes effect)."""
        await self._connection.execute(
            sa.delete(prices).where(
                prices.c.tenant_id == tenant_id, prices.c.id == price_id, prices.c.activated_at.is_(None)
            )
        )

    async def claim_due_prices(self, times: TenantTimes, limit: int) -> list[DuePrice]:
        """Lock up to `limit` prices that took effect by their tenant's now and are not activated yet.

        NOTE: SKIP LOCKED lets several replicas activate side by side; a row is claimed by one of them.
        """
        c = prices.c
        due_by_own_now = c.effective_from <= own_now(times, c.tenant_id)
        result = await self._connection.execute(
            sa.select(prices)
            # NOTE: `effective_from <= latest` keeps the pending index's range scan; each tenant's now filters after it.
            .where(c.activated_at.is_(None), c.effective_from <= _at(times.latest), due_by_own_now)
            .order_by(c.effective_from, c.tenant_id, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [DuePrice(row.tenant_id, _price(row)) for row in result.all()]

    async def mark_activated(self, tenant_id: str, price_id: str, now: datetime) -> None:
        """Record that a price's activation was announced."""
        await self._connection.execute(
            sa.update(prices).where(prices.c.tenant_id == tenant_id, prices.c.id == price_id).values(activated_at=now)
        )

    async def previous_version(self, tenant_id: str, price: Price) -> str:
        """The id of the version of the same key in effect before `price` ('' for the first one)."""
        result = await self._connection.execute(
            sa.select(prices.c.id)
            .where(
                prices.c.tenant_id == tenant_id,
                prices.c.plan_id == price.key.plan_id,
                prices.c.storefront_id == price.key.storefront_id,
                prices.c.channel == (price.key.channel or ""),
                prices.c.effective_from < price.effective_from,
            )
            .order_by(prices.c.effective_from.desc())
            .limit(1)
        )
        return result.scalar_one_or_none() or ""

    async def next_activation_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the earliest pending price takes effect by its tenant's now (None: nothing pending)."""
        c = prices.c
        pending = sa.select(c.effective_from).where(c.activated_at.is_(None))
        if not times.offsets:
            earliest: datetime | None = await self._connection.scalar(
                sa.select(sa.func.min(c.effective_from)).where(c.activated_at.is_(None))
            )
            return None if earliest is None else earliest - times.base
        # NOTE: the earliest of: the tenants on the base time, and each tenant whose clock moved (by its own now).
        on_base = pending.where(c.tenant_id.not_in(list(times.offsets))).with_only_columns(
            sa.func.min(c.effective_from) - _at(times.base)
        )
        moved = [
            pending.where(c.tenant_id == t).with_only_columns(sa.func.min(c.effective_from) - _at(times.of(t)))
            for t in times.offsets
        ]
        wait: timedelta | None = await self._connection.scalar(
            sa.select(sa.func.least(*(q.scalar_subquery() for q in (on_base, *moved))))
        )
        return wait

    async def _upsert(
        self, table: sa.Table, key: list[str], tenant_id: str, now: datetime, row: dict[str, Any]
    ) -> None:
        values = {"tenant_id": tenant_id, **row, "create_time": now, "update_time": now}
        changes = {name: value for name, value in values.items() if name not in (*key, "create_time")}
        await self._connection.execute(
            insert(table).values(**values).on_conflict_do_update(index_elements=key, set_=changes)
        )


def _storefront_row(sf: Storefront) -> dict[str, Any]:
    return {
        "id": sf.id,
        "name": sf.name,
        "country": sf.country,
        "currency": sf.currency,
        "locales": list(sf.locales),
        "channels": sorted(str(c) for c in sf.channels),
        "tax_mode": str(sf.tax.mode),
        "tax_rate": str(sf.tax.rate),
        "payment_routing": {
            "rules": [
                {
                    "psps": list(rule.psps),
                    "currencies": list(rule.condition.currencies),
                    "countries": list(rule.condition.countries),
                    "payment_method_types": list(rule.condition.payment_method_types),
                    "min_amount_minor": rule.condition.min_amount_minor,
                    "max_amount_minor": rule.condition.max_amount_minor,
                }
                for rule in sf.routing.rules
            ],
            "fallback": list(sf.routing.fallback),
            "store_commission": {str(channel): str(rate) for channel, rate in sf.routing.store_commission},
        },
        "price_increase_notice_days": sf.price_increase_notice_days,
        "price_increase_consent_required": sf.price_increase_consent_required,
        "branding": sf.branding.as_dict(),
        "disclosure_required": sf.disclosure_required,
    }


def _texts_row(texts: Texts) -> dict[str, Any]:
    return {
        tag: {"name": t.name, "description": t.description, "bullets": list(t.bullets), "disclosure": t.disclosure}
        for tag, t in texts
    }


def _texts(row: dict[str, Any]) -> Texts:
    return texts_of(
        {
            tag: LocalizedText(t["name"], t["description"], tuple(t["bullets"]), t["disclosure"])
            for tag, t in row.items()
        }
    )


def _storefront(row: sa.Row[Any]) -> Storefront:
    routing = row.payment_routing
    rules = tuple(
        RoutingRule(
            psps=tuple(rule["psps"]),
            condition=RoutingCondition(
                currencies=tuple(rule["currencies"]),
                countries=tuple(rule["countries"]),
                payment_method_types=tuple(rule["payment_method_types"]),
                min_amount_minor=rule["min_amount_minor"],
                max_amount_minor=rule["max_amount_minor"],
            ),
        )
        for rule in routing["rules"]
    )
    return Storefront(
        id=row.id,
        name=row.name,
        country=row.country,
        currency=row.currency,
        tax=TaxPolicy(TaxMode(row.tax_mode), Decimal(row.tax_rate)),
        locales=tuple(row.locales),
        channels=frozenset(Channel(c) for c in row.channels),
        routing=PaymentRouting(
            rules=rules,
            fallback=tuple(routing["fallback"]),
            # NOTE: storefronts stored before store commissions existed have none.
            store_commission=tuple(
                (Channel(channel), Decimal(rate)) for channel, rate in routing.get("store_commission", {}).items()
            ),
        ),
        price_increase_notice_days=row.price_increase_notice_days,
        price_increase_consent_required=row.price_increase_consent_required,
        branding=Branding(**row.branding),
        disclosure_required=row.disclosure_required,
    )


def _feature(row: sa.Row[Any]) -> Feature:
    return Feature(
        key=row.key,
        name=row.name,
        kind=FeatureKind(row.kind),
        unit=row.unit,
        reset_period=None if row.reset_period is None else ResetPeriod(row.reset_period),
        texts=_texts(row.texts),
    )


def _plan(row: sa.Row[Any]) -> Plan:
    return Plan(
        id=row.id,
        name=row.name,
        family=row.family,
        rank=row.rank,
        interval=BillingInterval(IntervalUnit(row.interval_unit), row.interval_count),
        trial_days=row.trial_days,
        grants=tuple(FeatureGrant(g["key"], g["limit"]) for g in row.grants),
        is_add_on=row.is_add_on,
        add_on_ids=tuple(row.add_on_ids),
        status=PlanStatus(row.status),
        texts=_texts(row.texts),
    )


def _price(row: sa.Row[Any]) -> Price:
    return Price(
        id=row.id,
        key=PriceKey(row.plan_id, row.storefront_id, Channel(row.channel) if row.channel else None),
        amount_minor=row.amount_minor,
        currency=row.currency,
        effective_from=row.effective_from,
        scheduled_at=row.scheduled_at,
        existing_subscribers=ExistingSubscribers(row.existing_subscribers),
    )


def _mapping(row: sa.Row[Any]) -> ChannelMapping:
    return ChannelMapping(
        channel=Channel(row.channel),
        external_product_id=row.external_product_id,
        plan_id=row.plan_id,
        storefront_id=row.storefront_id,
    )


def _at(when: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(when, sa.DateTime(timezone=True))
