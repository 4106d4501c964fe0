"""Experiments (variants as JSONB), assignments, and what assigned customers paid since."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_promotions.adapters.tables import experiment_assignments, experiments
from azotte_promotions.domain.experiments import (
    Assignment,
    Experiment,
    ExperimentState,
    Variant,
    VariantCounts,
    VariantKind,
)
from azotte_promotions.errors import ExperimentExists

_a, _e = experiment_assignments.c, experiments.c
# NOTE: built once, for the consumer of every payment: building a statement costs more than running it. Its
# parameters are not named after columns, which an UPDATE would take for values to set.
_RECORD_PAYMENT = (
    sa.update(experiment_assignments)
    .where(
        _a.tenant_id == sa.bindparam("tenant"),
        _a.customer_id == sa.bindparam("customer"),
        _a.experiment_id.in_(
            sa.select(_e.id).where(
                _e.tenant_id == sa.bindparam("tenant"),
                _e.state == ExperimentState.RUNNING.value,
                _e.currency_code == sa.bindparam("currency"),
            )
        ),
    )
    .values(payments=_a.payments + sa.bindparam("paid"), revenue_minor=_a.revenue_minor + sa.bindparam("net"))
)


def _variants_to_json(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "weight": v.weight,
            "kind": v.kind.value,
            "promotion_id": v.promotion_id,
            "price_minor": v.price_minor,
            "trial_days": v.trial_days,
        }
        for v in variants
    ]


def _experiment(row: Any) -> Experiment:
    variants = tuple(
        Variant(v["id"], v["weight"], VariantKind(v["kind"]), v["promotion_id"], v["price_minor"], v["trial_days"])
        for v in row.variants
    )
    return Experiment(
        tenant_id=row.tenant_id,
        id=row.id,
        display_name=row.display_name,
        variants=variants,
        currency_code=row.currency_code,
        created_at=row.created_at,
        state=ExperimentState(row.state),
        shipped_variant_id=row.shipped_variant_id,
        updated_at=row.updated_at,
    )


class PostgresExperimentRepository:
    """`ports.ExperimentRepository` over `experiments` and `experiment_assignments`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, experiment: Experiment) -> None:
        inserted = await self._conn.execute(
            insert(experiments)
            .values(
                tenant_id=experiment.tenant_id,
                id=experiment.id,
                display_name=experiment.display_name,
                variants=_variants_to_json(experiment.variants),
                currency_code=experiment.currency_code,
                state=experiment.state.value,
                shipped_variant_id=experiment.shipped_variant_id,
                created_at=experiment.created_at,
                updated_at=experiment.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(experiments.c.id)
        )
        if inserted.first() is None:
            raise ExperimentExists(f"an experiment with id {experiment.id!r} already exists")

    async def get(self, tenant_id: str, experiment_id: str, *, for_update: bool = False) -> Experiment | None:
        e = experiments.c
        query = sa.select(experiments).where(e.tenant_id == tenant_id, e.id == experiment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return None if row is None else _experiment(row)

    async def save(self, experiment: Experiment) -> None:
        e = experiments.c
        await self._conn.execute(
            sa.update(experiments)
            .where(e.tenant_id == experiment.tenant_id, e.id == experiment.id)
            .values(
                state=experiment.state.value,
                shipped_variant_id=experiment.shipped_variant_id,
                updated_at=experiment.updated_at,
            )
        )

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Experiment]:
        e = experiments.c
        query = sa.select(experiments).where(e.tenant_id == tenant_id)
        if after is not None:
            at = datetime.fromisoformat(str(after[0]))
            query = query.where(sa.tuple_(e.created_at, e.id) > sa.tuple_(sa.literal(at), sa.literal(after[1])))
        rows = await self._conn.execute(query.order_by(e.created_at, e.id).limit(limit))
        return [_experiment(row) for row in rows]

    async def assignment(self, tenant_id: str, experiment_id: str, customer_id: str) -> Assignment | None:
        a = experiment_assignments.c
        row = (
            await self._conn.execute(
                sa.select(experiment_assignments).where(
                    a.tenant_id == tenant_id, a.experiment_id == experiment_id, a.customer_id == customer_id
                )
            )
        ).first()
        if row is None:
            return None
        return Assignment(row.tenant_id, row.experiment_id, row.customer_id, row.variant_id, row.assigned_at)

    async def assign(self, assignment: Assignment) -> bool:
        inserted = await self._conn.execute(
            insert(experiment_assignments)
            .values(
                tenant_id=assignment.tenant_id,
                experiment_id=assignment.experiment_id,
                customer_id=assignment.customer_id,
                variant_id=assignment.variant_id,
                assigned_at=assignment.assigned_at,
            )
            .on_conflict_do_nothing()
            .returning(experiment_assignments.c.customer_id)
        )
        return inserted.first() is not None

    async def record_payment(self, tenant_id: str, customer_id: str, currency_code: str, net_minor: int) -> None:
        await self._conn.execute(
            _RECORD_PAYMENT,
            {
                "tenant": tenant_id,
                "customer": customer_id,
                "currency": currency_code,
                "paid": 1 if net_minor > 0 else 0,
                "net": net_minor,
            },
        )

    async def counts(self, tenant_id: str, experiment_id: str) -> dict[str, VariantCounts]:
        a = experiment_assignments.c
        rows = await self._conn.execute(
            sa.select(
                a.variant_id,
                sa.func.count().label("exposed"),
                sa.func.count().filter(a.payments > 0).label("converted"),
                sa.func.coalesce(sa.func.sum(a.revenue_minor), 0).label("revenue"),
            )
            .where(a.tenant_id == tenant_id, a.experiment_id == experiment_id)
            .group_by(a.variant_id)
        )
        return {row.variant_id: VariantCounts(row.exposed, row.converted, int(row.revenue)) for row in rows}
