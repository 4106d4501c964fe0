"""Store-billed subscriptions driven by normalized channel events: dedupe by id, order by event time."""

from __future__ import annotations

import uuid
from datetime import timedelta

from google.protobuf import timestamp_pb2

from azotte.common.v1 import channel_pb2, money_pb2, subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from tests.integration.lifecycle.conftest import T0, Service
from tests.integration.lifecycle.test_lifecycle_year import new_customer

K = pb.ChannelEventKind


def stamp(days: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(T0 + timedelta(days=days))
    return out


async def test_store_events_apply_once_and_never_regress(service: Service) -> None:
    svc = service
    customer_id = await new_customer(svc)
    identity = pb.ChannelIdentity(kind=pb.CHANNEL_IDENTITY_KIND_APP_STORE_ORIGINAL_TRANSACTION_ID, value="otx-1")

    async def send(event_id: str, kind: int, day: float, **fields: object) -> pb.ApplyChannelEventResponse:
        event = pb.ChannelEvent(
            event_id=event_id,
            kind=kind,  # type: ignore[arg-type]
            occur_time=stamp(day),
            channel=channel_pb2.CHANNEL_APP_STORE,
            identity=identity,
            **fields,  # type: ignore[arg-type]
        )
        return await svc.stub.ApplyChannelEvent(
            pb.ApplyChannelEventRequest(request_id=uuid.uuid4().hex, event=event), metadata=svc.metadata
        )

    bought = await send(
        "n1",
        K.CHANNEL_EVENT_KIND_PURCHASED,
        0,
        period_end_time=stamp(30),
        plan_id="basic",
        price=money_pb2.Money(currency_code="USD", amount_minor=999),
        customer_id=customer_id,
        storefront_id="us",
    )
    assert bought.subscription.billing_origin == pb.BILLING_ORIGIN_STORE_BILLED
    assert bought.subscription.renewal_price.amount_minor == 999
    renewed = await send("n3", K.CHANNEL_EVENT_KIND_RENEWED, 30, period_end_time=stamp(60))
    assert (renewed.outcome, renewed.subscription.period_index) == (pb.CHANNEL_EVENT_OUTCOME_APPLIED, 2)
    again = await send("n3", K.CHANNEL_EVENT_KIND_RENEWED, 30, period_end_time=stamp(60))
    assert (again.outcome, again.subscription.period_index) == (pb.CHANNEL_EVENT_OUTCOME_DUPLICATE, 2)
    late = await send("n2", K.CHANNEL_EVENT_KIND_EXPIRED, 20)  # older than n3: must not expire it
    assert (late.outcome, late.subscription.state) == (
        pb.CHANNEL_EVENT_OUTCOME_STALE,
        subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE,
    )
    failed = await send("n4", K.CHANNEL_EVENT_KIND_RENEWAL_FAILED_IN_GRACE, 60, grace_end_time=stamp(76))
    assert (failed.subscription.state, failed.subscription.entitled) == (
        subscription_state_pb2.SUBSCRIPTION_STATE_PAST_DUE,
        True,
    )
    svc.clock.advance(timedelta(days=100))  # the scheduler leaves store-billed subscriptions to the store
    await svc.stub.RunDueWork(pb.RunDueWorkRequest(request_id="run"), metadata=svc.metadata)
    assert not svc.payments.calls
