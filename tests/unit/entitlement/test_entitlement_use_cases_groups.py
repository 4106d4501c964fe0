"""Group seats, invites (hold a seat, expire, revoke) and members' access, with fakes of the ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, SubscriptionChange
from azotte_entitlement.domain.grants import FeatureKind
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.servicer import EntitlementServicer
from azotte_entitlement.errors import GroupNotFound, InviteAlreadyUsed, InviteExpired, InviteNotFound, SeatLimitReached
from azotte_entitlement.service_layer import groups
from azotte_entitlement.service_layer.lifecycle_events import apply_subscription_change
from azotte_platform import context
from azotte_platform.clock import FixedClock
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import FailedPrecondition
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

TENANT = "t1"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
TTL = timedelta(days=7)
FAMILY = (PlanFeature("hd", FeatureKind.BOOLEAN), PlanFeature("family_seats", FeatureKind.SEATS, 3))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def uow(clock: FixedClock) -> FakeEntitlementUnitOfWork:
    return FakeEntitlementUnitOfWork(clock)


@pytest.fixture
def projection() -> AccessProjection:
    return AccessProjection()


async def change(
    uow: FakeEntitlementUnitOfWork, projection: AccessProjection, state: SubscriptionState, at: datetime
) -> None:
    """The owner's family subscription `sub-1` moving to `state`, as its lifecycle event would say."""
    event = SubscriptionChange(
        "subscription.changed", TENANT, "sub-1", "owner", "family", state, False, NOW, NOW + timedelta(days=30), "", at
    )
    with context.tenant_scope(TENANT):
        async with uow:
            await apply_subscription_change(uow, FakePlanCatalog({"family": FAMILY}), projection, event)
            await uow.commit()


async def invite(uow: FakeEntitlementUnitOfWork) -> str:
    async with uow:
        made = await groups.create_invite(uow, TENANT, "sub-1", None, TTL)
        await uow.commit()
    return made.code


async def accept(uow: FakeEntitlementUnitOfWork, projection: AccessProjection, code: str, who: str) -> None:
    async with uow:
        await groups.accept_invite(uow, projection, TENANT, code, who)
        await uow.commit()


async def test_pending_invites_hold_seats_until_revoked(
    uow: FakeEntitlementUnitOfWork, projection: AccessProjection
) -> None:
    await change(uow, projection, SubscriptionState.ACTIVE, NOW)
    first, _second = await invite(uow), await invite(uow)

    async with uow:
        with pytest.raises(SeatLimitReached) as refused:
            await groups.create_invite(uow, TENANT, "sub-1", None, TTL)
    assert isinstance(refused.value, FailedPrecondition)
    view = await groups.groups_of_owner(uow, TENANT, "owner")
    assert [(v.seat_limit, v.seats_used, v.pending_invites) for v in view] == [(3, 1, 2)]

    async with uow:
        revoked = await groups.revoke_invite(uow, TENANT, "sub-1", first)
        await uow.commit()
    assert revoked.code == first
    third = await invite(uow)
    async with uow:
        with pytest.raises(InviteNotFound):
            await groups.accept_invite(uow, projection, TENANT, first, "kid")
    await accept(uow, projection, third, "kid")
    assert projection.check(TENANT, "kid", "hd", NOW).allowed


async def test_an_expired_invite_frees_its_seat_and_cannot_be_accepted(
    uow: FakeEntitlementUnitOfWork, projection: AccessProjection, clock: FixedClock
) -> None:
    await change(uow, projection, SubscriptionState.ACTIVE, NOW)
    old, _ = await invite(uow), await invite(uow)

    clock.advance(TTL + timedelta(seconds=1))
    async with uow:
        with pytest.raises(InviteExpired):
            await groups.accept_invite(uow, projection, TENANT, old, "kid")
    fresh = await invite(uow)

    states = {i.code: i.state_at(clock.now()).value for i in await groups.list_invites(uow, TENANT, "sub-1")}
    assert states[old] == "expired" and states[fresh] == "pending"


async def test_an_accepted_invite_cannot_be_revoked_and_a_foreign_group_is_not_found(
    uow: FakeEntitlementUnitOfWork, projection: AccessProjection
) -> None:
    await change(uow, projection, SubscriptionState.ACTIVE, NOW)
    code = await invite(uow)
    await accept(uow, projection, code, "kid")

    async with uow:
        with pytest.raises(InviteAlreadyUsed):
            await groups.revoke_invite(uow, TENANT, "sub-1", code)
        with pytest.raises(GroupNotFound):
            await groups.revoke_invite(uow, "other-tenant", "sub-1", code)
    assert await groups.groups_of_owner(uow, "other-tenant", "owner") == []


async def test_members_lose_access_on_hold_and_get_it_back_on_recovery(
    uow: FakeEntitlementUnitOfWork, projection: AccessProjection, clock: FixedClock
) -> None:
    await change(uow, projection, SubscriptionState.ACTIVE, NOW)
    await accept(uow, projection, await invite(uow), "kid")
    servicer = EntitlementServicer(lambda: uow, projection, FakePlanCatalog({}), clock, TTL, no_gate())

    async def kid_access() -> list[tuple[str, bool, int]]:
        with context.tenant_scope(TENANT):
            listed = await servicer.ListGroupMembers(pb.ListGroupMembersRequest(group_id="sub-1"), None)
        return [(a.feature_key, a.allowed, a.reason) for m in listed.members for a in m.access]

    assert await kid_access() == [("hd", True, pb.ACCESS_REASON_UNSPECIFIED)]

    await change(uow, projection, SubscriptionState.ON_HOLD, NOW + timedelta(days=31))
    assert projection.check(TENANT, "kid", "hd", NOW).reason is AccessReason.ON_HOLD
    assert await kid_access() == [("hd", False, pb.ACCESS_REASON_ON_HOLD)]

    await change(uow, projection, SubscriptionState.ACTIVE, NOW + timedelta(days=32))
    assert await kid_access() == [("hd", True, pb.ACCESS_REASON_UNSPECIFIED)]
