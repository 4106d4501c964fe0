"""Lifecycle events in: decode each `SubscriptionEvent` and apply it inside the consumer's unit of work."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from azotte_entitlement.adapters import proto
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer.consistency import ConsistencyGate
from azotte_entitlement.service_layer.lifecycle_events import apply_subscription_change
from azotte_platform.events.consumer import EVENTS_PER_TRANSACTION, ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = ConsumerSpec(
    durable="entitlement-lifecycle",
    producer="lifecycle",
    event_types=("subscription.>", "trial.>"),
    # NOTE: a checkout's subscription arrives as two events at once (created, activated): one transaction.
    per_transaction=EVENTS_PER_TRANSACTION,
)


@dataclass(frozen=True)
class LifecycleEventHandler:
    """Applies one lifecycle event; the consumer runs it once per event (inbox) and commits."""

    plans: PlanCatalog
    projection: AccessProjection
    consistency: ConsistencyGate

    async def __call__(self, uow: EntitlementUnitOfWork, event: ReceivedEvent) -> None:
        change = proto.subscription_change(event)
        if change is None:
            log.warning("ignoring lifecycle event %s (%s) without a subscription", event.id, event.type)
        else:
            await apply_subscription_change(uow, self.plans, self.projection, change)
        # NOTE: registered last, so it runs after the change's own projection update (consistency tokens).
        uow.after_commit(lambda: self.consistency.applied(event.id))
