"""A crash between the PSP call and the database write never leads to a second capture."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments


async def _crash_after_capture(payments: Payments, tenant: str, customer: str, key: str) -> P.Charge:
    payments.faults.armed.add("after_psp_charge")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.charge(tenant, customer, 1500, key=key)
    assert error.value.code() == grpc.StatusCode.INTERNAL
    response: P.ListChargesResponse = await payments.call(
        tenant, "ListCharges", P.ListChargesRequest(customer_id=customer)
    )
    [pending] = response.charges
    assert pending.status == P.CHARGE_STATUS_PENDING
    assert pending.attempts[0].outcome == P.DECLINE_OUTCOME_UNSPECIFIED
    assert await payments.capture_count(pending) == 1
    return pending


async def test_retry_of_the_same_request_completes_from_the_psp_record(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    key = uuid.uuid4().hex
    pending = await _crash_after_capture(payments, tenant, customer, key)
    retried = await payments.charge(tenant, customer, 1500, key=key)
    assert (retried.id, retried.status) == (pending.id, P.CHARGE_STATUS_SUCCEEDED)
    assert len(retried.attempts) == 1 and retried.psp_reference
    assert await payments.capture_count(retried) == 1
    balance = await payments.ledger(tenant, "EUR")
    assert balance.currencies[0].total_minor == 0
    assert {a.account: a.balance.amount_minor for a in balance.currencies[0].accounts}["psp_clearing"] == 1500


async def test_reconciliation_completes_an_abandoned_charge_once_it_is_left_untouched(
    payments: Payments, tenant: str
) -> None:
    customer = await payments.add_customer(tenant)
    pending = await _crash_after_capture(payments, tenant, customer, uuid.uuid4().hex)
    untouched_for = timedelta(seconds=30)
    assert await payments.processor.reconcile_open_charges(untouched_for) == 0
    got = await payments.call(tenant, "GetCharge", P.GetChargeRequest(charge_id=pending.id))
    assert got.charge.status == P.CHARGE_STATUS_PENDING
    payments.clock.advance(untouched_for)
    assert await payments.processor.reconcile_open_charges(untouched_for) >= 1
    got = await payments.call(tenant, "GetCharge", P.GetChargeRequest(charge_id=pending.id))
    assert got.charge.status == P.CHARGE_STATUS_SUCCEEDED
    assert await payments.capture_count(got.charge) == 1
