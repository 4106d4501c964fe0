"""Lifecycle's subscriber events in: each active campaign on the event's trigger may issue a retention offer,
once per event (the consumer's inbox, and one offer per campaign and event)."""

from __future__ import annotations

from azotte_platform.events.consumer import ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent
from azotte_promotions.adapters import proto
from azotte_promotions.domain.campaigns import Trigger
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.campaigns import react

CAMPAIGN_EVENTS = ConsumerSpec(
    durable="promotions-campaigns", producer="lifecycle", event_types=tuple(trigger.value for trigger in Trigger)
)


async def handle_campaign_event(uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
    """React to the event at the tenant's now (a sandbox tenant's clock included)."""
    moment = proto.moment_of(event, uow.clock.now())
    if moment is not None:
        await react(uow, event.tenant_id, moment)
