"""A repeating promotion discount on real PostgreSQL and NATS under time travel: it discounts exactly the renewals
it lasts, the renewed events carry it, the upcoming charge shows it, and the renewal after it is at full price."""

from __future__ import annotations

from datetime import timedelta

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import renewal_charge_key
from azotte_platform.events.envelope import stream_name
from tests.helpers import eventually
from tests.integration.lifecycle.conftest import TENANT, Service
from tests.integration.lifecycle.test_lifecycle_year import get, new_customer, rid, travel

MONTH = timedelta(days=31)  # from Jan 1: every renewal of the monthly plan is due within it


async def renewed_events(svc: Service, subscription_id: str, count: int) -> list[events_pb2.SubscriptionEvent]:
    """The subscription's `count` subscription.renewed events, once lifecycle relayed them (the stream holds other
    tests' events of the tenant too)."""
    js = svc.runtime.js
    subject = f"azotte.{TENANT}.lifecycle.subscription.renewed"

    async def relayed() -> list[events_pb2.SubscriptionEvent]:
        info = await js.stream_info(stream_name("lifecycle"), subjects_filter=subject)
        consumer = await js.pull_subscribe(subject, stream=stream_name("lifecycle"))
        try:
            messages = await consumer.fetch(info.state.messages, timeout=5) if info.state.messages else []
        finally:
            await consumer.unsubscribe()
        events = [events_pb2.SubscriptionEvent.FromString(message.data) for message in messages]
        mine = [e for e in events if e.subscription.id == subscription_id]
        return mine if len(mine) == count else []

    return await eventually(relayed)


async def test_a_discount_for_three_renewals_applies_to_exactly_three_under_time_travel(service: Service) -> None:
    svc = service
    created = await svc.stub.CreateSubscription(
        pb.CreateSubscriptionRequest(
            request_id=rid(),
            customer_id=await new_customer(svc),
            plan_id="basic",  # $10 a month
            storefront_id="us",
            channel=channel_pb2.CHANNEL_WEB,
            billing_origin=pb.BILLING_ORIGIN_AZOTTE_BILLED,
            initial_charge_id=svc.payments.checkout_charge(800),
            discount=pb.RecurringDiscount(
                promotion_id="prm_spring", redemption_id="rdm_1", percent_basis_points=2_000, renewals_left=3
            ),
        ),
        metadata=svc.metadata,
    )
    sub_id = created.subscription.id
    upcoming = await svc.stub.GetUpcomingCharge(
        pb.GetUpcomingChargeRequest(subscription_id=sub_id), metadata=svc.metadata
    )
    assert (upcoming.amount.amount_minor, upcoming.discount.amount_minor) == (800, 200)
    left = []
    for _ in range(4):
        await travel(svc, MONTH)
        left.append((await get(svc, sub_id)).discount.renewals_left)
    charged = [svc.payments.amounts[renewal_charge_key(sub_id, period, 0)] for period in (2, 3, 4, 5)]
    assert charged == [800, 800, 800, 1_000]
    assert left == [2, 1, 0, 0]  # stored and read back: none left after the third
    assert not (await get(svc, sub_id)).HasField("discount")
    renewals = await renewed_events(svc, sub_id, 4)
    assert [e.discount.amount_minor for e in renewals] == [200, 200, 200, 0]
    assert [e.subscription.period_index for e in renewals] == [2, 3, 4, 5]
    after = await svc.stub.GetUpcomingCharge(pb.GetUpcomingChargeRequest(subscription_id=sub_id), metadata=svc.metadata)
    assert (after.amount.amount_minor, after.discount.amount_minor) == (1_000, 0)
