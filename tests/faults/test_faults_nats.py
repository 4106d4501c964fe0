"""NATS stopped for 10 s in the middle of 100 checkouts: every checkout is answered, and once NATS is back every
customer is entitled, with one charge and one subscription each."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.conftest import RunningSuite
from tests.faults.books import Progress, checkouts, customers, everyone_entitled, settled_books, when_done

CHECKOUTS = 100
OUTAGE_S = 10.0


async def test_nats_down_for_10_s_during_100_checkouts_loses_and_doubles_nothing(fault_suite: RunningSuite) -> None:
    tenant = await fault_suite.new_tenant()
    buyers = await customers(tenant, CHECKOUTS)
    progress = Progress()
    running = asyncio.create_task(checkouts(tenant, buyers, progress))

    await when_done(progress, 20)
    await fault_suite.suite.stop_nats()
    done_at_stop = progress.done
    # NOTE: the fault itself lasts 10 s; nothing here waits for a condition by sleeping.
    await asyncio.sleep(OUTAGE_S)
    done_while_down = progress.done - done_at_stop
    await fault_suite.suite.start_nats()
    back = time.monotonic()
    answers = await running
    await everyone_entitled(tenant, buyers)
    recovery_s = time.monotonic() - back
    books = await settled_books(fault_suite.suite, tenant.tenant_id)
    books.assert_nothing_lost_or_doubled()
    assert len({a["subscription"]["id"] for a in answers}) == CHECKOUTS
    assert len(books.succeeded()) == CHECKOUTS and len(books.subscriptions) == CHECKOUTS
    print(
        f"\nNATS fault: {CHECKOUTS} checkouts, {done_while_down} answered while NATS was down,"
        f" retried answers {dict(progress.failures)}, all entitled {recovery_s:.1f} s after NATS returned,"
        f" charges {len(books.succeeded())}, subscriptions {len(books.subscriptions)}"
    )
