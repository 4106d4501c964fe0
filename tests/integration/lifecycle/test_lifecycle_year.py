"""A subscription through a year of time travel: trial, renewals, dunning, pause, plan changes, expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import stream_name
from azotte_platform.grpc.status import from_rpc_error
from tests.helpers import eventually
from tests.integration.lifecycle.conftest import TENANT, Service

S = subscription_state_pb2.SubscriptionState


def rid() -> str:
    return uuid.uuid4().hex


async def new_customer(svc: Service) -> str:
    response = await svc.stub.CreateCustomer(
        pb.CreateCustomerRequest(request_id=rid(), external_id=rid(), email="ana@example.com", country_code="FR"),
        metadata=svc.metadata,
    )
    return response.customer.id


async def subscribe(
    svc: Service, plan_id: str, *, initial_charge_id: str = "", storefront_id: str = "us"
) -> pb.Subscription:
    response = await svc.stub.CreateSubscription(
        pb.CreateSubscriptionRequest(
            request_id=rid(),
            customer_id=await new_customer(svc),
            plan_id=plan_id,
            storefront_id=storefront_id,
            channel=channel_pb2.CHANNEL_WEB,
            billing_origin=pb.BILLING_ORIGIN_AZOTTE_BILLED,
            initial_charge_id=initial_charge_id,
        ),
        metadata=svc.metadata,
    )
    return response.subscription


async def travel(svc: Service, delta: timedelta) -> pb.RunDueWorkResponse:
    svc.clock.advance(delta)
    response: pb.RunDueWorkResponse = await svc.stub.RunDueWork(
        pb.RunDueWorkRequest(request_id=rid()), metadata=svc.metadata
    )
    assert response.remaining_count == 0
    return response


async def get(svc: Service, sub_id: str) -> pb.Subscription:
    return (
        await svc.stub.GetSubscription(pb.GetSubscriptionRequest(subscription_id=sub_id), metadata=svc.metadata)
    ).subscription


async def test_a_trial_renews_monthly_fails_into_grace_recovers_holds_and_expires(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "trial")
    assert sub.state == S.SUBSCRIPTION_STATE_TRIALING
    await travel(svc, timedelta(days=14))
    sub = await get(svc, sub.id)
    assert (sub.state, sub.period_index) == (S.SUBSCRIPTION_STATE_ACTIVE, 1)
    for month in range(2, 5):  # three renewals
        await travel(svc, timedelta(days=31))
        assert (await get(svc, sub.id)).period_index == month
    svc.payments.script = [ChargeOutcome.SOFT_DECLINE]
    await travel(svc, timedelta(days=31))
    sub = await get(svc, sub.id)
    assert (sub.state, sub.entitled, sub.retry_attempt) == (S.SUBSCRIPTION_STATE_PAST_DUE, True, 1)
    await travel(svc, timedelta(days=1))  # retry on day 1 succeeds
    sub = await get(svc, sub.id)
    assert (sub.state, sub.period_index) == (S.SUBSCRIPTION_STATE_ACTIVE, 5)
    svc.payments.script = [ChargeOutcome.SOFT_DECLINE] * 5
    await travel(svc, timedelta(days=31))
    await travel(svc, timedelta(days=3))  # retry day 1 fails, grace (3 days) ends: on hold
    sub = await get(svc, sub.id)
    assert (sub.state, sub.entitled) == (S.SUBSCRIPTION_STATE_ON_HOLD, False)
    await travel(svc, timedelta(days=40))  # remaining retries fail; hold ends: expired
    sub = await get(svc, sub.id)
    assert sub.state == S.SUBSCRIPTION_STATE_EXPIRED
    assert all(count == 1 for count in svc.payments.charged.values())
    assert set(svc.payments.tenant_of.values()) == {TENANT}  # the scheduler charged in the subscription's tenant

    history = await svc.stub.ListSubscriptionHistory(
        pb.ListSubscriptionHistoryRequest(subscription_id=sub.id, page_size=100), metadata=svc.metadata
    )
    types = [e.event_type for e in history.entries]
    assert types[:3] == ["subscription.created", "trial.started", "trial.converted"]
    assert types.count("subscription.renewed") == 3
    assert {"subscription.renewal_failed", "subscription.recovered", "subscription.on_hold"} <= set(types)
    assert types[-1] == "subscription.expired"

    js = svc.runtime.js

    async def published() -> list[str]:
        info = await js.stream_info(stream_name("lifecycle"))
        assert info.state.messages >= len(types)
        consumer = await js.pull_subscribe(f"azotte.{TENANT}.lifecycle.>", stream=stream_name("lifecycle"))
        messages = await consumer.fetch(info.state.messages, timeout=2)
        ours = []
        for message in messages:
            payload = events_pb2.SubscriptionEvent.FromString(message.data)
            if payload.subscription.id == sub.id:
                assert message.headers is not None
                ours.append(message.headers["ce-type"])
        assert ours == types
        return ours

    await eventually(published)


async def test_pause_resume_upgrade_and_downgrade_with_exact_proration(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "basic")  # $10 from Jan 1 to Feb 1 (31 days)
    svc.clock.advance(timedelta(days=15, hours=12))  # exactly halfway
    preview = await svc.stub.PreviewPlanChange(
        pb.PreviewPlanChangeRequest(subscription_id=sub.id, plan_id="premium"), metadata=svc.metadata
    )
    assert preview.plan_change.proration.net.amount_minor == 500
    changed = await svc.stub.ChangeSubscriptionPlan(
        pb.ChangeSubscriptionPlanRequest(request_id=rid(), subscription_id=sub.id, plan_id="premium"),
        metadata=svc.metadata,
    )
    proration = changed.plan_change.proration
    assert (proration.credit.amount_minor, proration.charge.amount_minor, proration.net.amount_minor) == (
        500,
        1000,
        500,
    )
    assert changed.plan_change.direction == pb.PLAN_CHANGE_DIRECTION_UPGRADE
    assert changed.subscription.renewal_price.amount_minor == 2000

    down = await svc.stub.ChangeSubscriptionPlan(
        pb.ChangeSubscriptionPlanRequest(request_id=rid(), subscription_id=sub.id, plan_id="basic"),
        metadata=svc.metadata,
    )
    assert down.plan_change.timing == pb.PLAN_CHANGE_TIMING_PERIOD_END
    assert down.subscription.pending_plan_change.plan_id == "basic"
    await travel(svc, timedelta(days=16))  # Feb 1: downgrade applies, then renews at $10
    sub = await get(svc, sub.id)
    assert (sub.plan_id, sub.renewal_price.amount_minor, sub.period_index) == ("basic", 1000, 2)

    paused = await svc.stub.PauseSubscription(
        pb.PauseSubscriptionRequest(request_id=rid(), subscription_id=sub.id, periods=1), metadata=svc.metadata
    )
    assert (paused.subscription.state, paused.subscription.entitled) == (S.SUBSCRIPTION_STATE_PAUSED, False)
    with pytest.raises(grpc.aio.AioRpcError) as illegal:
        await svc.stub.PauseSubscription(
            pb.PauseSubscriptionRequest(request_id=rid(), subscription_id=sub.id, periods=1), metadata=svc.metadata
        )
    assert illegal.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "paused" in (illegal.value.details() or "")
    await travel(svc, timedelta(days=29))  # the pause ends by itself
    assert (await get(svc, sub.id)).state == S.SUBSCRIPTION_STATE_ACTIVE


async def test_request_ids_replay_the_first_answer_and_bad_input_names_the_field(service: Service) -> None:
    svc = service
    request = pb.CreateCustomerRequest(request_id=rid(), external_id="c-1", email="a@b.co", country_code="FR")
    first = await svc.stub.CreateCustomer(request, metadata=svc.metadata)
    again = await svc.stub.CreateCustomer(request, metadata=svc.metadata)
    assert first.customer.id == again.customer.id
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await svc.stub.CreateCustomer(
            pb.CreateCustomerRequest(request_id=rid(), external_id="c-2", country_code="France"), metadata=svc.metadata
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "country_code" in str(bad.value.trailing_metadata()) + (bad.value.details() or "")


async def test_refusals_name_the_requests_own_fields(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "basic")
    past = Timestamp()
    past.FromDatetime(svc.clock.now() - timedelta(days=1))
    with pytest.raises(grpc.aio.AioRpcError) as bad_pause:
        await svc.stub.PauseSubscription(
            pb.PauseSubscriptionRequest(request_id=rid(), subscription_id=sub.id, resume_time=past),
            metadata=svc.metadata,
        )
    refusal = from_rpc_error(bad_pause.value)
    assert isinstance(refusal, InvalidArgument)
    assert [v.field for v in refusal.violations] == ["resume_time"]
