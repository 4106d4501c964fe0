"""Lifecycle's subscription milestones in: a referred subscription's conversion rewards both sides, once."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_platform.events.consumer import BACKGROUND_LINGER_SECONDS, EVENTS_PER_TRANSACTION, ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent
from azotte_promotions.adapters import proto
from azotte_promotions.ports import Credits, PromotionsUnitOfWork
from azotte_promotions.service_layer.referrals import convert

REFERRAL_EVENTS = ConsumerSpec(
    durable="promotions-referrals",
    producer="lifecycle",
    event_types=("subscription.created", "subscription.activated", "trial.converted"),
    per_transaction=EVENTS_PER_TRANSACTION,
    linger_seconds=BACKGROUND_LINGER_SECONDS,
)


@dataclass(frozen=True)
class ConversionHandler:
    """Converts the referral of the event's subscription, in the consumer's unit of work."""

    credits: Credits

    async def __call__(self, uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
        milestone = proto.milestone_of(event)
        if milestone is not None:
            await convert(uow, self.credits, event.tenant_id, milestone)
