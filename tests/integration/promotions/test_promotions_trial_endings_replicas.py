"""The trial-ending sweep on several replicas at once (real PostgreSQL): each due trial is claimed by one sweep
(FOR UPDATE SKIP LOCKED), so its campaign judges it once."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import timedelta

from azotte.promotions.v1 import promotions_pb2 as pb
from tests.helpers import eventually
from tests.integration.promotions.conftest import Service
from tests.integration.promotions.promotions_support import rid
from tests.integration.promotions.test_promotions_campaign_triggers import TRIAL_END, awaited, offers, trial_started
from tests.integration.promotions.test_promotions_campaigns_experiments import publish


async def test_two_sweeps_at_once_judge_each_due_trial_once(service: Service) -> None:
    tenant = f"tr{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    campaign = pb.Campaign(
        display_name="One more week",
        trigger=pb.CAMPAIGN_TRIGGER_TRIAL_ENDING,
        action=pb.CAMPAIGN_ACTION_EXTEND_TRIAL,
        trial_extension_days=7,
        days_before_trial_end=3,
    )
    await service.stub.CreateCampaign(pb.CreateCampaignRequest(request_id=rid(), campaign=campaign), metadata=metadata)
    subscriptions = [f"sub-{i}" for i in range(6)]
    for i, subscription_id in enumerate(subscriptions):
        started = trial_started(subscription_id)
        started.subscription.customer_id = f"customer-{i}"
        await publish(service, tenant, "lifecycle", "trial.started", started)
    for subscription_id in subscriptions:
        await eventually(functools.partial(awaited, service, tenant, subscription_id))

    service.clock.set(TRIAL_END - timedelta(days=3))
    sweeper = service.promotions.trial_endings
    judged = await asyncio.gather(sweeper.sweep(), sweeper.sweep(), sweeper.sweep())
    assert sum(judged) == len(subscriptions)
    assert sorted(o.subscription_id for o in await offers(service, metadata)) == subscriptions
