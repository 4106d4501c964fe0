"""Every replica answers from its own projection: rebuilt on restart, kept current from the service's events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_entitlement.domain.projection import CustomerRef
from tests.helpers import eventually
from tests.integration.entitlement.conftest import Replica, World, subscription, ts

CUSTOMERS = ["active", "held", "owner", "member", "vip", "heavy"]


async def populate(world: World, replica: Replica) -> None:
    """Customers in many situations: subscribed, on hold, in a family, manual grant, suspended, quota used (in a
    period ending in a day)."""
    await world.publish_lifecycle("subscription.activated", subscription("s-active", "active"))
    await world.publish_lifecycle(
        "subscription.on_hold", subscription("s-held", "held", state=subscription_state_pb2.SUBSCRIPTION_STATE_ON_HOLD)
    )
    await world.publish_lifecycle("subscription.activated", subscription("s-family", "owner", plan_id="family"))
    await world.publish_lifecycle("subscription.activated", subscription("s-heavy", "heavy"))

    async def ready() -> bool:
        family = await world.check(replica, "owner", "family_seats")
        held = await world.check(replica, "held", "hd_streaming")
        heavy = await world.check(replica, "heavy", "ai_tokens")
        return family.allowed and held.reason == pb.ACCESS_REASON_ON_HOLD and heavy.allowed

    await eventually(ready)
    meta = world.metadata()
    await replica.stub.AddGroupMember(
        pb.AddGroupMemberRequest(request_id="m", group_id="s-family", customer_id="member"), metadata=meta
    )
    await replica.stub.CreateManualGrant(
        pb.CreateManualGrantRequest(
            request_id="g", customer_id="vip", feature_key="ai_tokens", kind=pb.FEATURE_KIND_QUOTA, limit=50, reason="r"
        ),
        metadata=meta,
    )
    await replica.stub.SuspendFeature(
        pb.SuspendFeatureRequest(request_id="s", customer_id="active", feature_key="hd_streaming", reason="limit"),
        metadata=meta,
    )
    now = world.clock.now()
    await replica.stub.RecordUsage(
        pb.RecordUsageRequest(
            request_id="u",
            customer_id="heavy",
            feature_key="ai_tokens",
            used=400,
            period_start_time=ts(now),
            period_end_time=ts(now + timedelta(days=1)),
        ),
        metadata=meta,
    )


async def everything(world: World, replica: Replica) -> dict[str, pb.ListEntitlementsResponse]:
    """Every customer's entitlements (without the consistency token: a replica's position, not an answer)."""
    listed = {}
    for customer in CUSTOMERS:
        answer = await replica.stub.ListEntitlements(
            pb.ListEntitlementsRequest(customer_id=customer), metadata=world.metadata()
        )
        answer.ClearField("consistency_token")
        listed[customer] = answer
    return listed


async def test_a_restarted_replica_rebuilds_the_same_answers(world: World, replica: Replica) -> None:
    await populate(world, replica)
    before = await everything(world, replica)
    access = {(c, e.access.feature_key): e.access for c, listed in before.items() for e in listed.entitlements}
    assert access["active", "hd_streaming"].reason == pb.ACCESS_REASON_SUSPENDED
    assert access["heavy", "ai_tokens"].remaining == 600
    assert access["held", "hd_streaming"].reason == pb.ACCESS_REASON_ON_HOLD
    assert access["member", "hd_streaming"].allowed
    assert access["vip", "ai_tokens"].limit == 50

    await world.stop_replica(replica)
    restarted = await world.start_replica()

    assert await everything(world, restarted) == before
    world.clock.advance(timedelta(days=1))  # the usage period's end, as stored, is past
    reset = await world.check(restarted, "heavy", "ai_tokens")
    assert (reset.allowed, reset.used, reset.remaining) == (True, 0, 1000)


async def test_every_replica_follows_changes_made_through_another(world: World) -> None:
    first, second = await world.start_replica(), await world.start_replica()
    await populate(world, first)
    expected = await everything(world, first)

    async def second_agrees() -> bool:
        return await everything(world, second) == expected

    await eventually(second_agrees)

    meta = world.metadata()
    await second.stub.RestoreFeature(
        pb.RestoreFeatureRequest(request_id="restore", customer_id="active", feature_key="hd_streaming"),
        metadata=meta,
    )
    await second.stub.RemoveGroupMember(
        pb.RemoveGroupMemberRequest(request_id="remove", group_id="s-family", customer_id="member"), metadata=meta
    )

    async def first_follows() -> bool:
        restored = await world.check(first, "active", "hd_streaming")
        removed = await world.check(first, "member", "hd_streaming")
        return restored.allowed and removed.reason == pb.ACCESS_REASON_NO_GRANT

    await eventually(first_follows)


async def test_checks_need_a_tenant(world: World, replica: Replica) -> None:
    try:
        await replica.stub.CheckAccess(pb.CheckAccessRequest(customer_id="c", feature_key="f"))
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        raise AssertionError("a check without a tenant was answered")


def reloads(replica: Replica) -> list[str]:
    """The customers `replica` reloads from the database from now on, as the events of changes reach it."""
    reloaded: list[str] = []
    sync = replica.entitlement.sync
    reload = sync.reload

    async def recorded(customers: set[CustomerRef]) -> Any:
        reloaded.extend(customer for _, customer in customers)
        return await reload(customers)

    sync.reload = recorded  # type: ignore[method-assign]
    return reloaded


async def test_a_replica_reloads_the_customers_others_changed_not_those_it_changed_itself(world: World) -> None:
    first, second = await world.start_replica(), await world.start_replica()
    by_first, by_second = reloads(first), reloads(second)
    meta = world.metadata()

    def grant(request_id: str, customer_id: str) -> pb.CreateManualGrantRequest:
        return pb.CreateManualGrantRequest(
            request_id=request_id,
            customer_id=customer_id,
            feature_key="ai_tokens",
            kind=pb.FEATURE_KIND_QUOTA,
            limit=50,
            reason="r",
        )

    await first.stub.CreateManualGrant(grant("mine", "vip"), metadata=meta)
    await second.stub.CreateManualGrant(grant("theirs", "other"), metadata=meta)

    async def both_know_both() -> bool:
        checks = [await world.check(r, c, "ai_tokens") for r in (first, second) for c in ("vip", "other")]
        return all(check.allowed for check in checks)

    await eventually(both_know_both)

    async def each_reloaded_the_others_change() -> bool:
        return "other" in by_first and "vip" in by_second

    # NOTE: the events reach both replicas in the order committed, "vip" before "other".
    await eventually(each_reloaded_the_others_change)
    assert "vip" not in by_first
    assert "other" not in by_second
