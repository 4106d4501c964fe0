"""Lifecycle events in: keep the subscription snapshot, then grant, change or revoke to match it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import events_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_entitlement.adapters.messages import REASONS, from_timestamp
from azotte_entitlement.adapters.subscription_repository import StoredSubscription
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import (
    PlanFeature,
    SubscriptionSnapshot,
    SubscriptionState,
    subscription_corrections,
    subscription_grants,
)
from azotte_entitlement.domain.grants import FeatureKind, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.service_layer.changes import apply_corrections
from azotte_entitlement.service_layer.unit_of_work import EntitlementUnitOfWork
from azotte_platform.events.envelope import Event, ReceivedEvent

log = logging.getLogger(__name__)

LIFECYCLE_EVENT_TYPES = ("subscription.>", "trial.>")
# NOTE: an expiry caused by a refund or a revoke takes access away at once (no remembered reason).
REVOKING_CAUSES = frozenset({"refund", "refunded", "revoke", "revoked", "chargeback"})

STATES = {
    subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING: SubscriptionState.TRIALING,
    subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE: SubscriptionState.ACTIVE,
    subscription_state_pb2.SUBSCRIPTION_STATE_PAST_DUE: SubscriptionState.PAST_DUE,
    subscription_state_pb2.SUBSCRIPTION_STATE_ON_HOLD: SubscriptionState.ON_HOLD,
    subscription_state_pb2.SUBSCRIPTION_STATE_PAUSED: SubscriptionState.PAUSED,
    subscription_state_pb2.SUBSCRIPTION_STATE_EXPIRED: SubscriptionState.EXPIRED,
}


class PlanFeatures(Protocol):
    """Where a plan's features come from (the catalog)."""

    async def features(self, tenant_id: str, plan_id: str) -> tuple[PlanFeature, ...]: ...


def group_id_of(subscription_id: str) -> str:
    """A subscription whose plan has seats has one group, identified by the subscription id."""
    return subscription_id


class LifecycleEventHandler:
    """Applies one lifecycle SubscriptionEvent inside the consumer's unit of work."""

    def __init__(self, plans: PlanFeatures, projection: AccessProjection):
        self._plans = plans
        self._projection = projection

    async def __call__(self, uow: EntitlementUnitOfWork, event: ReceivedEvent) -> None:
        payload = event.payload(lifecycle_events.SubscriptionEvent)
        subscription = payload.subscription
        state = STATES.get(subscription.state)
        if not subscription.id or not subscription.customer_id or state is None:
            log.warning("ignoring lifecycle event %s (%s) without a subscription", event.id, event.type)
            return
        tenant_id = event.tenant_id
        occurred = from_timestamp(payload.occur_time) if payload.HasField("occur_time") else event.time
        await uow.lock_tenant(tenant_id)
        stored = await uow.subscriptions.get_for_update(tenant_id, subscription.id)
        if stored is not None and stored.event_time > occurred:
            # NOTE: an event older than the snapshot already applied changes nothing.
            return
        if stored is not None and stored.plan_id == subscription.plan_id:
            features = stored.snapshot.features
        else:
            features = await self._plans.features(tenant_id, subscription.plan_id)
        snapshot = SubscriptionSnapshot(
            tenant_id,
            subscription.id,
            subscription.customer_id,
            state,
            subscription.cancel_at_period_end,
            _started_at(subscription, occurred),
            from_timestamp(subscription.current_period_end_time)
            if subscription.HasField("current_period_end_time")
            else occurred,
            features,
        )
        revoked = (stored is not None and stored.revoked) or (
            event.type == "subscription.expired" and payload.cause.lower() in REVOKING_CAUSES
        )
        await uow.subscriptions.put(StoredSubscription(snapshot, subscription.plan_id, revoked, occurred))
        group_id = group_id_of(subscription.id)
        live = subscription_grants(snapshot, revoked=revoked).grants
        if any(grant.kind is FeatureKind.SEATS for grant in live):
            await uow.groups.ensure(tenant_id, group_id, subscription.customer_id, subscription.id)
        group = await uow.groups.get(tenant_id, group_id, lock=True)
        sources = [(GrantSource.SUBSCRIPTION, subscription.id)]
        if group is not None:
            sources.append((GrantSource.GROUP, group.group_id))
        actual = await uow.grants.from_sources(tenant_id, sources)
        corrections = subscription_corrections(snapshot, group, actual, revoked=revoked)
        await apply_corrections(uow, self._projection, tenant_id, corrections, uow.clock.now())
        why_not = None if revoked else subscription_grants(snapshot).why_not
        if why_not is not None:
            # NOTE: a subscription first seen on hold, paused or expired had no grants to revoke; its
            # customers (and group members) still learn why the plan's features are denied.
            customers = [snapshot.customer_id, *(group.members if group is not None else ())]
            await withhold(uow, self._projection, tenant_id, customers, snapshot.features, why_not)


async def withhold(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    tenant_id: str,
    customers: list[str],
    features: tuple[PlanFeature, ...],
    why_not: AccessReason,
) -> None:
    """Remember why the customers are denied the features, and tell every replica."""
    keys = [f.feature_key for f in features]
    denied = [(customer, key) for customer in customers for key in keys]
    await uow.grants.remember_denials(tenant_id, denied, why_not)
    for customer in customers:
        payload = events_pb2.AccessWithheld(customer_id=customer, feature_keys=keys, reason=REASONS[why_not])
        uow.record(Event(tenant_id, "entitlement.access_withheld", payload, about=customer))
    uow.on_commit(lambda: projection.remember_denials(tenant_id, denied, why_not))


def _started_at(subscription: lifecycle_pb2.Subscription, occurred: datetime) -> datetime:
    """When the subscription's grants start: its creation, else its period start, else the event."""
    if subscription.HasField("create_time"):
        return from_timestamp(subscription.create_time)
    if subscription.HasField("current_period_start_time"):
        return from_timestamp(subscription.current_period_start_time)
    return occurred
