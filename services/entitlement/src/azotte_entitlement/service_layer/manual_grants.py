"""Grants made and revoked by hand by an operator, with a reason kept as audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import (
    FeatureKind,
    Grant,
    GrantKey,
    GrantSource,
    manual_grant,
    revocation_audit,
)
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.errors import GrantIsDerived, GrantNotFound, InvalidGrant
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_entitlement.service_layer.changes import apply_corrections
from azotte_platform.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True)
class ManualGrantCommand:
    """What an operator asks to grant; `request_id` identifies the grant (its source reference)."""

    request_id: str
    customer_id: str
    feature_key: str
    kind: FeatureKind | None
    valid_from: datetime | None
    valid_until: datetime | None
    limit: int | None
    reason: str


async def create_manual_grant(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, actor: str, command: ManualGrantCommand
) -> Grant:
    """Grant a feature by hand."""
    violations = [
        FieldViolation(name, "is required")
        for name, value in (("customer_id", command.customer_id), ("feature_key", command.feature_key))
        if not value
    ]
    if command.kind is None:
        violations.append(FieldViolation("kind", "must be boolean, quota or seats"))
    if violations:
        raise InvalidGrant("invalid manual grant", violations)
    assert command.kind is not None
    now = uow.clock.now()
    key = GrantKey(tenant_id, command.customer_id, command.feature_key, GrantSource.MANUAL, command.request_id)
    grant = manual_grant(
        key, command.kind, command.valid_from or now, command.valid_until, command.limit, actor, command.reason, now
    )
    await apply_corrections(uow, projection, tenant_id, [Correction(CorrectionKind.GRANT, grant)], now)
    return grant


async def revoke_grant(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, actor: str, grant_id: str, reason: str
) -> Grant:
    """Revoke a manual, promotion or partner grant by hand."""
    if not grant_id:
        raise InvalidArgument.field("grant_id", "is required")
    now = uow.clock.now()
    audit = revocation_audit(actor, reason, now)
    grant = await uow.grants.get(tenant_id, grant_id)
    if grant is None:
        raise GrantNotFound(f"grant {grant_id} does not exist")
    if grant.key.source in (GrantSource.SUBSCRIPTION, GrantSource.GROUP):
        # NOTE: subscription and group grants follow the lifecycle; revoking them by hand would be
        # undone by drift reconciliation.
        raise GrantIsDerived(f"grant {grant_id} comes from a {grant.key.source} and follows its lifecycle")
    await apply_corrections(
        uow, projection, tenant_id, [Correction(CorrectionKind.REVOKE, grant)], now, revoked_by=audit
    )
    return grant
