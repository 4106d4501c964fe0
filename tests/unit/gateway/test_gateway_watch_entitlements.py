"""WatchEntitlements in the gateway: the first state, then a new one only when an entitlement event (or a write
of this replica) names the customer and the decisions changed; a watch closes cleanly; the caller's checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import CustomerScopeViolation
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import Access, AccessReader
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.localization import FeatureTexts
from azotte_platform.clock import FixedClock
from azotte_platform.context import require_tenant
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.events.envelope import SUBJECT_HEADER, ReceivedEvent
from tests.unit.gateway.fakes import TENANT, caller

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Customers:
    known: set[tuple[str, str]]

    async def GetCustomer(self, request: lc.GetCustomerRequest) -> lc.GetCustomerResponse:
        if (require_tenant(), request.customer_id) not in self.known:
            raise NotFound(f"customer {request.customer_id!r} not found")
        return lc.GetCustomerResponse(customer=lc.Customer(id=request.customer_id))


@dataclass
class Features:
    """The features each customer may use; counts the listings."""

    allowed: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    listings: int = 0

    async def ListEntitlements(self, request: ent.ListEntitlementsRequest) -> ent.ListEntitlementsResponse:
        self.listings += 1
        keys = self.allowed.get((require_tenant(), request.customer_id), [])
        return ent.ListEntitlementsResponse(
            entitlements=[ent.Entitlement(access=ent.FeatureAccess(feature_key=k, allowed=True)) for k in keys],
            consistency_token=f"t{self.listings}",
        )


@dataclass
class FakePeers:
    lifecycle: Customers
    entitlement: Features


def event_about(customer_id: str, tenant_id: str = TENANT.id) -> ReceivedEvent:
    return ReceivedEvent(
        id="e1",
        type="entitlement.changed",
        source="entitlement",
        tenant_id=tenant_id,
        time=NOW,
        subject="",
        data_schema="",
        data=b"",
        headers={SUBJECT_HEADER: customer_id},
    )


@pytest.fixture
def world() -> tuple[Access, Features]:
    features = Features({(TENANT.id, "alice"): ["hd"]})
    peers = cast(Peers, FakePeers(Customers({(TENANT.id, "alice"), (TENANT.id, "bob")}), features))
    reader = AccessReader(peers, FixedClock(NOW), ttl_seconds=60, settle_seconds=0, max_customers=10)
    texts = FeatureTexts(peers, ttl_seconds=0)
    return Access(peers, reader, KnownCustomers(peers, max_customers=10), texts, watch_resync_seconds=3600), features


async def watch(access: Access, who: Caller, customer_id: str) -> AsyncIterator[gw.WatchEntitlementsResponse]:
    with who.scope():
        return await access.watch_entitlements(who, gw.WatchEntitlementsRequest(customer_id=customer_id))


def allowed(state: gw.WatchEntitlementsResponse) -> list[str]:
    return [d.feature_key for d in state.decisions if d.allowed]


async def test_the_first_state_then_each_change_an_event_names(world: tuple[Access, Features]) -> None:
    access, features = world
    states = await watch(access, caller(Role.VIEWER), "alice")
    first = await anext(states)
    assert allowed(first) == ["hd"] and first.consistency_token == "t1"

    features.allowed[(TENANT.id, "alice")] = ["hd", "4k"]
    access.reader.on_entitlement_event(event_about("alice"))
    assert allowed(await asyncio.wait_for(anext(states), 1)) == ["hd", "4k"]

    features.allowed[(TENANT.id, "alice")] = []
    access.reader.on_entitlement_event(event_about("alice"))
    assert allowed(await asyncio.wait_for(anext(states), 1)) == []
    await states.aclose()  # type: ignore[attr-defined]
    assert access.reader.changes.watching((TENANT.id, "alice")) == 0


async def test_events_about_someone_else_or_another_tenant_do_not_wake_the_watch(
    world: tuple[Access, Features],
) -> None:
    access, features = world
    states = await watch(access, caller(Role.VIEWER), "alice")
    await anext(states)
    next_state = asyncio.ensure_future(anext(states))
    access.reader.on_entitlement_event(event_about("bob"))
    access.reader.on_entitlement_event(event_about("alice", tenant_id="other"))
    await asyncio.sleep(0.05)
    assert features.listings == 1 and not next_state.done()

    access.reader.on_entitlement_event(event_about("alice"))  # re-read, but nothing changed: nothing is sent
    await asyncio.sleep(0.05)
    assert features.listings >= 2 and not next_state.done()
    next_state.cancel()


async def test_a_watch_is_checked_like_an_access_check(world: tuple[Access, Features]) -> None:
    access, _ = world
    with pytest.raises(NotFound):
        await watch(access, caller(Role.VIEWER), "carol")
    with pytest.raises(InvalidArgument) as invalid:
        await watch(access, caller(Role.VIEWER), "")
    assert "customer_id" in str(invalid.value)
    device = caller(Role.PUBLISHABLE)
    bound = Caller(device.principal.acting_for("bob"), device.tenant)
    with pytest.raises(CustomerScopeViolation):
        await watch(access, bound, "alice")
    states = await watch(access, bound, "bob")
    assert allowed(await anext(states)) == []
