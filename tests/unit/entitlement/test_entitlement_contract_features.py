"""A contract's custom features and quotas, carried by its subscription's lifecycle events: granted exactly as the
events say (with or without a plan, replacing the plan's feature of the same key), and kept by drift repair whatever
the catalog later says of the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import subscription_state_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte_entitlement.domain.derivation import PlanFeature
from azotte_entitlement.domain.grants import FeatureKind
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.lifecycle_consumer import LifecycleEventHandler
from azotte_entitlement.service_layer.drift_repair import reconcile_drift
from azotte_platform import context
from azotte_platform.clock import FixedClock
from tests.helpers import lifecycle_event
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

TENANT = "t1"
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=1)
BASIC = (PlanFeature("hd", FeatureKind.BOOLEAN), PlanFeature("tokens", FeatureKind.QUOTA, 1000))
EXTRAS = (PlanFeature("4k", FeatureKind.BOOLEAN), PlanFeature("seats", FeatureKind.SEATS, 2))


class World:
    """A fake unit of work and catalog, this replica's projection, and the lifecycle consumer's handler."""

    def __init__(self) -> None:
        self.uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
        self.plans = FakePlanCatalog({"basic": BASIC, "extras": EXTRAS})
        self.projection = AccessProjection()
        self.handler = LifecycleEventHandler(self.plans, self.projection, no_gate())
        self.events = 0

    async def receive(self, event_type: str, plan_id: str, features: dict[str, int | None]) -> None:
        """One lifecycle event of active subscription sub-1 whose snapshot carries `features`."""
        self.events += 1
        created = Timestamp()
        created.FromDatetime(START)
        payload = lifecycle_events.SubscriptionEvent(
            subscription=lifecycle_pb2.Subscription(
                id="sub-1",
                customer_id="cust-1",
                plan_id=plan_id,
                state=subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE,
                create_time=created,
                features=[catalog_pb2.FeatureGrant(feature_key=k, limit=v) for k, v in features.items()],
            )
        )
        payload.occur_time.FromDatetime(NOW + timedelta(minutes=self.events))
        event = lifecycle_event(f"e-{self.events}", event_type, payload, TENANT, NOW)
        with context.tenant_scope(TENANT):
            async with self.uow as uow:
                await self.handler(uow, event)
                await uow.commit()

    def access(self) -> dict[str, int | None]:
        """Each feature the customer may use now, with its limit."""
        keys = ("hd", "tokens", "4k", "seats")
        decisions = [self.projection.check(TENANT, "cust-1", key, NOW + timedelta(hours=1)) for key in keys]
        return {d.feature_key: d.limit for d in decisions if d.allowed}


async def test_a_contract_without_a_plan_grants_exactly_its_features_without_asking_the_catalog_for_a_plan() -> None:
    world = World()
    await world.receive("subscription.activated", "", {"tokens": 250_000, "4k": None})
    assert world.access() == {"tokens": 250_000, "4k": None}
    assert world.plans.calls == []

    await world.receive("subscription.features_changed", "", {"tokens": 400_000})
    assert world.access() == {"tokens": 400_000}


async def test_a_custom_feature_replaces_the_plans_feature_of_the_same_key() -> None:
    world = World()
    await world.receive("subscription.activated", "basic", {"tokens": 250_000, "seats": 40})
    assert world.access() == {"hd": None, "tokens": 250_000, "seats": 40}

    await world.receive("subscription.features_changed", "basic", {})
    assert world.access() == {"hd": None, "tokens": 1000}


async def test_drift_repair_after_the_plan_changed_in_the_catalog_keeps_the_custom_features() -> None:
    world = World()
    await world.receive("subscription.activated", "basic", {"tokens": 250_000, "4k": None})
    world.plans.plans["basic"] = (PlanFeature("seats", FeatureKind.SEATS, 5),)  # the catalog's plan changed

    with context.tenant_scope(TENANT):
        async with world.uow as uow:
            outcome = await reconcile_drift(uow, world.projection, world.plans, TENANT)
            await uow.commit()

    report = outcome.report
    assert world.plans.fresh == ["basic"]  # the catalog itself: a change made just before counts
    assert (report.granted, report.revoked, report.changed) == (1, 1, 0)  # seats came with the plan, hd went
    assert world.access() == {"tokens": 250_000, "4k": None, "seats": 5}
    stored = await world.uow.subscriptions.get(TENANT, "sub-1")
    assert stored is not None and [f.feature_key for f in stored.own] == ["tokens", "4k"]
