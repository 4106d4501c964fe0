"""PostgreSQL restarted (every session cut off) during checkouts and during renewals: the services reconnect by
themselves, and payments' charges match lifecycle's subscriptions and periods, none lost, none doubled."""

from __future__ import annotations

import asyncio
import time

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

CHECKOUTS = 60
RENEWALS = 40


async def test_postgres_restarted_during_checkouts_loses_and_doubles_no_charge(fault_suite: RunningSuite) -> None:
    tenant = await fault_suite.new_tenant()
    buyers = await customers(tenant, CHECKOUTS)
    progress = Progress()
    running = asyncio.create_task(checkouts(tenant, buyers, progress))

    await when_done(progress, 15)
    started = time.monotonic()
    await fault_suite.suite.restart_postgres()
    down_s, done_at_restart = time.monotonic() - started, progress.done
    await when_done(progress, done_at_restart + 1)
    first_answer_s = time.monotonic() - started
    answers = await running

    books = await each_checkout_landed_once(fault_suite.suite, tenant, buyers, answers)
    print(
        f"\nPostgreSQL restart during {CHECKOUTS} checkouts: down {down_s:.1f} s, next checkout answered"
        f" {first_answer_s:.1f} s after the restart began, retried answers {dict(progress.failures)},"
        f" charges {len(books.succeeded())}, subscriptions {len(books.subscriptions)}"
    )


async def test_postgres_restarted_during_renewals_charges_each_period_once(fault_suite: RunningSuite) -> None:
    tenant = await fault_suite.new_tenant()
    await subscribed(tenant, RENEWALS)
    before = await Books.read(fault_suite.suite, tenant.tenant_id)

    await advance_a_month(tenant)
    started = time.monotonic()
    await fault_suite.suite.restart_postgres()
    books = await renewed_books(fault_suite.suite, tenant.tenant_id, before)
    recovery_s = time.monotonic() - started

    books.assert_nothing_lost_or_doubled()
    assert len(books.succeeded()) == 2 * RENEWALS
    print(
        f"\nPostgreSQL restart during {RENEWALS} renewals: all renewed {recovery_s:.1f} s after the restart began,"
        f" charges {len(books.succeeded())} for {len(books.subscriptions)} subscriptions x 2 periods"
    )
