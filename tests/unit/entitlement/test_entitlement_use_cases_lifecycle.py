"""Lifecycle events applied to grants, with fakes of the ports: applied once, in order, with their causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import events_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, SubscriptionChange
from azotte_entitlement.domain.grants import FeatureKind, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.lifecycle_consumer import LifecycleEventHandler
from azotte_entitlement.service_layer.lifecycle_events import apply_subscription_change
from azotte_platform import context
from azotte_platform.clock import FixedClock
from azotte_platform.enums import SubscriptionState
from azotte_platform.events.envelope import ReceivedEvent
from tests.helpers import lifecycle_event
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

TENANT = "t1"
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=1)
PLANS = {"basic": (PlanFeature("hd", FeatureKind.BOOLEAN), PlanFeature("tokens", FeatureKind.QUOTA, 1000))}


def change(
    state: SubscriptionState = SubscriptionState.ACTIVE,
    *,
    event_type: str = "subscription.activated",
    cause: str = "",
    occurred_at: datetime = NOW,
) -> SubscriptionChange:
    return SubscriptionChange(
        event_type,
        TENANT,
        "sub-1",
        "cust-1",
        "basic",
        state,
        False,
        START,
        START + timedelta(days=30),
        cause,
        occurred_at,
    )


class World:
    """A fake unit of work, a fake catalog and this replica's projection."""

    def __init__(self) -> None:
        self.uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
        self.plans = FakePlanCatalog(PLANS)
        self.projection = AccessProjection()

    async def apply(self, applied: SubscriptionChange) -> list[str]:
        """Apply one change in its own unit of work; the types of the events it published."""
        before = len(self.uow.published)
        with context.tenant_scope(TENANT):
            async with self.uow as uow:
                await apply_subscription_change(uow, self.plans, self.projection, applied)
                await uow.commit()
        return [event.type for event in self.uow.published[before:]]

    def check(self, feature_key: str = "hd") -> tuple[bool, AccessReason | None]:
        decision = self.projection.check(TENANT, "cust-1", feature_key, NOW)
        return decision.allowed, decision.reason


async def test_a_lifecycle_event_applied_twice_changes_grants_once() -> None:
    world = World()

    first = await world.apply(change())
    again = await world.apply(change())

    assert first == ["entitlement.granted", "entitlement.granted"]
    assert again == []
    assert world.check() == (True, None)
    assert len(await world.uow.grants.of_tenant(TENANT)) == 2
    assert world.plans.calls == [(TENANT, "basic")]  # the stored snapshot's features are reused


async def test_an_event_older_than_the_snapshot_changes_nothing() -> None:
    world = World()
    await world.apply(change())
    await world.apply(change(SubscriptionState.ON_HOLD, event_type="subscription.on_hold"))

    late = await world.apply(change(event_type="subscription.renewed", occurred_at=NOW - timedelta(hours=1)))

    assert late == []
    assert world.check() == (False, AccessReason.ON_HOLD)


async def test_a_subscription_first_seen_paused_tells_why_access_is_withheld() -> None:
    world = World()

    published = await world.apply(change(SubscriptionState.PAUSED, event_type="subscription.paused"))

    assert published == ["entitlement.access_withheld"]
    payload = world.uow.published[-1].payload
    assert isinstance(payload, events_pb2.AccessWithheld)
    assert list(payload.feature_keys) == ["hd", "tokens"]
    assert world.check("tokens") == (False, AccessReason.PAUSED)
    assert world.uow.grants.denials[(TENANT, "cust-1", "hd")] is AccessReason.PAUSED


async def test_an_expiry_caused_by_a_refund_takes_access_away_without_a_reason() -> None:
    world = World()
    await world.apply(change())

    published = await world.apply(
        change(SubscriptionState.EXPIRED, event_type="subscription.expired", cause="Refunded")
    )

    assert published == ["entitlement.revoked", "entitlement.revoked"]
    assert world.check() == (False, AccessReason.NO_GRANT)
    stored = await world.uow.subscriptions.get_for_update(TENANT, "sub-1")
    assert stored is not None and stored.revoked


async def test_the_consumer_decodes_the_lifecycle_payload_and_ignores_one_without_a_subscription() -> None:
    world = World()
    handler = LifecycleEventHandler(world.plans, world.projection, no_gate())
    period_end = Timestamp()
    period_end.FromDatetime(START + timedelta(days=30))
    subscription = lifecycle_pb2.Subscription(
        id="sub-1",
        customer_id="cust-1",
        plan_id="basic",
        state=subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING,
        current_period_end_time=period_end,
    )

    def received(payload: lifecycle_events.SubscriptionEvent) -> ReceivedEvent:
        return lifecycle_event("e-1", "trial.started", payload, TENANT, NOW)

    with context.tenant_scope(TENANT):
        async with world.uow as uow:
            await handler(uow, received(lifecycle_events.SubscriptionEvent()))
            await handler(uow, received(lifecycle_events.SubscriptionEvent(subscription=subscription)))
            await uow.commit()

    stored = await world.uow.subscriptions.get_for_update(TENANT, "sub-1")
    assert stored is not None
    # NOTE: with no creation or period start, grants start when the event occurred.
    assert (stored.plan_id, stored.revoked, stored.event_time) == ("basic", False, NOW)
    assert (stored.snapshot.state, stored.snapshot.started_at) == (SubscriptionState.TRIALING, NOW)
    assert world.check() == (True, None)
    hd = world.projection.check(TENANT, "cust-1", "hd", NOW)
    assert [(s.source, s.source_ref) for s in hd.sources] == [(GrantSource.SUBSCRIPTION, "sub-1")]
