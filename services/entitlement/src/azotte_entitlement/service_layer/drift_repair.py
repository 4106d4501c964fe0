"""Drift reconciliation: recompute every grant from subscription snapshots and the catalog, and correct."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, StoredSubscription, desired_grants, subscription_grants
from azotte_entitlement.domain.drift import Correction, CorrectionKind, DriftReport, reconcile
from azotte_entitlement.domain.grants import FeatureKind, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer.changes import apply_drift_corrections
from azotte_entitlement.service_layer.lifecycle_events import features_of
from azotte_platform.errors import AzotteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftOutcome:
    """Corrections made (or that would be made) and how many customers were examined."""

    report: DriftReport
    checked_customers: int
    corrections: tuple[Correction, ...] = ()


async def reconcile_drift(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    plans: PlanCatalog,
    tenant_id: str,
    customer_id: str | None = None,
    *,
    validate_only: bool = False,
) -> DriftOutcome:
    """Bring a tenant's (or one customer's) grants back to what lifecycle state and the catalog say.

    The caller commits; with `validate_only` nothing is written and the report says what would change.
    """
    await uow.lock_tenant(tenant_id, exclusive=True)
    current = _CurrentPlans(plans)
    stored = [await _refreshed(uow, current, s, validate_only) for s in await uow.subscriptions.of_tenant(tenant_id)]
    live = [s.snapshot for s in stored if not s.revoked]
    groups = await uow.groups.of_tenant(tenant_id)
    actual = await uow.grants.of_tenant(tenant_id)
    corrections = reconcile(desired_grants(live, groups, actual), actual)
    corrections = _with_denial_reasons(corrections, stored, {g.group_id: g.subscription_id for g in groups})
    customers = {g.key.customer_id for g in actual} | {s.snapshot.customer_id for s in stored}
    if customer_id:
        corrections = [c for c in corrections if c.grant.key.customer_id == customer_id]
        customers = {customer_id}
    if not validate_only:
        await apply_drift_corrections(uow, projection, tenant_id, customer_id, corrections, uow.clock.now())
    return DriftOutcome(DriftReport.of(corrections), len(customers), tuple(corrections))


class _CurrentPlans:
    """The catalog as one reconciliation reads it: each plan asked of the catalog itself (a change made just before
    counts even if its event has not arrived yet), once."""

    def __init__(self, plans: PlanCatalog):
        self._plans = plans
        self._read: dict[str, tuple[PlanFeature, ...]] = {}

    async def features(self, plan_id: str, *, fresh: bool = True) -> tuple[PlanFeature, ...]:
        if plan_id not in self._read:
            self._read[plan_id] = await self._plans.features(plan_id, fresh=True)
        return self._read[plan_id]

    async def feature_kind(self, feature_key: str) -> FeatureKind:
        return await self._plans.feature_kind(feature_key)


async def _refreshed(
    uow: EntitlementUnitOfWork, plans: PlanCatalog, stored: StoredSubscription, validate_only: bool
) -> StoredSubscription:
    """The snapshot with its plan's current features from the catalog (stored ones when it cannot answer), its own
    features (a contract's) kept on top."""
    snapshot = stored.snapshot
    try:
        features: tuple[PlanFeature, ...] = await features_of(plans, stored.plan_id, stored.own)
    except AzotteError as error:
        log.warning("plan %s unavailable (%s); reconciling with stored features", stored.plan_id, error.reason)
        return stored
    if features == snapshot.features:
        return stored
    refreshed = dataclasses.replace(stored, snapshot=dataclasses.replace(snapshot, features=features))
    if not validate_only:
        await uow.subscriptions.put(refreshed)
    return refreshed


def _with_denial_reasons(
    corrections: list[Correction], stored: list[StoredSubscription], group_subscription: dict[str, str]
) -> list[Correction]:
    """Revocations remember why the subscription behind them gives no access (on_hold, paused, expired)."""
    reasons: dict[str, AccessReason] = {}
    for s in stored:
        why_not = None if s.revoked else subscription_grants(s.snapshot).why_not
        if why_not is not None:
            reasons[s.snapshot.subscription_id] = why_not
    result = []
    for correction in corrections:
        key = correction.grant.key
        subscription_id = key.source_ref if key.source is GrantSource.SUBSCRIPTION else None
        if key.source is GrantSource.GROUP:
            subscription_id = group_subscription.get(key.source_ref)
        why_not = reasons.get(subscription_id or "")
        if correction.kind is CorrectionKind.REVOKE and why_not is not None:
            correction = dataclasses.replace(correction, why_not=why_not)
        result.append(correction)
    return result
