"""Each service killed with SIGKILL in the middle of checkouts (and payments and lifecycle in the middle of
renewals), then started again: no half-made checkout (every charge has its subscription or was given back,
every subscription its charge), no charge taken twice."""

from __future__ import annotations

import asyncio
import time

import pytest

from azotte_stack.suite import SERVICES
from tests.e2e.conftest import RunningSuite
from tests.faults.books import (
    Books,
    Progress,
    advance_a_month,
    checkouts,
    customers,
    each_checkout_landed_once,
    renewed_books,
    subscribed,
    when_done,
)

CHECKOUTS = 20
RENEWALS = 20


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_killed_mid_checkout_leaves_no_half_made_checkout(
    fault_suite: RunningSuite, service: str
) -> None:
    tenant = await fault_suite.new_tenant()
    buyers = await customers(tenant, CHECKOUTS)
    progress = Progress()
    running = asyncio.create_task(checkouts(tenant, buyers, progress, concurrency=5))

    await when_done(progress, 5)
    started = time.monotonic()
    fault_suite.suite.kill_service(service)
    await fault_suite.suite.start_service(service)
    restart_s = time.monotonic() - started
    answers = await running

    books = await each_checkout_landed_once(fault_suite.suite, tenant, buyers, answers)
    print(
        f"\n{service} SIGKILL during {CHECKOUTS} checkouts: serving again after {restart_s:.1f} s,"
        f" retried answers {dict(progress.failures)}, charges {len(books.succeeded())},"
        f" subscriptions {len(books.subscriptions)}"
    )


@pytest.mark.parametrize("service", ["lifecycle", "payments"])
async def test_a_service_killed_mid_renewal_charges_each_period_once(fault_suite: RunningSuite, service: str) -> None:
    tenant = await fault_suite.new_tenant()
    await subscribed(tenant, RENEWALS)
    before = await Books.read(fault_suite.suite, tenant.tenant_id)

    await advance_a_month(tenant)
    started = time.monotonic()
    fault_suite.suite.kill_service(service)
    await fault_suite.suite.start_service(service)
    books = await renewed_books(fault_suite.suite, tenant.tenant_id, before)
    recovery_s = time.monotonic() - started

    books.assert_nothing_lost_or_doubled()
    assert len(books.succeeded()) == 2 * RENEWALS
    print(
        f"\n{service} SIGKILL during {RENEWALS} renewals: all renewed {recovery_s:.1f} s after the kill,"
        f" charges {len(books.succeeded())} for {len(books.subscriptions)} subscriptions x 2 periods"
    )
