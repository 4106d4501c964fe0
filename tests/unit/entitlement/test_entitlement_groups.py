"""Families and groups: seats, invites, and members following the owner's subscription."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import (
    PlanFeature,
    SubscriptionSnapshot,
    subscription_corrections,
)
from azotte_entitlement.domain.grants import FeatureKind, GrantSource
from azotte_entitlement.domain.groups import Group, check_seat_available, seat_limit_of
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.errors import SeatLimitReached
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import AlreadyExists, FailedPrecondition, NotFound

NOW = datetime(2025, 5, 1, tzinfo=UTC)
PERIOD_END = NOW + timedelta(days=30)
FAMILY = (PlanFeature("hd", FeatureKind.BOOLEAN), PlanFeature("family_seats", FeatureKind.SEATS, 4))


def owner_snapshot(state: SubscriptionState, cancel_at_period_end: bool = False) -> SubscriptionSnapshot:
    return SubscriptionSnapshot("t1", "sub-1", "owner", state, cancel_at_period_end, NOW, PERIOD_END, FAMILY)


def family() -> Group:
    return Group("grp-1", "t1", "owner", "sub-1")


def follow(projection: AccessProjection, snap: SubscriptionSnapshot, group: Group) -> None:
    actual = [g for c in ("owner", *group.members, "left") for g in projection.grants_of("t1", c)]
    projection.apply(subscription_corrections(snap, group, actual))


def test_owner_counts_as_one_seat() -> None:
    group = family()
    for member in ("m1", "m2", "m3"):
        group.add_member(member, seat_limit=4, now=NOW)

    with pytest.raises(SeatLimitReached) as error:
        group.add_member("m4", seat_limit=4, now=NOW)
    assert isinstance(error.value, FailedPrecondition) and error.value.reason == "SEAT_LIMIT_REACHED"


def test_seat_check_is_a_pure_function_of_limit_and_members() -> None:
    check_seat_available(seat_limit=2, member_count=0)
    with pytest.raises(FailedPrecondition):
        check_seat_available(seat_limit=2, member_count=1)
    with pytest.raises(FailedPrecondition):
        check_seat_available(seat_limit=0, member_count=0)


def test_owner_and_existing_members_cannot_be_added_and_unknown_cannot_be_removed() -> None:
    group = family()
    group.add_member("m1", 4, NOW)

    with pytest.raises(FailedPrecondition):
        group.add_member("owner", 4, NOW)
    with pytest.raises(AlreadyExists):
        group.add_member("m1", 4, NOW)
    with pytest.raises(NotFound):
        group.remove_member("stranger")


def test_invite_is_single_use_and_expires() -> None:
    group = family()
    group.create_invite("JOIN-1", NOW, NOW + timedelta(days=2), 4)
    group.create_invite("JOIN-2", NOW, NOW + timedelta(days=2), 4)

    member = group.accept_invite("JOIN-1", "m1", 4, NOW + timedelta(hours=1))

    assert member.invite_code == "JOIN-1" and "m1" in group.members
    with pytest.raises(FailedPrecondition, match="already accepted"):
        group.accept_invite("JOIN-1", "m2", 4, NOW + timedelta(hours=1))
    with pytest.raises(FailedPrecondition, match="expired"):
        group.accept_invite("JOIN-2", "m2", 4, NOW + timedelta(days=3))
    with pytest.raises(NotFound):
        group.accept_invite("NOPE", "m2", 4, NOW)


def test_seat_limit_comes_from_the_owners_valid_seats_grant() -> None:
    projection = AccessProjection()
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE), family())

    assert seat_limit_of(projection.grants_of("t1", "owner"), NOW) == 4
    assert seat_limit_of([], NOW) == 0


def test_members_receive_plan_features_with_source_group_but_not_the_seats() -> None:
    projection, group = AccessProjection(), family()
    group.add_member("m1", 4, NOW)
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE), group)

    hd = projection.check("t1", "m1", "hd", NOW)

    assert hd.allowed and [(s.source, s.source_ref) for s in hd.sources] == [(GrantSource.GROUP, "grp-1")]
    assert projection.check("t1", "m1", "family_seats", NOW).reason is AccessReason.NO_GRANT


@pytest.mark.parametrize(
    ("state", "reason"),
    [(SubscriptionState.ON_HOLD, AccessReason.ON_HOLD), (SubscriptionState.PAUSED, AccessReason.PAUSED)],
)
def test_members_lose_access_with_the_owner(state: SubscriptionState, reason: AccessReason) -> None:
    projection, group = AccessProjection(), family()
    group.add_member("m1", 4, NOW)
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE), group)
    follow(projection, owner_snapshot(state), group)

    decision = projection.check("t1", "m1", "hd", NOW)
    assert not decision.allowed and decision.reason is reason


def test_members_follow_cancel_at_period_end() -> None:
    projection, group = AccessProjection(), family()
    group.add_member("m1", 4, NOW)
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE, cancel_at_period_end=True), group)

    assert projection.check("t1", "m1", "hd", PERIOD_END - timedelta(seconds=1)).allowed
    assert projection.check("t1", "m1", "hd", PERIOD_END).reason is AccessReason.EXPIRED


def test_removed_member_loses_access_and_others_keep_it() -> None:
    projection, group = AccessProjection(), family()
    group.add_member("m1", 4, NOW)
    group.add_member("left", 4, NOW)
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE), group)
    group.remove_member("left")
    follow(projection, owner_snapshot(SubscriptionState.ACTIVE), group)

    assert projection.check("t1", "m1", "hd", NOW).allowed
    assert projection.check("t1", "left", "hd", NOW).reason is AccessReason.NO_GRANT
