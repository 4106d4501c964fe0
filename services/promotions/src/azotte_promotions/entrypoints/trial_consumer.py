"""Lifecycle's `trial.started` in: each trial taken, on any channel, is recorded once (the consumer's inbox)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from azotte_platform.events.consumer import ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent
from azotte_promotions.adapters import proto
from azotte_promotions.ports import People, PromotionsUnitOfWork
from azotte_promotions.service_layer.trials import record_trial

log = logging.getLogger(__name__)

TRIAL_EVENTS = ConsumerSpec(durable="promotions-trials", producer="lifecycle", event_types=("trial.started",))


@dataclass(frozen=True)
class TrialStartedHandler:
    """Records the trial a lifecycle event reports, in the consumer's unit of work."""

    people: People

    async def __call__(self, uow: PromotionsUnitOfWork, event: ReceivedEvent) -> None:
        started = proto.trial_started(event)
        if started is None:
            log.warning("ignoring lifecycle event %s (%s) without a subscription", event.id, event.type)
            return
        await record_trial(uow, self.people, event.tenant_id, started)
