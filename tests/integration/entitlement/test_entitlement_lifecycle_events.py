"""Each lifecycle event, published into NATS as lifecycle publishes it, leads to the right access answer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_platform.db.tables import inbox
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import binary_headers, subject_for
from tests.helpers import eventually
from tests.integration.entitlement.conftest import PERIOD, START, Replica, World, subscription

TRIALING, ACTIVE, PAST_DUE = (
    subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING,
    subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE,
    subscription_state_pb2.SUBSCRIPTION_STATE_PAST_DUE,
)
ON_HOLD, PAUSED, EXPIRED = (
    subscription_state_pb2.SUBSCRIPTION_STATE_ON_HOLD,
    subscription_state_pb2.SUBSCRIPTION_STATE_PAUSED,
    subscription_state_pb2.SUBSCRIPTION_STATE_EXPIRED,
)
ALLOWED = pb.ACCESS_REASON_UNSPECIFIED

# (event type, state, cause) applied in order; then the answer for hd_streaming.
SCENARIOS = {
    "created trialing": ([("subscription.created", TRIALING, "")], ALLOWED),
    "trial started": ([("trial.started", TRIALING, "")], ALLOWED),
    "activated": ([("subscription.created", TRIALING, ""), ("subscription.activated", ACTIVE, "")], ALLOWED),
    "renewed": ([("subscription.activated", ACTIVE, ""), ("subscription.renewed", ACTIVE, "")], ALLOWED),
    "renewal failed keeps access in grace": (
        [("subscription.activated", ACTIVE, ""), ("subscription.renewal_failed", PAST_DUE, "soft_decline")],
        ALLOWED,
    ),
    "on hold": (
        [("subscription.renewal_failed", PAST_DUE, ""), ("subscription.on_hold", ON_HOLD, "grace_ended")],
        pb.ACCESS_REASON_ON_HOLD,
    ),
    "recovered": ([("subscription.on_hold", ON_HOLD, ""), ("subscription.recovered", ACTIVE, "")], ALLOWED),
    "paused": ([("subscription.activated", ACTIVE, ""), ("subscription.paused", PAUSED, "")], pb.ACCESS_REASON_PAUSED),
    "resumed": ([("subscription.paused", PAUSED, ""), ("subscription.resumed", ACTIVE, "")], ALLOWED),
    "expired": (
        [("subscription.activated", ACTIVE, ""), ("subscription.expired", EXPIRED, "")],
        pb.ACCESS_REASON_EXPIRED,
    ),
    "refunded": (
        [("subscription.activated", ACTIVE, ""), ("subscription.expired", EXPIRED, "refunded")],
        pb.ACCESS_REASON_NO_GRANT,
    ),
    "revoked": (
        [("subscription.activated", ACTIVE, ""), ("subscription.expired", EXPIRED, "revoked")],
        pb.ACCESS_REASON_NO_GRANT,
    ),
    "trial converted": ([("trial.started", TRIALING, ""), ("trial.converted", ACTIVE, "")], ALLOWED),
    "trial expired": ([("trial.started", TRIALING, ""), ("trial.expired", EXPIRED, "")], pb.ACCESS_REASON_EXPIRED),
}


async def handled(world: World, replica: Replica, events: int) -> bool:
    """Whether the replica's consumer has handled `events` lifecycle events of this test's tenant."""
    async with replica.runtime.engine.connect() as connection:
        count = await connection.scalar(
            sa.select(sa.func.count()).select_from(inbox).where(inbox.c.tenant_id == world.tenant)
        )
    return count == events


async def answer_after(
    world: World, replica: Replica, steps: list[tuple[str, subscription_state_pb2.SubscriptionState.ValueType, str]]
) -> pb.CheckAccessResponse:
    sub_id, customer = f"sub-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
    for event_type, state, cause in steps:
        await world.publish_lifecycle(event_type, subscription(sub_id, customer, state=state), cause=cause)
    await eventually(lambda: handled(world, replica, len(steps)))
    return await world.check(replica, customer, "hd_streaming")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_lifecycle_event_gives_the_right_answer(world: World, replica: Replica, scenario: str) -> None:
    steps, reason = SCENARIOS[scenario]

    answer = await answer_after(world, replica, steps)

    assert answer.reason == reason
    assert answer.allowed == (reason == ALLOWED)
    if answer.allowed:
        assert [s.source for s in answer.sources] == [pb.GRANT_SOURCE_SUBSCRIPTION]
        assert not answer.HasField("valid_until")


async def test_cancel_scheduled_keeps_access_until_the_period_ends(world: World, replica: Replica) -> None:
    sub_id, customer = "sub-cancel", "cust-cancel"
    await world.publish_lifecycle("subscription.activated", subscription(sub_id, customer))
    await world.publish_lifecycle(
        "subscription.cancel_scheduled", subscription(sub_id, customer, cancel_at_period_end=True)
    )

    async def until_period_end() -> pb.CheckAccessResponse | None:
        answer = await world.check(replica, customer, "hd_streaming")
        return answer if answer.HasField("valid_until") else None

    answer = await eventually(until_period_end)
    assert answer is not None and answer.allowed
    assert answer.valid_until.ToDatetime().replace(tzinfo=START.tzinfo) == START + PERIOD

    world.clock.set(START + PERIOD + timedelta(seconds=1))
    after = await world.check(replica, customer, "hd_streaming")
    assert (after.allowed, after.reason) == (False, pb.ACCESS_REASON_EXPIRED)

    world.clock.set(START + timedelta(days=2))
    await world.publish_lifecycle("subscription.reactivated", subscription(sub_id, customer))

    async def open_ended_again() -> bool:
        return not (await world.check(replica, customer, "hd_streaming")).HasField("valid_until")

    await eventually(open_ended_again)


async def test_plan_change_swaps_the_features_and_limits(world: World, replica: Replica) -> None:
    sub_id, customer = "sub-upgrade", "cust-upgrade"
    await world.publish_lifecycle("subscription.activated", subscription(sub_id, customer, plan_id="basic"))

    async def quota(expected: int) -> bool:
        return (await world.check(replica, customer, "ai_tokens")).limit == expected

    await eventually(lambda: quota(1000))
    assert not (await world.check(replica, customer, "uhd_streaming")).allowed

    await world.publish_lifecycle("subscription.plan_changed", subscription(sub_id, customer, plan_id="premium"))

    await eventually(lambda: quota(5000))
    assert (await world.check(replica, customer, "uhd_streaming")).allowed


async def test_a_late_event_does_not_undo_a_newer_one(world: World, replica: Replica) -> None:
    sub_id, customer = "sub-late", "cust-late"
    now = world.clock.now()
    await world.publish_lifecycle("subscription.paused", subscription(sub_id, customer, state=PAUSED), occurred=now)
    await world.publish_lifecycle(
        "subscription.activated", subscription(sub_id, customer), occurred=now - timedelta(hours=1)
    )
    await world.publish_lifecycle(
        "subscription.renewal_failed", subscription(sub_id, customer, state=PAST_DUE), occurred=now + timedelta(hours=1)
    )

    async def in_grace() -> bool:
        return (await world.check(replica, customer, "hd_streaming")).allowed

    await eventually(in_grace)


async def test_a_catalog_event_about_plans_refreshes_the_features_new_subscribers_get(world: World) -> None:
    replica = await world.start_replica(plan_cache_ttl_seconds=3600.0)  # only the event can refresh it
    await world.publish_lifecycle("subscription.activated", subscription("sub-cat", "cus-cat"))
    assert await eventually(lambda: _allowed(world, replica, "hd_streaming"))
    assert not await _allowed(world, replica, "uhd_streaming")
    world.catalog.plans["basic"].append(("uhd_streaming", None))
    assert not await _new_subscriber_gets(world, replica, "cus-before", "uhd_streaming")  # the cached plan
    await nats_connection.ensure_service_stream(world.js, "catalog")
    payload = catalog_pb2.Plan(id="basic")
    headers = binary_headers(
        event_id=str(uuid.uuid4()),
        event_type="plan.updated",
        source="azotte/catalog",
        tenant_id=world.tenant,
        time=world.clock.now(),
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await world.js.publish(
        subject_for("catalog", world.tenant, "plan.updated"), payload.SerializeToString(), headers=headers
    )

    async def a_new_subscriber_gets_the_new_feature() -> bool:
        return await _new_subscriber_gets(world, replica, f"cus-{uuid.uuid4().hex[:6]}", "uhd_streaming")

    assert await eventually(a_new_subscriber_gets_the_new_feature)


async def _allowed(world: World, replica: Replica, feature_key: str, customer: str = "cus-cat") -> bool:
    return bool((await world.check(replica, customer, feature_key)).allowed)


async def _new_subscriber_gets(world: World, replica: Replica, customer: str, feature_key: str) -> bool:
    """Whether a new subscriber of plan basic, once their activation is applied, may use `feature_key`."""
    await world.publish_lifecycle("subscription.activated", subscription(f"sub-{customer}", customer))
    assert await eventually(lambda: _allowed(world, replica, "hd_streaming", customer))
    return await _allowed(world, replica, feature_key, customer)


async def test_a_replica_back_on_nats_forgets_the_plan_features_it_cached(world: World) -> None:
    replica = await world.start_replica(plan_cache_ttl_seconds=3600.0)
    await world.publish_lifecycle("subscription.activated", subscription("sub-cat", "cus-cat"))
    assert await eventually(lambda: _allowed(world, replica, "hd_streaming", "cus-cat"))
    world.catalog.plans["basic"].append(("uhd_streaming", None))  # a change whose event this replica missed

    assert not await _new_subscriber_gets(world, replica, "cus-before", "uhd_streaming")  # the cached plan
    for reconnected in replica.runtime.reconnect_listeners:  # what the NATS client runs once it is back
        await reconnected()
    assert await _new_subscriber_gets(world, replica, "cus-after", "uhd_streaming")


async def test_events_waiting_together_are_applied_in_shared_transactions_with_the_same_answers(
    world: World,
) -> None:
    customers = [f"cust-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for number, customer in enumerate(customers):
        sub_id = f"sub-together-{number}"
        await world.publish_lifecycle("subscription.created", subscription(sub_id, customer, state=TRIALING))
        await world.publish_lifecycle("subscription.activated", subscription(sub_id, customer))
    await world.publish_lifecycle("subscription.expired", subscription("sub-together-2", customers[2], state=EXPIRED))

    replica = await world.start_replica()
    await eventually(lambda: handled(world, replica, 7))

    answers = [await world.check(replica, customer, "hd_streaming") for customer in customers]
    assert [(a.allowed, a.reason) for a in answers] == [
        (True, ALLOWED),
        (True, ALLOWED),
        (False, pb.ACCESS_REASON_EXPIRED),
    ]
    async with replica.runtime.engine.connect() as connection:
        transactions = await connection.scalar(
            sa.select(sa.func.count(sa.distinct(sa.cast(sa.column("xmin"), sa.Text))))
            .select_from(inbox)
            .where(inbox.c.tenant_id == world.tenant)
        )
    assert transactions is not None and transactions < 7
