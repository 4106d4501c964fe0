"""Sandbox time is per tenant: a tenant's clock moves alone; a service reads the time of the tenant it acts for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azotte_platform import context
from azotte_platform.clock import FixedClock, SystemClock, TenantTimes, now_of, tenant_times

T0 = datetime(2025, 1, 1, tzinfo=UTC)
MONTH = timedelta(days=31)


def test_a_tenant_advancing_its_clock_moves_only_its_own_time() -> None:
    clock = FixedClock(T0)
    clock.advance(MONTH, "acme")
    with context.tenant_scope("acme"):
        assert clock.now() == T0 + MONTH
    with context.tenant_scope("globex"):
        assert clock.now() == T0  # another sandbox tenant, and any live tenant, stays on the base time
    assert clock.now() == T0  # outside any tenant: the base time
    assert (now_of(clock, "acme"), now_of(clock, "globex")) == (T0 + MONTH, T0)


def test_background_work_sees_every_tenants_time_at_one_instant() -> None:
    clock = FixedClock(T0)
    clock.advance(MONTH, "acme")
    clock.advance(timedelta(days=2), "initech")
    times = tenant_times(clock)
    assert (times.of("acme"), times.of("initech"), times.of("globex")) == (T0 + MONTH, T0 + timedelta(days=2), T0)
    assert times.latest == T0 + MONTH
    assert times.shifted(-timedelta(minutes=5)).of("acme") == T0 + MONTH - timedelta(minutes=5)
    clock.advance(timedelta(hours=1))  # the base time moves every tenant
    assert tenant_times(clock).of("acme") == T0 + MONTH + timedelta(hours=1)


def test_a_wall_clock_is_one_time_for_every_tenant() -> None:
    times = tenant_times(SystemClock())
    assert times.offsets == {} and times.latest == times.base == times.of("acme")
    assert TenantTimes(T0).of("anyone") == T0
