"""Campaign triggers in: lifecycle's subscriber events and metering's usage thresholds, each active campaign on
the event's trigger may issue a retention offer, once per event (the consumer's inbox, and one offer per
campaign and event); lifecycle's trial events keep the trials whose end trial-ending campaigns await."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_platform.events.consumer import ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent
from azotte_promotions.adapters import proto
from azotte_promotions.domain.campaigns import LIFECYCLE_TRIGGERS, Trigger
from azotte_promotions.ports import PromotionsUnitOfWork, TrialExtensions
from azotte_promotions.service_layer import trial_endings
from azotte_promotions.service_layer.campaigns import react

CAMPAIGN_EVENTS = ConsumerSpec(
    durable="promotions-campaigns", producer="lifecycle", event_types=tuple(t.value for t in LIFECYCLE_TRIGGERS)
)
USAGE_CAMPAIGN_EVENTS = ConsumerSpec(
    durable="promotions-usage-campaigns", producer="metering", event_types=(Trigger.USAGE_THRESHOLD.value,)
)
TRIAL_STARTS = ("trial.started", "trial.extended")
TRIAL_ENDING_EVENTS = ConsumerSpec(
    durable="promotions-trial-endings",
    producer="lifecycle",
    event_types=(*TRIAL_STARTS, "trial.converted", "trial.expired", "subscription.expired"),
)


@dataclass(frozen=True)
class CampaignEventHandler:
    """Reacts to a lifecycle or metering event at the tenant's now (a sandbox tenant's clock included)."""

    trials: TrialExtensions

    async def __call__(self, uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
        now = uow.clock.now()
        if event.type == Trigger.USAGE_THRESHOLD.value:
            moment = proto.usage_moment_of(event, now)
        else:
            moment = proto.moment_of(event, now)
        if moment is not None:
            await react(uow, event.tenant_id, moment, self.trials)


async def handle_trial_ending_event(uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
    """Keep a trial's end from its start or extension; forget it once the trial converted or ended."""
    if event.type in TRIAL_STARTS:
        ending = proto.trial_ending_of(event)
        if ending is not None:
            await trial_endings.note(uow, ending)
        return
    subscription_id = proto.subscription_id_of(event)
    if subscription_id:
        await trial_endings.forget(uow, event.tenant_id, subscription_id)
