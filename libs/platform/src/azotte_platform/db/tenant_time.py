"""Each row's tenant's own now, in SQL: sandbox tenants' clocks move on their own."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from azotte_platform.clock import TenantTimes


def own_now(times: TenantTimes, tenant_id: sa.ColumnElement[str]) -> sa.ColumnElement[datetime]:
    """The now of the tenant named by `tenant_id` in each row (the base time for tenants whose clock never moved)."""
    base = sa.literal(times.base, sa.DateTime(timezone=True))
    if not times.offsets:
        return base
    moved = {tenant: sa.literal(times.of(tenant), sa.DateTime(timezone=True)) for tenant in times.offsets}
    return sa.case(moved, value=tenant_id, else_=base)
