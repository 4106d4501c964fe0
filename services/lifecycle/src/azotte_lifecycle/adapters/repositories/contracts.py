"""Contracts stored as a JSONB aggregate, with one row per version of their terms; a scheduled contract's start is
its `starts_at` column, which the scheduler claims when it comes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.tables import contract_versions, contracts
from azotte_lifecycle.domain.contracts import (
    BillingContact,
    Contract,
    ContractFeature,
    ContractTerms,
    ContractVersion,
    MeterPrice,
)
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_platform.clock import TenantTimes
from azotte_platform.db.tenant_time import own_now


class PostgresContractRepository:
    """`ports.ContractRepository` over the `contracts` and `contract_versions` tables."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, contract: Contract, now: datetime) -> None:
        await self._conn.execute(
            contracts.insert().values(
                tenant_id=contract.tenant_id,
                id=contract.id,
                customer_id=contract.customer_id,
                subscription_id=contract.subscription_id,
                created_at=now,
                aggregate=_to_json(contract),
                starts_at=_starts_at(contract),
            )
        )
        contract.created_at = now
        await self._write_versions(contract)

    async def save(self, contract: Contract) -> None:
        c = contracts.c
        await self._conn.execute(
            contracts.update()
            .where(c.tenant_id == contract.tenant_id, c.id == contract.id)
            .values(aggregate=_to_json(contract), starts_at=_starts_at(contract))
        )
        await self._write_versions(contract)

    async def get(self, tenant_id: str, contract_id: str, *, for_update: bool = False) -> Contract | None:
        c = contracts.c
        query = sa.select(contracts).where(c.tenant_id == tenant_id, c.id == contract_id)
        if for_update:
            query = query.with_for_update()
        rows = list(await self._conn.execute(query))
        return (await self._load(tenant_id, rows))[0] if rows else None

    async def of_subscriptions(self, tenant_id: str, subscription_ids: Sequence[str]) -> dict[str, Contract]:
        if not subscription_ids:
            return {}
        c = contracts.c
        query = sa.select(contracts).where(c.tenant_id == tenant_id, c.subscription_id.in_(list(subscription_ids)))
        loaded = await self._load(tenant_id, list(await self._conn.execute(query)))
        return {contract.subscription_id: contract for contract in loaded}

    async def find(
        self, tenant_id: str, limit: int, *, customer_id: str = "", after: tuple[datetime, str] | None = None
    ) -> list[Contract]:
        """Newest first, keyset after (create time, id)."""
        c = contracts.c
        query = sa.select(contracts).where(c.tenant_id == tenant_id)
        if customer_id:
            query = query.where(c.customer_id == customer_id)
        if after is not None:
            query = query.where(sa.tuple_(c.created_at, c.id) < sa.tuple_(sa.literal(after[0], _TS), after[1]))
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return await self._load(tenant_id, list(await self._conn.execute(query)))

    async def claim_starting(self, times: TenantTimes, limit: int) -> list[Contract]:
        """Scheduled contracts whose start came by their tenant's own now; rows locked elsewhere are skipped."""
        c = contracts.c
        query = (
            sa.select(contracts)
            .where(c.starts_at <= times.latest, c.starts_at <= own_now(times, c.tenant_id))
            .order_by(c.starts_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list(await self._conn.execute(query))
        by_tenant: dict[str, list[Any]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row)
        return [contract for tenant, found in by_tenant.items() for contract in await self._load(tenant, found)]

    async def next_start_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the earliest scheduled start by its tenant's now (negative: overdue); None: none."""
        c = contracts.c
        wait: timedelta | None = await self._conn.scalar(
            sa.select(sa.func.min(c.starts_at - own_now(times, c.tenant_id))).where(c.starts_at.is_not(None))
        )
        return wait

    async def _load(self, tenant_id: str, rows: list[Any]) -> list[Contract]:
        if not rows:
            return []
        v = contract_versions.c
        query = (
            sa.select(contract_versions)
            .where(v.tenant_id == tenant_id, v.contract_id.in_([row.id for row in rows]))
            .order_by(v.contract_id, v.version)
        )
        versions: dict[str, list[ContractVersion]] = {}
        for row in await self._conn.execute(query):
            versions.setdefault(row.contract_id, []).append(
                ContractVersion(row.version, _terms(row.terms), row.created_at, row.actor)
            )
        return [_from_json(row, versions[row.id]) for row in rows]

    async def _write_versions(self, contract: Contract) -> None:
        if contract.new_versions:
            await self._conn.execute(
                contract_versions.insert(),
                [
                    {
                        "tenant_id": contract.tenant_id,
                        "contract_id": contract.id,
                        "version": version.version,
                        "terms": _terms_json(version.terms),
                        "created_at": version.created_at,
                        "actor": version.actor,
                    }
                    for version in contract.new_versions
                ],
            )
            contract.new_versions.clear()


_TS = sa.DateTime(timezone=True)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _starts_at(contract: Contract) -> datetime | None:
    return contract.start if contract.scheduled else None


def _interval_json(interval: BillingInterval) -> dict[str, Any]:
    return {"unit": interval.unit.value, "count": interval.count}


def _interval(data: dict[str, Any]) -> BillingInterval:
    return BillingInterval(IntervalUnit(data["unit"]), int(data["count"]))


def features_to_json(features: tuple[ContractFeature, ...]) -> list[dict[str, Any]]:
    """Custom features as stored in a contract's terms and in its subscription's aggregate."""
    return [{"feature_key": f.feature_key, "limit": f.limit} for f in features]


def features_from_json(data: list[dict[str, Any]]) -> tuple[ContractFeature, ...]:
    return tuple(ContractFeature(d["feature_key"], d["limit"]) for d in data)


def _to_json(contract: Contract) -> dict[str, Any]:
    return {
        "storefront_id": contract.storefront_id,
        "currency_code": contract.currency_code,
        "interval": _interval_json(contract.interval),
        "start": contract.start.isoformat(),
        "end_requested_at": _time(contract.end_requested_at),
        "final_end": _time(contract.final_end),
    }


def _from_json(row: Any, versions: list[ContractVersion]) -> Contract:
    data = row.aggregate
    return Contract(
        id=row.id,
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        storefront_id=data["storefront_id"],
        currency_code=data["currency_code"],
        subscription_id=row.subscription_id,
        interval=_interval(data["interval"]),
        start=datetime.fromisoformat(data["start"]),
        versions=versions,
        end_requested_at=_parse(data.get("end_requested_at")),
        final_end=_parse(data.get("final_end")),
        created_at=row.created_at,
        scheduled=row.starts_at is not None,
    )


def _terms_json(terms: ContractTerms) -> dict[str, Any]:
    contact = terms.billing_contact
    return {
        "plan_id": terms.plan_id,
        "recurring_minor": terms.recurring_minor,
        "committed_minimum_minor": terms.committed_minimum_minor,
        "end_time": terms.end_time.isoformat(),
        "renewal_periods": terms.renewal_periods,
        "payment_terms_days": terms.payment_terms_days,
        "billing_contact": {
            "name": contact.name,
            "email": contact.email,
            "address": contact.address,
            "country_code": contact.country_code,
            "tax_id": contact.tax_id,
        },
        "meter_prices": [
            {
                "meter_key": price.meter_key,
                "unit_price_minor": str(price.unit_price_minor),
                "included_quantity": str(price.included_quantity),
            }
            for price in terms.meter_prices
        ],
        "features": features_to_json(terms.features),
        "interval": None if terms.interval is None else _interval_json(terms.interval),
    }


def _terms(data: dict[str, Any]) -> ContractTerms:
    return ContractTerms(
        plan_id=data["plan_id"],
        recurring_minor=int(data["recurring_minor"]),
        committed_minimum_minor=int(data["committed_minimum_minor"]),
        end_time=datetime.fromisoformat(data["end_time"]),
        renewal_periods=int(data["renewal_periods"]),
        payment_terms_days=int(data["payment_terms_days"]),
        billing_contact=BillingContact(**data["billing_contact"]),
        meter_prices=tuple(
            MeterPrice(p["meter_key"], Decimal(p["unit_price_minor"]), Decimal(p["included_quantity"]))
            for p in data["meter_prices"]
        ),
        features=features_from_json(data.get("features", [])),
        interval=_interval(data["interval"]) if data.get("interval") else None,
    )
