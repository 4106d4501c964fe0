"""On PostgreSQL, concurrent CreateSubscription calls for one customer and one plan family: exactly one wins."""

from __future__ import annotations

import asyncio

import grpc

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_platform.grpc.status import from_rpc_error
from tests.integration.lifecycle.conftest import Service
from tests.integration.lifecycle.test_lifecycle_year import new_customer, rid

CONCURRENT = 8


def create(customer_id: str, plan_id: str, **fields: object) -> pb.CreateSubscriptionRequest:
    return pb.CreateSubscriptionRequest(
        request_id=rid(),
        customer_id=customer_id,
        plan_id=plan_id,
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        billing_origin=pb.BILLING_ORIGIN_AZOTTE_BILLED,
        **fields,  # type: ignore[arg-type]
    )


async def live_subscriptions(svc: Service, customer_id: str) -> list[pb.Subscription]:
    listed = await svc.stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(customer_id=customer_id), metadata=svc.metadata
    )
    return list(listed.subscriptions)


async def test_of_concurrent_creates_in_one_family_exactly_one_wins_the_others_are_already_subscribed(
    service: Service,
) -> None:
    svc = service
    customer = await new_customer(svc)
    plans = ["basic", "premium"] * (CONCURRENT // 2)
    answers = await asyncio.gather(
        *(svc.stub.CreateSubscription(create(customer, plan), metadata=svc.metadata) for plan in plans),
        return_exceptions=True,
    )
    made = [a for a in answers if isinstance(a, pb.CreateSubscriptionResponse)]
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert (len(made), len(refused)) == (1, CONCURRENT - 1)
    assert {e.code() for e in refused} == {grpc.StatusCode.ALREADY_EXISTS}
    assert {from_rpc_error(e).reason for e in refused} == {"ALREADY_SUBSCRIBED"}
    assert [s.id for s in await live_subscriptions(svc, customer)] == [made[0].subscription.id]


async def test_a_caller_chosen_id_and_a_validate_only_check_over_grpc(service: Service) -> None:
    svc = service
    customer = await new_customer(svc)
    chosen = "sub_" + rid()
    checked = await svc.stub.CreateSubscription(
        create(customer, "basic", subscription_id=chosen, validate_only=True), metadata=svc.metadata
    )
    assert checked.subscription.id == chosen
    assert await live_subscriptions(svc, customer) == []
    made = await svc.stub.CreateSubscription(create(customer, "basic", subscription_id=chosen), metadata=svc.metadata)
    assert made.subscription.id == chosen
    try:
        await svc.stub.CreateSubscription(create(customer, "songs", subscription_id=chosen), metadata=svc.metadata)
    except grpc.aio.AioRpcError as error:
        assert (error.code(), from_rpc_error(error).reason) == (grpc.StatusCode.ALREADY_EXISTS, "SUBSCRIPTION_EXISTS")
    else:
        raise AssertionError("a taken subscription id was accepted")
    assert [s.id for s in await live_subscriptions(svc, customer)] == [chosen]
