"""Writing grant corrections: database rows, outbox events, and the projection once committed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from azotte_entitlement.domain.drift import Correction
from azotte_entitlement.domain.events import drift_events, events_for
from azotte_entitlement.domain.grants import GrantAudit
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork


async def apply_corrections(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    corrections: Sequence[Correction],
    now: datetime,
    *,
    revoked_by: GrantAudit | None = None,
) -> None:
    """Store the corrections, record one event each, and apply them to this replica's projection on commit."""
    if not corrections:
        return
    await uow.grants.apply(corrections)
    uow.emit(tenant_id, *events_for(corrections, now, revoked_by))
    uow.after_commit(lambda: projection.apply(corrections))


async def apply_drift_corrections(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    customer_id: str | None,
    corrections: Sequence[Correction],
    now: datetime,
) -> None:
    """Like `apply_corrections`, plus the drift_corrected summary event."""
    if not corrections:
        return
    await uow.grants.apply(corrections)
    uow.emit(tenant_id, *drift_events(tenant_id, customer_id, corrections, now))
    uow.after_commit(lambda: projection.apply(corrections))
