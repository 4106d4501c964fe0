"""Consistency tokens on a real replica: a check naming a lifecycle write reflects it, or says it cannot yet."""

from __future__ import annotations

import grpc
import pytest

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_entitlement.domain.consistency import token_of
from azotte_platform.grpc.status import from_rpc_error
from tests.integration.entitlement.conftest import Replica, World, subscription, violated_fields

PAUSED = subscription_state_pb2.SUBSCRIPTION_STATE_PAUSED


async def check(world: World, replica: Replica, token: str, customer_id: str = "cust-1") -> pb.CheckAccessResponse:
    request = pb.CheckAccessRequest(customer_id=customer_id, feature_key="hd_streaming", consistency_token=token)
    answer: pb.CheckAccessResponse = await replica.stub.CheckAccess(request, metadata=world.metadata())
    return answer


async def active_then_paused(world: World, replica: Replica) -> str:
    """An active subscription, seen; then a pause, published: the pause's token."""
    activated = await world.publish_lifecycle("subscription.activated", subscription("sub-1", "cust-1"))
    assert (await check(world, replica, token_of(activated))).allowed
    return token_of(await world.publish_lifecycle("subscription.paused", subscription("sub-1", "cust-1", state=PAUSED)))


async def test_a_check_with_the_token_of_a_pause_never_answers_from_before_it(world: World) -> None:
    replica = await world.start_replica()
    token = await active_then_paused(world, replica)
    answer = await check(world, replica, token)  # immediately: the event may not be consumed yet
    assert (answer.allowed, answer.reason) == (False, pb.ACCESS_REASON_PAUSED)
    assert answer.consistency_token  # the position the answer reflects
    listed = await replica.stub.ListEntitlements(
        pb.ListEntitlementsRequest(customer_id="cust-1", consistency_token=token), metadata=world.metadata()
    )
    assert listed.entitlements and not any(e.access.allowed for e in listed.entitlements)
    assert listed.consistency_token


async def test_a_token_not_reached_within_the_wait_is_unavailable_naming_it(world: World) -> None:
    replica = await world.start_replica(consistency_wait_seconds=0.3)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await check(world, replica, token_of("never-published"))
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    error = from_rpc_error(raised.value)
    assert error.reason == "CONSISTENCY_NOT_REACHED"
    assert "consistency_token" in str(error)


async def test_a_malformed_token_is_invalid_argument_naming_the_field(world: World) -> None:
    replica = await world.start_replica()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await check(world, replica, "not a token")
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == ["consistency_token"]


async def test_every_replica_reaches_a_token_whichever_replica_consumed_the_event(world: World) -> None:
    first, second = await world.start_replica(), await world.start_replica()
    token = await active_then_paused(world, first)
    for replica in (first, second):
        answer = await check(world, replica, token)
        assert (answer.allowed, answer.reason) == (False, pb.ACCESS_REASON_PAUSED)


async def test_a_replica_started_after_the_write_reaches_its_token_at_once(world: World) -> None:
    replica = await world.start_replica()
    token = await active_then_paused(world, replica)
    assert not (await check(world, replica, token)).allowed
    await world.stop_replica(replica)
    fresh = await world.start_replica(consistency_wait_seconds=0.5)
    answer = await check(world, fresh, token)
    assert (answer.allowed, answer.reason) == (False, pb.ACCESS_REASON_PAUSED)
