"""Each tenant's lifecycle policy, stored as JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.tables import lifecycle_policies
from azotte_lifecycle.domain.policy import (
    CancelMode,
    LifecyclePolicy,
    PolicyOverride,
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

    async def put(self, tenant_id: str, policy: TenantLifecyclePolicy, now: datetime) -> None:
        data = policy_to_json(policy)
        await self._conn.execute(
            insert(lifecycle_policies)
            .values(tenant_id=tenant_id, policy=data, updated_at=now)
            .on_conflict_do_update(index_elements=["tenant_id"], set_={"policy": data, "updated_at": now})
        )


_POLICY_FIELDS = (
    "grace_period",
    "retry_schedule_days",
    "hold_period",
    "trial_end_behavior",
    "max_pause",
    "cancel_mode",
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
        elif name == "retry_schedule_days":
            values[name] = tuple(int(day) for day in raw)
        elif name == "trial_end_behavior":
            values[name] = TrialEndBehavior(raw)
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
