"""The latest lifecycle snapshot of every subscription: what drift reconciliation recomputes from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_entitlement.adapters.tables import subscriptions
from azotte_entitlement.domain.derivation import PlanFeature, StoredSubscription, SubscriptionSnapshot
from azotte_entitlement.domain.grants import FeatureKind
from azotte_platform.db.bulk import replacing
from azotte_platform.enums import SubscriptionState


def _features_to_json(features: tuple[PlanFeature, ...]) -> list[dict[str, Any]]:
    return [{"feature_key": f.feature_key, "kind": f.kind.value, "limit": f.limit, "own": f.own} for f in features]


def _features_from_json(data: list[dict[str, Any]]) -> tuple[PlanFeature, ...]:
    return tuple(PlanFeature(d["feature_key"], FeatureKind(d["kind"]), d["limit"], d.get("own", False)) for d in data)


def _from_row(row: Any) -> StoredSubscription:
    snapshot = SubscriptionSnapshot(
        row.tenant_id,
        row.subscription_id,
        row.customer_id,
        SubscriptionState(row.state),
        row.cancel_at_period_end,
        row.started_at,
        row.current_period_end,
        _features_from_json(row.features),
    )
    return StoredSubscription(snapshot, row.plan_id, row.revoked, row.event_time)


# NOTE: the statements of every subscription change are built once: building one costs more than running it.
_SUBSCRIPTION = sa.select(subscriptions).where(
    subscriptions.c.tenant_id == sa.bindparam("tenant_id"),
    subscriptions.c.subscription_id == sa.bindparam("subscription_id"),
)
_LOCKED_SUBSCRIPTION = _SUBSCRIPTION.with_for_update()
_PUT = replacing(insert(subscriptions))
"""Insert or replace a subscription, every column a parameter."""


class PostgresSubscriptionRepository:
    """Subscription snapshots kept from lifecycle events (`ports.SubscriptionRepository`)."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def get_for_update(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        """The stored snapshot, locked so events of one subscription apply one at a time."""
        key = {"tenant_id": tenant_id, "subscription_id": subscription_id}
        row = (await self._connection.execute(_LOCKED_SUBSCRIPTION, key)).first()
        return _from_row(row) if row is not None else None

    async def get(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        key = {"tenant_id": tenant_id, "subscription_id": subscription_id}
        row = (await self._connection.execute(_SUBSCRIPTION, key)).first()
        return _from_row(row) if row is not None else None

    async def put(self, stored: StoredSubscription) -> None:
        snapshot = stored.snapshot
        values = {
            "tenant_id": snapshot.tenant_id,
            "subscription_id": snapshot.subscription_id,
            "customer_id": snapshot.customer_id,
            "plan_id": stored.plan_id,
            "state": snapshot.state.value,
            "cancel_at_period_end": snapshot.cancel_at_period_end,
            "started_at": snapshot.started_at,
            "current_period_end": snapshot.current_period_end,
            "revoked": stored.revoked,
            "features": _features_to_json(snapshot.features),
            "event_time": stored.event_time,
        }
        await self._connection.execute(_PUT, values)

    async def of_tenant(self, tenant_id: str) -> list[StoredSubscription]:
        rows = await self._connection.execute(sa.select(subscriptions).where(subscriptions.c.tenant_id == tenant_id))
        return [_from_row(row) for row in rows]

    async def tenants(self) -> list[str]:
        """Tenants with any subscription."""
        return list((await self._connection.execute(sa.select(subscriptions.c.tenant_id).distinct())).scalars())
