"""The PSPs misbehaving: one answering 5xx (the storefront's routing fails over to the other), both answering
5xx (the checkout is refused and nothing is charged), one timing out after it captured (the charge is looked up
by its key, never taken again)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import RunningSuite
from tests.faults.books import PLAN, Progress, checkouts, customers, set_outage, settled_books

CHECKOUTS = 20
# The "us" storefront routes cards to stripe_like first, then adyen_like (docs/examples/ott-catalog.yaml).
FIRST, SECOND = "stripe_like", "adyen_like"


@pytest.fixture
async def healthy_psps(fault_suite: RunningSuite) -> AsyncIterator[None]:
    """Whatever a test breaks at the PSPs is mended after it."""
    yield
    for psp in (FIRST, SECOND):
        await set_outage(fault_suite.suite, psp, False)


async def test_the_first_psp_answering_503_fails_over_to_the_second_and_charges_once(
    fault_suite: RunningSuite, healthy_psps: None
) -> None:
    tenant = await fault_suite.new_tenant()
    buyers = await customers(tenant, CHECKOUTS)
    await set_outage(fault_suite.suite, FIRST, True)
    progress = Progress()
    started = time.monotonic()
    answers = await checkouts(tenant, buyers, progress)
    took_s = time.monotonic() - started

    assert progress.failures == {}  # failover is inside payments: every first answer is 200
    books = await settled_books(fault_suite.suite, tenant.tenant_id)
    books.assert_nothing_lost_or_doubled()
    assert {c["psp"] for c in books.succeeded()} == {SECOND}
    assert len(books.succeeded()) == CHECKOUTS == len({a["subscription"]["id"] for a in answers})
    print(f"\nPSP 503 at {FIRST}: {CHECKOUTS} checkouts all answered 200 via {SECOND} in {took_s:.1f} s")


async def test_both_psps_answering_503_refuse_the_checkout_and_charge_nothing(
    fault_suite: RunningSuite, healthy_psps: None
) -> None:
    tenant = await fault_suite.new_tenant()
    [buyer] = await customers(tenant, 1)
    for psp in (FIRST, SECOND):
        await set_outage(fault_suite.suite, psp, True)
    refused = await tenant.checkout(buyer, plan=PLAN)
    # a decline (402) naming the normalized reason, not a server error
    assert refused.status_code == 402 and "decline_reason" in refused.text, refused.text

    for psp in (FIRST, SECOND):
        await set_outage(fault_suite.suite, psp, False)
    books = await settled_books(fault_suite.suite, tenant.tenant_id)
    books.assert_nothing_lost_or_doubled()
    assert books.succeeded() == [] and books.subscriptions == {}
    # once a PSP is back, the buyer's next checkout goes through
    await checkouts(tenant, [buyer], Progress())
    assert len((await settled_books(fault_suite.suite, tenant.tenant_id)).succeeded()) == 1


async def test_a_psp_timing_out_after_capturing_is_looked_up_not_charged_again(fault_suite: RunningSuite) -> None:
    tenant = await fault_suite.new_tenant()
    [buyer] = await customers(tenant, 1)
    started = time.monotonic()
    # tok_timeout: the PSP captures, then keeps the answer back past the 2 s PSP timeout
    answer = await tenant.checkout(buyer, plan=PLAN, token="tok_timeout")
    took_s = time.monotonic() - started
    assert answer.status_code == 200, answer.text

    books = await settled_books(fault_suite.suite, tenant.tenant_id)
    books.assert_nothing_lost_or_doubled()
    # NOTE: which PSP was tried first depends on the breakers the tests before left open; either way it
    # captured once and the lookup by key confirmed it, with no second PSP asked.
    [charge] = books.succeeded()
    assert books.captures[charge["id"]] == 1
    print(f"\nPSP timeout at {charge['psp']}: checkout answered 200 in {took_s:.1f} s, one capture")
