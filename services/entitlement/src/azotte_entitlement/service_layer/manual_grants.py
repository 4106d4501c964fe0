"""Grants made and revoked by hand by an operator, with a reason kept as audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_entitlement.domain.derivation import PlanFeature
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
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer.changes import apply_corrections
from azotte_platform.errors import FieldViolation, InvalidArgument, NotFound

# Features one manual grant may name at once.
MAX_FEATURE_KEYS = 50


@dataclass(frozen=True)
class ManualGrantCommand:
    """What an operator asks to grant; `request_id` identifies the grants (their source reference).

    Exactly one of `feature_key` (with its `kind`), `feature_keys` or `plan_id` names what is granted.
    """

    request_id: str
    customer_id: str
    feature_key: str
    kind: FeatureKind | None
    valid_from: datetime | None
    valid_until: datetime | None
    limit: int | None
    reason: str
    feature_keys: tuple[str, ...] = ()
    plan_id: str = ""


async def create_manual_grant(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    plans: PlanCatalog,
    tenant_id: str,
    actor: str,
    command: ManualGrantCommand,
) -> list[Grant]:
    """Grant features by hand, all or none; one grant per feature."""
    features = await _features_asked(plans, command)
    now = uow.clock.now()
    grants = [
        manual_grant(
            GrantKey(tenant_id, command.customer_id, feature.feature_key, GrantSource.MANUAL, command.request_id),
            feature.kind,
            command.valid_from or now,
            command.valid_until,
            feature.limit,
            actor,
            command.reason,
            now,
        )
        for feature in features
    ]
    await apply_corrections(uow, projection, tenant_id, [Correction(CorrectionKind.GRANT, g) for g in grants], now)
    return grants


async def _features_asked(plans: PlanCatalog, command: ManualGrantCommand) -> list[PlanFeature]:
    """The features (with kinds and limits) a command grants; kinds of named features come from the catalog."""
    violations = [] if command.customer_id else [FieldViolation("customer_id", "is required")]
    named = [name for name in ("feature_key", "feature_keys", "plan_id") if getattr(command, name)]
    if len(named) != 1:
        violations.append(FieldViolation("feature_keys", "name the features (feature_keys) or a plan_id, not both"))
    elif command.feature_key and command.kind is None:
        violations.append(FieldViolation("kind", "must be boolean, quota or seats"))
    elif command.feature_keys:
        if len(command.feature_keys) > MAX_FEATURE_KEYS or not all(command.feature_keys):
            violations.append(FieldViolation("feature_keys", f"1 to {MAX_FEATURE_KEYS} non-empty feature keys"))
        elif len(set(command.feature_keys)) != len(command.feature_keys):
            violations.append(FieldViolation("feature_keys", "names a feature twice"))
    elif command.plan_id and command.limit is not None:
        violations.append(FieldViolation("limit", "a plan's features keep the plan's limits"))
    if violations:
        raise InvalidGrant("invalid manual grant", violations)
    if command.feature_key:
        assert command.kind is not None
        return [PlanFeature(command.feature_key, command.kind, command.limit)]
    if command.plan_id:
        try:
            return list(await plans.features(command.plan_id))
        except NotFound as error:
            raise InvalidGrant("invalid manual grant", [FieldViolation("plan_id", "is not a plan")]) from error
    features = []
    for key in command.feature_keys:
        try:
            kind = command.kind or await plans.feature_kind(key)
        except NotFound as error:
            violation = FieldViolation("feature_keys", f"{key!r} is not a feature")
            raise InvalidGrant("invalid manual grant", [violation]) from error
        # NOTE: the limit is each quota's or seat feature's; boolean features named with them have none.
        features.append(PlanFeature(key, kind, None if kind is FeatureKind.BOOLEAN else command.limit))
    if command.limit is not None and all(f.kind is FeatureKind.BOOLEAN for f in features):
        raise InvalidGrant("invalid manual grant", [FieldViolation("limit", "none of the features has a limit")])
    return features


async def revoke_grant(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    actor: str,
    grant_id: str,
    reason: str,
    *,
    customer_id: str = "",
) -> Grant:
    """Revoke a manual, promotion or partner grant by hand; with `customer_id`, only that customer's."""
    if not grant_id:
        raise InvalidArgument.field("grant_id", "is required")
    now = uow.clock.now()
    audit = revocation_audit(actor, reason, now)
    grant = await uow.grants.get(tenant_id, grant_id)
    if grant is None or (customer_id and grant.key.customer_id != customer_id):
        raise GrantNotFound(f"grant {grant_id} does not exist")
    if grant.key.source in (GrantSource.SUBSCRIPTION, GrantSource.GROUP):
        # NOTE: subscription and group grants follow the lifecycle; revoking them by hand would be
        # undone by drift reconciliation.
        raise GrantIsDerived(f"grant {grant_id} comes from a {grant.key.source} and follows its lifecycle")
    await apply_corrections(
        uow, projection, tenant_id, [Correction(CorrectionKind.REVOKE, grant)], now, revoked_by=audit
    )
    return grant
