"""Each tenant's lifecycle policy, stored as JSON: the current one, and every version stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.tables import lifecycle_policies, lifecycle_policy_versions
from azotte_lifecycle.domain.policy import (
    CancelMode,
    DuplicateAcrossChannels,
    LifecyclePolicy,
    PolicyOverride,
    PolicyVersion,
    TenantLifecyclePolicy,
    TrialEndBehavior,
)


class PostgresPolicyRepository:
    """`ports.PolicyRepository` over the `lifecycle_policies` table."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def get(self, tenant_id: str) -> TenantLifecyclePolicy:
        c = lifecycle_policies.c
        stored = await self._conn.scalar(sa.select(c.policy).where(c.tenant_id == tenant_id))
        return TenantLifecyclePolicy() if stored is None else policy_from_json(stored)

    async def current(self, tenant_id: str) -> PolicyVersion:
        c = lifecycle_policies.c
        row = (
            await self._conn.execute(
                sa.select(c.policy, c.version, c.updated_at, c.updated_by).where(c.tenant_id == tenant_id)
            )
        ).first()
        if row is None:
            return PolicyVersion(0, TenantLifecyclePolicy())
        return PolicyVersion(row.version, policy_from_json(row.policy), row.updated_at, row.updated_by)

    async def add_version(self, tenant_id: str, version: PolicyVersion) -> bool:
        assert version.created_at is not None
        data = policy_to_json(version.policy)
        # NOTE: the version number is the key: of two updates based on one version, the second stores nothing.
        stored = await self._conn.execute(
            insert(lifecycle_policy_versions)
            .values(
                tenant_id=tenant_id,
                version=version.version,
                policy=data,
                created_at=version.created_at,
                actor=version.actor,
            )
            .on_conflict_do_nothing()
            .returning(lifecycle_policy_versions.c.version)
        )
        if stored.first() is None:
            return False
        current = {"policy": data, "updated_at": version.created_at, "version": version.version}
        await self._conn.execute(
            insert(lifecycle_policies)
            .values(tenant_id=tenant_id, updated_by=version.actor, **current)
            .on_conflict_do_update(index_elements=["tenant_id"], set_={**current, "updated_by": version.actor})
        )
        return True

    async def versions(self, tenant_id: str, limit: int | None, before: int | None) -> list[PolicyVersion]:
        v = lifecycle_policy_versions.c
        select = sa.select(lifecycle_policy_versions).where(v.tenant_id == tenant_id)
        if before is not None:
            select = select.where(v.version < before)
        rows = await self._conn.execute(select.order_by(v.version.desc()).limit(limit))
        return [PolicyVersion(r.version, policy_from_json(r.policy), r.created_at, r.actor) for r in rows]


_POLICY_FIELDS = (
    "grace_period",
    "retry_schedule_days",
    "hold_period",
    "trial_end_behavior",
    "max_pause",
    "cancel_mode",
    "duplicate_across_channels",
    "invoice_reminder_days",
)


def _policy_fields(source: LifecyclePolicy | PolicyOverride) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _POLICY_FIELDS:
        value = getattr(source, name)
        if isinstance(value, timedelta):
            value = value.total_seconds()
        elif isinstance(value, tuple):
            value = list(value)
        elif value is not None:
            value = str(value)
        out[name] = value
    return out


def _policy_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _POLICY_FIELDS:
        raw = data.get(name)
        if raw is None:
            continue
        if name in ("grace_period", "hold_period", "max_pause"):
            values[name] = timedelta(seconds=float(raw))
        elif name in ("retry_schedule_days", "invoice_reminder_days"):
            values[name] = tuple(int(day) for day in raw)
        elif name == "trial_end_behavior":
            values[name] = TrialEndBehavior(raw)
        elif name == "duplicate_across_channels":
            values[name] = DuplicateAcrossChannels(raw)
        else:
            values[name] = CancelMode(raw)
    return values


def policy_to_json(policy: TenantLifecyclePolicy) -> dict[str, Any]:
    """A tenant policy and its per-plan overrides as JSON."""
    return {
        "default": _policy_fields(policy.default),
        "plan_overrides": {plan: _policy_fields(o) for plan, o in policy.plan_overrides.items()},
    }


def policy_from_json(data: dict[str, Any]) -> TenantLifecyclePolicy:
    """Rebuild the policy stored by `policy_to_json`."""
    return TenantLifecyclePolicy(
        default=LifecyclePolicy(**_policy_values(data["default"])),
        plan_overrides={
            plan: PolicyOverride(**_policy_values(raw)) for plan, raw in data.get("plan_overrides", {}).items()
        },
    )
