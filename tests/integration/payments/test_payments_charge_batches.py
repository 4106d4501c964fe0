"""CreateCharges: many charges in one call, each answered as CreateCharge would answer it."""

from __future__ import annotations

import asyncio
import random
import uuid

import grpc
import pytest

from azotte.common.v1.money_pb2 import Money
from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments, charge_request, eur


async def _credit(payments: Payments, tenant: str, customer: str) -> int:
    request = P.GetCreditBalanceRequest(customer_id=customer, currency_code="EUR")
    response: P.GetCreditBalanceResponse = await payments.call(tenant, "GetCreditBalance", request)
    return response.balance.balance.amount_minor


async def test_every_item_is_answered_in_order_and_one_refusal_fails_only_itself(
    payments: Payments, tenant: str
) -> None:
    paying = await payments.add_customer(tenant)
    broke = await payments.add_customer(tenant, "tok_insufficient_funds")
    without_card = f"cus_{uuid.uuid4().hex[:10]}"
    same = charge_request(paying, 999)
    reused = charge_request(paying, 500, key=same.idempotency_key)
    results = await payments.charge_many(
        tenant,
        [
            same,
            charge_request(broke, 999),
            charge_request(without_card, 999),
            charge_request("", 999),
            charge_request(paying, 999, money=Money(currency_code="USD", amount_minor=999)),
            same,
            reused,
        ],
    )
    assert [r.WhichOneof("result") for r in results] == [
        "charge",
        "charge",
        "error",
        "error",
        "error",
        "charge",
        "error",
    ]
    paid, declined = results[0].charge, results[1].charge
    assert paid.status == P.CHARGE_STATUS_SUCCEEDED and await payments.capture_count(paid) == 1
    assert (declined.status, declined.decline.reason) == (P.CHARGE_STATUS_FAILED, "INSUFFICIENT_FUNDS")
    assert (results[2].error.code, results[2].error.reason) == ("FAILED_PRECONDITION", "NO_PAYMENT_METHOD")
    assert (results[3].error.code, results[3].error.field) == ("INVALID_ARGUMENT", "customer_id")
    assert results[4].error.code == "INVALID_ARGUMENT" and "USD" in results[4].error.message
    assert results[5].charge.id == paid.id
    assert (results[6].error.code, results[6].error.reason) == ("ABORTED", "IDEMPOTENCY_KEY_REUSED")
    assert (await payments.ledger(tenant, "EUR")).currencies[0].total_minor == 0


async def test_a_retried_batch_answers_the_first_charges_and_captures_nothing_more(
    payments: Payments, tenant: str
) -> None:
    customers = [await payments.add_customer(tenant) for _ in range(5)]
    batch = [charge_request(customer, 1200) for customer in customers]
    first = await payments.charge_many(tenant, batch)
    again = await payments.charge_many(tenant, batch)
    assert [r.charge.id for r in again] == [r.charge.id for r in first]
    assert [await payments.capture_count(r.charge) for r in again] == [1] * 5


@pytest.mark.parametrize("race", range(4))
async def test_concurrent_batches_and_single_charges_under_the_same_keys_capture_once(
    payments: Payments, tenant: str, race: int
) -> None:
    customers = [await payments.add_customer(tenant) for _ in range(16)]
    batch = [charge_request(customer, 700) for customer in customers]
    shuffled = random.Random(race).sample(batch, len(batch))
    answers = await asyncio.gather(
        payments.charge_many(tenant, batch),
        payments.charge_many(tenant, list(reversed(batch))),
        payments.charge_many(tenant, shuffled),
        *(payments.call(tenant, "CreateCharge", item) for item in batch[:3]),
    )
    forward, backward, mixed, singles = answers[0], answers[1], answers[2], answers[3:]
    ids = [r.charge.id for r in forward]
    assert [r.charge.id for r in reversed(backward)] == ids
    assert {r.charge.id for r in mixed} == set(ids)
    assert [s.charge.id for s in singles] == ids[:3]
    assert {r.charge.status for r in forward} == {P.CHARGE_STATUS_SUCCEEDED}
    assert [await payments.capture_count(r.charge) for r in forward] == [1] * 16


async def test_credit_is_spent_across_one_customers_charges_in_a_batch(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    grant = P.GrantCreditRequest(request_id=uuid.uuid4().hex, customer_id=customer, amount=eur(1500), reason="outage")
    await payments.call(tenant, "GrantCredit", grant)
    first, second = await payments.charge_many(tenant, [charge_request(customer, 999), charge_request(customer, 999)])
    assert (first.charge.credit_applied.amount_minor, list(first.charge.attempts)) == (999, [])
    assert second.charge.credit_applied.amount_minor == 501
    assert second.charge.status == P.CHARGE_STATUS_SUCCEEDED and await payments.capture_count(second.charge) == 1
    assert await _credit(payments, tenant, customer) == 0
    assert (await payments.ledger(tenant, "EUR")).currencies[0].total_minor == 0


async def test_a_batch_that_crashed_after_the_psps_answered_completes_on_retry_without_capturing_again(
    payments: Payments, tenant: str
) -> None:
    customers = [await payments.add_customer(tenant) for _ in range(4)]
    batch = [charge_request(customer, 1500) for customer in customers]
    payments.faults.armed.add("after_psp_charge")
    with pytest.raises(grpc.aio.AioRpcError) as crashed:
        await payments.charge_many(tenant, batch)
    assert crashed.value.code() == grpc.StatusCode.INTERNAL
    retried = await payments.charge_many(tenant, batch)
    assert {r.charge.status for r in retried} == {P.CHARGE_STATUS_SUCCEEDED}
    assert [await payments.capture_count(r.charge) for r in retried] == [1] * 4
    assert [len(r.charge.attempts) for r in retried] == [1] * 4


async def test_more_than_a_thousand_items_is_invalid(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await payments.charge_many(tenant, [charge_request(customer, 100) for _ in range(1001)])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "charges" in (refused.value.details() or "")
