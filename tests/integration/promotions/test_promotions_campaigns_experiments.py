"""Campaigns and experiments on real PostgreSQL and NATS: a lifecycle event on its stream issues one personal
offer (published), concurrent first exposures record one assignment, and payments' events feed the results."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from types import SimpleNamespace

from google.protobuf.message import Message

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte.payments.v1 import events_pb2 as payments_events
from azotte.payments.v1 import payments_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.convert import timestamp
from azotte_platform.events.envelope import binary_headers, stream_name, subject_for
from tests.helpers import eventually
from tests.integration.promotions.conftest import T0, Service
from tests.integration.promotions.promotions_support import active_promotion, checkout, percent_off, rid


async def publish(service: Service, tenant: str, producer: str, event_type: str, payload: Message) -> None:
    """Publish an event the way the producer's outbox relay does (a new event id each time)."""
    event_id = str(uuid.uuid4())
    headers = binary_headers(
        event_id=event_id,
        event_type=event_type,
        source=f"azotte/{producer}",
        tenant_id=tenant,
        time=T0,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await service.runtime.js.publish(
        subject_for(producer, tenant, event_type), payload.SerializeToString(), headers=headers
    )


def renewal_failed(customer: str) -> lifecycle_events.SubscriptionEvent:
    subscription = lifecycle_pb2.Subscription(
        id=f"sub-{customer}",
        customer_id=customer,
        plan_id="premium",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        create_time=timestamp(T0 - timedelta(days=60)),
    )
    return lifecycle_events.SubscriptionEvent(subscription=subscription, cause="soft_decline")


async def test_a_failed_renewal_on_lifecycles_stream_issues_one_personal_offer(service: Service):
    tenant = f"cp{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    promotion = await active_promotion(SimpleNamespace(stub=service.stub, metadata=metadata), percent_off(2_500))
    campaign = pb.Campaign(
        display_name="Win back",
        trigger=pb.CAMPAIGN_TRIGGER_RENEWAL_FAILED,
        conditions=pb.CampaignConditions(min_tenure_days=30),
        promotion_id=promotion.id,
    )
    made = await service.stub.CreateCampaign(
        pb.CreateCampaignRequest(request_id=rid(), campaign=campaign), metadata=metadata
    )

    await publish(service, tenant, "lifecycle", "subscription.renewal_failed", renewal_failed("ana"))
    await publish(service, tenant, "lifecycle", "subscription.renewal_failed", renewal_failed("ana"))

    async def offered() -> pb.CampaignOffer:
        listed = await service.stub.ListCampaignOffers(
            pb.ListCampaignOffersRequest(filter='customer_id = "ana"'), metadata=metadata
        )
        assert len(listed.offers) == 1
        offer: pb.CampaignOffer = listed.offers[0]
        return offer

    offer = await eventually(offered)
    assert offer.campaign_id == made.campaign.id and offer.promotion_id == promotion.id
    mine = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code=offer.code, checkout=checkout("ana")), metadata=metadata
    )
    theirs = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code=offer.code, checkout=checkout("bob")), metadata=metadata
    )
    assert mine.validation.eligible
    assert [i.reason for i in theirs.validation.ineligibilities] == [pb.INELIGIBILITY_REASON_CODE_NOT_FOUND]
    consumer = await service.runtime.js.pull_subscribe(
        f"azotte.{tenant}.promotions.campaign.>", stream=stream_name("promotions")
    )
    try:
        [message] = await consumer.fetch(1, timeout=5)
    finally:
        await consumer.unsubscribe()
    assert message.headers is not None and message.headers["ce-type"] == "campaign.offer_issued"
    got = await service.stub.GetCampaign(pb.GetCampaignRequest(campaign_id=made.campaign.id), metadata=metadata)
    assert got.campaign.offers_issued == 1  # the second event met the frequency cap


async def test_concurrent_first_exposures_record_one_assignment_and_payments_convert_it(service: Service):
    tenant = f"ex{uuid.uuid4().hex[:10]}"
    metadata = (("x-azotte-tenant", tenant),)
    usd = "USD"
    experiment = pb.Experiment(
        display_name="Price",
        currency_code=usd,
        variants=[
            pb.ExperimentVariant(
                id="a", weight=1, kind=pb.VARIANT_KIND_PRICE_POINT, price=Money(currency_code=usd, amount_minor=999)
            ),
            pb.ExperimentVariant(id="b", weight=1, kind=pb.VARIANT_KIND_TRIAL_LENGTH, trial_days=14),
        ],
    )
    made = await service.stub.CreateExperiment(
        pb.CreateExperimentRequest(request_id=rid(), experiment=experiment), metadata=metadata
    )
    experiment_id = made.experiment.id

    answers = await asyncio.gather(
        *(
            service.stub.AssignExperimentVariant(
                pb.AssignExperimentVariantRequest(request_id=rid(), experiment_id=experiment_id, customer_id="ana"),
                metadata=metadata,
            )
            for _ in range(20)
        )
    )
    assert len({a.variant.id for a in answers}) == 1
    charge = payments_pb2.Charge(
        customer_id="ana",
        net=Money(currency_code=usd, amount_minor=999),
        gross=Money(currency_code=usd, amount_minor=1_099),
    )
    await publish(service, tenant, "payments", "payment.succeeded", payments_events.PaymentSucceeded(charge=charge))

    async def converted() -> pb.VariantResult:
        results = await service.stub.GetExperimentResults(
            pb.GetExperimentResultsRequest(experiment_id=experiment_id), metadata=metadata
        )
        [mine] = [r for r in results.results if r.variant_id == answers[0].variant.id]
        assert mine.converted == 1
        result: pb.VariantResult = mine
        return result

    mine = await eventually(converted)
    assert (mine.exposed, mine.revenue.amount_minor, mine.revenue_per_customer.amount_minor) == (1, 999, 999)
    consumer = await service.runtime.js.pull_subscribe(
        f"azotte.{tenant}.promotions.experiment.>", stream=stream_name("promotions")
    )
    try:
        messages = await consumer.fetch(5, timeout=2)
    finally:
        await consumer.unsubscribe()
    assert [m.headers["ce-type"] for m in messages if m.headers] == ["experiment.assigned"]
