"""Campaign triggers on real PostgreSQL and NATS: lifecycle's trial.started makes a trial's end awaited, and the
sweep has a trial-ending campaign extend it once, N days before its end by the tenant's clock; metering's
threshold.crossed issues a personal offer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte.metering.v1 import events_pb2 as metering_events
from azotte.metering.v1 import wallets_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.convert import timestamp
from azotte_promotions.adapters.tables import trial_endings
from azotte_promotions.service_layer.campaigns import offer_id
from tests.helpers import eventually
from tests.integration.promotions.conftest import T0, Service
from tests.integration.promotions.promotions_support import active_promotion, percent_off, rid
from tests.integration.promotions.test_promotions_campaigns_experiments import publish

TRIAL_END = T0 + timedelta(days=14)


def trial_started(subscription_id: str) -> lifecycle_events.SubscriptionEvent:
    subscription = lifecycle_pb2.Subscription(
        id=subscription_id,
        customer_id="ana",
        plan_id="premium",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        current_period_start_time=timestamp(T0),
        trial_end_time=timestamp(TRIAL_END),
    )
    return lifecycle_events.SubscriptionEvent(subscription=subscription, cause="checkout")


async def offers(service: Service, metadata: tuple[tuple[str, str], ...]) -> list[pb.CampaignOffer]:
    listed = await service.stub.ListCampaignOffers(pb.ListCampaignOffersRequest(), metadata=metadata)
    return list(listed.offers)


async def test_a_trial_ending_in_three_days_is_extended_once_by_its_campaign(service: Service) -> None:
    tenant = f"te{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    campaign = pb.Campaign(
        display_name="One more week",
        trigger=pb.CAMPAIGN_TRIGGER_TRIAL_ENDING,
        action=pb.CAMPAIGN_ACTION_EXTEND_TRIAL,
        trial_extension_days=7,
        days_before_trial_end=3,
    )
    made = await service.stub.CreateCampaign(
        pb.CreateCampaignRequest(request_id=rid(), campaign=campaign), metadata=metadata
    )
    await publish(service, tenant, "lifecycle", "trial.started", trial_started("sub-ana"))
    sweeper = service.promotions.trial_endings
    await eventually(lambda: awaited(service, tenant, "sub-ana"))

    service.clock.set(TRIAL_END - timedelta(days=4))
    assert (await sweeper.sweep(), service.trials.extended) == (0, {})  # not yet due
    service.clock.set(TRIAL_END - timedelta(days=3))
    assert await sweeper.sweep() == 1
    [offer] = await offers(service, metadata)
    assert (offer.campaign_id, offer.subscription_id, offer.trial_extension_days, offer.code) == (
        made.campaign.id,
        "sub-ana",
        7,
        "",
    )
    assert service.trials.extended == {offer_id(tenant, made.campaign.id, "trial_ending:sub-ana"): ("sub-ana", 7)}
    service.clock.set(TRIAL_END - timedelta(days=1))
    assert await sweeper.sweep() == 0  # the campaign judged this trial already
    assert len(await offers(service, metadata)) == 1

    await publish(service, tenant, "lifecycle", "trial.converted", trial_started("sub-ana"))
    await eventually(lambda: gone(service, tenant, "sub-ana"))


async def awaited(service: Service, tenant: str, subscription_id: str) -> bool:
    """Whether the trial's end is awaited (lifecycle's trial event was consumed)."""
    async with service.runtime.engine.connect() as connection:
        found = await connection.scalar(
            sa.select(trial_endings.c.trial_end).where(
                trial_endings.c.tenant_id == tenant, trial_endings.c.subscription_id == subscription_id
            )
        )
    return found is not None


async def gone(service: Service, tenant: str, subscription_id: str) -> bool:
    return not await awaited(service, tenant, subscription_id)


async def test_a_usage_threshold_on_meterings_stream_issues_a_personal_offer(service: Service) -> None:
    tenant = f"ut{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    promotion = await active_promotion(SimpleNamespace(stub=service.stub, metadata=metadata), percent_off(2_000))
    campaign = pb.Campaign(
        display_name="Upgrade nudge",
        trigger=pb.CAMPAIGN_TRIGGER_USAGE_THRESHOLD,
        conditions=pb.CampaignConditions(min_usage_percent=80),
        promotion_id=promotion.id,
    )
    await service.stub.CreateCampaign(pb.CreateCampaignRequest(request_id=rid(), campaign=campaign), metadata=metadata)
    limit = wallets_pb2.Limit(limit_id="lim-1", customer_id="ana", value="1000", meter_key="tokens")
    for percent in (50, 80):
        crossed = metering_events.ThresholdCrossed(tenant_id=tenant, customer_id="ana", limit=limit, percent=percent)
        await publish(service, tenant, "metering", "threshold.crossed", crossed)

    async def offered() -> list[pb.CampaignOffer]:
        return await offers(service, metadata)

    [offer] = await eventually(offered)
    assert (offer.customer_id, offer.promotion_id, offer.subscription_id) == ("ana", promotion.id, "")
    assert offer.code
