"""Usage-based controls: feature suspensions and quota usage, stored and announced to every replica."""

from __future__ import annotations

from datetime import datetime

from azotte_entitlement.domain import suspension as suspensions
from azotte_entitlement.domain.events import FeatureRestored, FeatureSuspended, UsageRecorded
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.domain.suspension import Suspension
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_platform.errors import InvalidArgument


async def suspend_feature(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    customer_id: str,
    feature_key: str,
    reason: str,
) -> Suspension:
    """Switch a feature off for a customer; suspending it again keeps the first suspension."""
    _require_customer(customer_id)
    current = await uow.access.suspension(tenant_id, customer_id, feature_key)
    suspension = suspensions.suspend(current, feature_key, reason, uow.clock.now())
    if current is None:
        await uow.access.put_suspension(tenant_id, customer_id, suspension)
        uow.emit(tenant_id, FeatureSuspended(tenant_id, customer_id, suspension))
        uow.after_commit(lambda: projection.suspend(tenant_id, customer_id, suspension))
    return suspension


async def restore_feature(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, customer_id: str, feature_key: str
) -> Suspension:
    """Lift a feature's suspension."""
    _require_customer(customer_id)
    if not feature_key:
        raise InvalidArgument.field("feature_key", "is required")
    lifted = suspensions.restore(await uow.access.suspension(tenant_id, customer_id, feature_key), feature_key)
    await uow.access.delete_suspension(tenant_id, customer_id, feature_key)
    uow.emit(tenant_id, FeatureRestored(tenant_id, customer_id, lifted))
    uow.after_commit(lambda: projection.restore(tenant_id, customer_id, feature_key))
    return lifted


async def record_usage(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    customer_id: str,
    feature_key: str,
    used: int,
    period_start: datetime | None,
    period_end: datetime | None,
) -> None:
    """Record the quota a customer used so far in a period (a report of no more than the one kept changes nothing);
    once a period with an end has ended, its quota counts as unused until a newer period is reported."""
    _require_customer(customer_id)
    if not feature_key:
        raise InvalidArgument.field("feature_key", "is required")
    if used < 0:
        raise InvalidArgument.field("used", "cannot be negative")
    if period_start is None:
        raise InvalidArgument.field("period_start_time", "is required")
    if period_end is not None and period_end <= period_start:
        raise InvalidArgument.field("period_end_time", "must be after period_start_time")
    if not await uow.access.record_usage(tenant_id, customer_id, feature_key, used, period_start, period_end):
        return
    uow.emit(tenant_id, UsageRecorded(tenant_id, customer_id, feature_key, used, period_start, period_end))
    uow.after_commit(
        lambda: projection.record_usage(tenant_id, customer_id, feature_key, used, period_start, period_end)
    )


def _require_customer(customer_id: str) -> None:
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
