"""Lifecycle events in: keep the subscription snapshot, then grant, change or revoke to match it.

A snapshot's features are its plan's (from the catalog) with the features the event says the subscription grants
besides (a contract's custom features and quotas) on top; those are the event's, never the catalog's.
"""

from __future__ import annotations

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import (
    PlanFeature,
    StoredSubscription,
    SubscriptionChange,
    subscription_corrections,
    subscription_grants,
    with_own,
)
from azotte_entitlement.domain.events import AccessWithheld
from azotte_entitlement.domain.grants import FeatureKind, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer.changes import apply_corrections


async def features_of(plans: PlanCatalog, plan_id: str, own: tuple[PlanFeature, ...]) -> tuple[PlanFeature, ...]:
    """The plan's features from the catalog (none without a plan) with the subscription's own on top."""
    return with_own(await plans.features(plan_id) if plan_id else (), own)


def group_id_of(subscription_id: str) -> str:
    """A subscription whose plan has seats has one group, identified by the subscription id."""
    return subscription_id


async def apply_subscription_change(
    uow: EntitlementUnitOfWork, plans: PlanCatalog, projection: AccessProjection, change: SubscriptionChange
) -> None:
    """Store the subscription's new snapshot and bring its grants (and its group members') in line with it."""
    tenant_id = change.tenant_id
    await uow.lock_tenant(tenant_id)
    stored = await uow.subscriptions.get_for_update(tenant_id, change.subscription_id)
    if stored is not None and stored.event_time > change.occurred_at:
        # NOTE: an event older than the snapshot already applied changes nothing.
        return
    own = tuple(
        [
            PlanFeature(f.feature_key, await plans.feature_kind(f.feature_key), f.limit, own=True)
            for f in change.own_features
        ]
    )
    if stored is not None and stored.plan_id == change.plan_id and stored.own == own:
        features = stored.snapshot.features
    else:
        features = await features_of(plans, change.plan_id, own)
    snapshot = change.snapshot(features)
    revoked = (stored is not None and stored.revoked) or change.revokes_access
    await uow.subscriptions.put(StoredSubscription(snapshot, change.plan_id, revoked, change.occurred_at))
    group_id = group_id_of(change.subscription_id)
    live = subscription_grants(snapshot, revoked=revoked).grants
    if any(grant.kind is FeatureKind.SEATS for grant in live):
        await uow.groups.ensure(tenant_id, group_id, change.customer_id, change.subscription_id)
    group = await uow.groups.get(tenant_id, group_id, lock=True)
    sources = [(GrantSource.SUBSCRIPTION, change.subscription_id)]
    if group is not None:
        sources.append((GrantSource.GROUP, group.group_id))
    actual = await uow.grants.from_sources(tenant_id, sources)
    corrections = subscription_corrections(snapshot, group, actual, revoked=revoked)
    await apply_corrections(uow, projection, tenant_id, corrections, uow.clock.now())
    why_not = None if revoked else subscription_grants(snapshot).why_not
    if why_not is not None:
        # NOTE: a subscription first seen on hold, paused or expired had no grants to revoke; its
        # customers (and group members) still learn why the plan's features are denied.
        customers = [snapshot.customer_id, *(group.members if group is not None else ())]
        await _withhold(uow, projection, tenant_id, customers, snapshot.features, why_not)


async def _withhold(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    customers: list[str],
    features: tuple[PlanFeature, ...],
    why_not: AccessReason,
) -> None:
    """Remember why the customers are denied the features, and tell every replica."""
    keys = tuple(f.feature_key for f in features)
    denied = [(customer, key) for customer in customers for key in keys]
    await uow.grants.remember_denials(tenant_id, denied, why_not)
    uow.emit(tenant_id, *(AccessWithheld(tenant_id, customer, keys, why_not) for customer in customers))
    uow.after_commit(lambda: projection.remember_denials(tenant_id, denied, why_not))
