"""Wallets: usage burns grants by priority, then earliest expiry; expired credit is never burned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte_metering.domain.wallets import AutoRecharge, GrantSource, MovementKind, Wallet, expire
from azotte_platform.errors import InvalidArgument

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def wallet() -> Wallet:
    return Wallet("cus_1", "USD", "sf_us")


def test_lower_priority_number_burns_first_then_earliest_expiry() -> None:
    w = wallet()
    w.grant("late", 500, GrantSource.ADMIN, T0, priority=1, expires_at=T0 + 30 * DAY)
    w.grant("soon", 500, GrantSource.PROMOTION, T0, priority=1, expires_at=T0 + 5 * DAY)
    w.grant("first", 300, GrantSource.PURCHASE, T0, priority=0)
    burn = w.burn(1000, T0 + DAY, "usage-1")
    assert [(m.grant_id, m.amount_minor) for m in burn.movements] == [("first", -300), ("soon", -500), ("late", -200)]
    assert burn.uncovered_minor == 0
    assert w.balance(T0 + DAY) == 300
    assert {g.grant_id: g.remaining_minor for g in w.grants} == {"late": 300, "soon": 0, "first": 0}


def test_a_grant_without_expiry_burns_after_those_that_expire() -> None:
    w = wallet()
    w.grant("forever", 100, GrantSource.ADMIN, T0)
    w.grant("expiring", 100, GrantSource.ADMIN, T0, expires_at=T0 + 2 * DAY)
    assert [m.grant_id for m in w.burn(150, T0, "u").movements] == ["expiring", "forever"]


def test_expired_grants_are_never_burned_and_what_nothing_covers_is_left_over() -> None:
    w = wallet()
    w.grant("old", 1000, GrantSource.PROMOTION, T0, expires_at=T0 + DAY)
    w.grant("new", 200, GrantSource.PURCHASE, T0, priority=5)
    burn = w.burn(500, T0 + 2 * DAY, "u")
    assert [(m.grant_id, m.amount_minor) for m in burn.movements] == [("new", -200)]
    assert burn.uncovered_minor == 300
    assert w.balance(T0 + 2 * DAY) == 0
    emptied, movements = expire(w.grants, T0 + 2 * DAY)
    assert [g.grant_id for g in emptied] == ["old"]
    assert [(m.kind, m.amount_minor, m.at) for m in movements] == [(MovementKind.EXPIRED, -1000, T0 + DAY)]


def test_burns_add_up_to_what_was_granted_and_never_below_zero() -> None:
    w = wallet()
    w.grant("a", 333, GrantSource.ADMIN, T0)
    w.grant("b", 667, GrantSource.ADMIN, T0, priority=2)
    uncovered = sum(w.burn(amount, T0, f"u{amount}").uncovered_minor for amount in (1, 98, 400, 500, 7))
    assert w.balance(T0) == 0
    assert uncovered == 6
    assert all(g.remaining_minor == 0 for g in w.grants)


def test_auto_recharge_starts_once_per_crossing_below_the_threshold() -> None:
    w = wallet()
    w.auto_recharge = AutoRecharge(threshold_minor=200, amount_minor=1000)
    assert w.needs_recharge(500, 300) is False
    assert w.needs_recharge(300, 150) is True
    assert w.needs_recharge(150, 100) is False  # still below: the recharge under way covers it
    assert [w.start_recharge(), w.start_recharge()] == ["recharge:cus_1:USD:1", "recharge:cus_1:USD:2"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_minor": 0}, "amount.amount_minor"),
        ({"amount_minor": 10**16}, "amount.amount_minor"),
        ({"priority": -1}, "priority"),
        ({"expires_at": T0}, "expire_time"),
    ],
)
def test_a_bad_grant_names_its_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"amount_minor": 100, **kwargs}
    with pytest.raises(InvalidArgument) as raised:
        wallet().grant("g", source=GrantSource.ADMIN, now=T0, **arguments)  # type: ignore[arg-type]
    assert raised.value.violations[0].field == field
