"""Trials taken and their takers' markers; a check is one join on the markers' key."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.enums import Channel
from azotte_promotions.adapters.tables import trial_markers, trials
from azotte_promotions.domain.trials import Marker, MarkerKind, Trial, TrialMatch


class PostgresTrialRepository:
    """`ports.TrialRepository` over `trials` and `trial_markers`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, trial: Trial) -> bool:
        inserted = await self._conn.execute(
            insert(trials)
            .values(
                tenant_id=trial.tenant_id,
                subscription_id=trial.subscription_id,
                customer_id=trial.customer_id,
                plan_id=trial.plan_id,
                product_line=trial.product_line,
                channel=trial.channel.value,
                started_at=trial.started_at,
            )
            .on_conflict_do_nothing()
            .returning(trials.c.subscription_id)
        )
        if inserted.first() is None:
            return False
        await self._conn.execute(
            insert(trial_markers),
            [
                {
                    "tenant_id": trial.tenant_id,
                    "product_line": trial.product_line,
                    "kind": marker.kind.value,
                    "value": marker.value,
                    "subscription_id": trial.subscription_id,
                }
                for marker in trial.markers
            ],
        )
        return True

    async def matching(self, tenant_id: str, product_line: str, markers: Sequence[Marker]) -> list[TrialMatch]:
        if not markers:
            return []
        m, t = trial_markers.c, trials.c
        wanted = sa.tuple_(m.kind, m.value).in_([(marker.kind.value, marker.value) for marker in markers])
        rows = await self._conn.execute(
            sa.select(m.kind, m.value, *trials.c)
            .join(trials, sa.and_(t.tenant_id == m.tenant_id, t.subscription_id == m.subscription_id))
            .where(m.tenant_id == tenant_id, m.product_line == product_line, wanted)
        )
        return [
            TrialMatch(
                Marker(MarkerKind(row.kind), row.value),
                Trial(
                    tenant_id=row.tenant_id,
                    subscription_id=row.subscription_id,
                    customer_id=row.customer_id,
                    plan_id=row.plan_id,
                    product_line=row.product_line,
                    channel=Channel(row.channel),
                    started_at=row.started_at,
                    markers=(),
                ),
            )
            for row in rows
        ]
