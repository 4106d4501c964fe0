"""CreateCharge end to end through the sandbox PSPs: outcomes, tax, idempotency and concurrency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest

from azotte.payments.v1 import events_pb2, payments_pb2
from tests.helpers import eventually
from tests.integration.payments.payments_harness import Payments, eur, storefront

P = payments_pb2


async def test_approved_charge_is_captured_once_and_announced(payments: Payments, tenant: str) -> None:
    received: list[tuple[str, bytes]] = []

    async def collect(message) -> None:
        received.append((message.headers["ce-type"], message.data))

    subscription = await payments.runtime.nats.subscribe(f"azotte.{tenant}.payments.>", cb=collect)
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 1190, subscription_id="sub_1", period_key="2026-03")
    assert (charge.status, charge.outcome) == (P.CHARGE_STATUS_SUCCEEDED, P.DECLINE_OUTCOME_APPROVED)
    assert (charge.gross.amount_minor, charge.tax.amount_minor, charge.net.amount_minor) == (1190, 190, 1000)
    assert charge.psp == "stripe_like" and charge.psp_reference
    assert [(a.psp, a.outcome) for a in charge.attempts] == [("stripe_like", P.DECLINE_OUTCOME_APPROVED)]
    assert await payments.capture_count(charge) == 1
    await eventually(lambda: _types(received, {"payment.succeeded", "revenue.recorded"}))
    succeeded = next(events_pb2.PaymentSucceeded.FromString(d) for t, d in received if t == "payment.succeeded")
    assert succeeded.charge.id == charge.id and succeeded.charge.period_key == "2026-03"
    await subscription.unsubscribe()


async def _types(received: list[tuple[str, bytes]], expected: set[str]) -> bool:
    return expected <= {event_type for event_type, _ in received}


@pytest.mark.parametrize(
    ("token", "outcome", "reason"),
    [
        ("tok_insufficient_funds", P.DECLINE_OUTCOME_SOFT_DECLINE, "INSUFFICIENT_FUNDS"),
        ("tok_do_not_honor", P.DECLINE_OUTCOME_SOFT_DECLINE, "DO_NOT_HONOR"),
        ("tok_stolen_card", P.DECLINE_OUTCOME_HARD_DECLINE, "STOLEN_CARD"),
        ("tok_lost_card", P.DECLINE_OUTCOME_HARD_DECLINE, "LOST_CARD"),
        ("tok_expired_card", P.DECLINE_OUTCOME_HARD_DECLINE, "EXPIRED_CARD"),
    ],
)
async def test_declines_are_normal_answers_and_never_fail_over(
    payments: Payments, tenant: str, token: str, outcome: int, reason: str
) -> None:
    customer = await payments.add_customer(tenant, token)
    charge = await payments.charge(tenant, customer)
    assert charge.status == P.CHARGE_STATUS_FAILED
    assert (charge.outcome, charge.decline.outcome, charge.decline.reason) == (outcome, outcome, reason)
    assert [a.psp for a in charge.attempts] == ["stripe_like"]
    assert await payments.capture_count(charge) == 0
    assert (await payments.ledger(tenant)).currencies == []


async def test_processing_errors_fail_over_to_the_next_psp(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant, "tok_processing_error")
    charge = await payments.charge(tenant, customer)
    assert [a.psp for a in charge.attempts] == ["stripe_like", "adyen_like"]
    assert {a.outcome for a in charge.attempts} == {P.DECLINE_OUTCOME_RETRYABLE}
    assert (charge.status, charge.outcome, charge.decline.reason) == (
        P.CHARGE_STATUS_FAILED,
        P.DECLINE_OUTCOME_RETRYABLE,
        "PROCESSING_ERROR",
    )


async def test_psp_timeout_is_resolved_by_lookup_without_a_second_capture(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant, "tok_timeout")
    charge = await payments.charge(tenant, customer)
    assert charge.status == P.CHARGE_STATUS_SUCCEEDED
    assert [a.psp for a in charge.attempts] == ["stripe_like"]
    assert await payments.capture_count(charge) == 1


async def test_inclusive_storefront_tax_is_extracted_from_the_price(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 999)
    assert (charge.gross.amount_minor, charge.tax.amount_minor, charge.net.amount_minor) == (999, 160, 839)


async def test_exclusive_tax_is_added_on_top(payments: Payments, tenant: str) -> None:
    payments.catalog.storefronts[(tenant, "us")] = storefront("us", currency="USD", country="US", inclusive=False)
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, money=eur(1000, "USD"), storefront_id="us")
    assert (charge.gross.amount_minor, charge.tax.amount_minor, charge.net.amount_minor) == (1190, 190, 1000)
    given = P.TaxPolicy(mode=P.TAX_MODE_EXCLUSIVE, rate="0.07")
    override = await payments.charge(tenant, customer, 1000, tax_policy=given)
    assert (override.gross.amount_minor, override.tax.amount_minor) == (1070, 70)


async def test_same_key_replays_and_other_content_is_aborted(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    key = f"sub_1:2026-03:1:{uuid.uuid4().hex[:6]}"
    first = await payments.charge(tenant, customer, 500, key=key)
    again = await payments.charge(tenant, customer, 500, key=key)
    assert again.id == first.id and again.status == P.CHARGE_STATUS_SUCCEEDED
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.charge(tenant, customer, 501, key=key)
    assert error.value.code() == grpc.StatusCode.ABORTED
    assert await payments.capture_count(first) == 1


async def test_fifty_concurrent_identical_charges_capture_once(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    key = uuid.uuid4().hex
    charges = await asyncio.gather(*(payments.charge(tenant, customer, 700, key=key) for _ in range(50)))
    assert {c.id for c in charges} == {charges[0].id}
    assert {c.status for c in charges} == {P.CHARGE_STATUS_SUCCEEDED}
    assert await payments.capture_count(charges[0]) == 1
    listed = await payments.call(tenant, "ListCharges", P.ListChargesRequest(customer_id=customer))
    assert [c.id for c in listed.charges] == [charges[0].id]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"amount": -5}, grpc.StatusCode.INVALID_ARGUMENT, "amount.amount_minor"),
        ({"money": eur(100, "USD")}, grpc.StatusCode.INVALID_ARGUMENT, "amount.currency_code"),
        ({"payment_method_id": "pm_missing"}, grpc.StatusCode.NOT_FOUND, "payment_method_id"),
        ({"storefront_id": "nowhere"}, grpc.StatusCode.NOT_FOUND, "storefront_id"),
    ],
)
async def test_bad_input_names_the_field_and_leaves_no_trace(
    payments: Payments, tenant: str, change: dict[str, Any], code: grpc.StatusCode, field: str
) -> None:
    customer = await payments.add_customer(tenant)
    amount = change.pop("amount", 100)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.charge(tenant, customer, amount, **change)
    assert error.value.code() == code
    assert field in (error.value.details() or "")
    listed = await payments.call(tenant, "ListCharges", P.ListChargesRequest(customer_id=customer))
    assert list(listed.charges) == []
    assert (await payments.ledger(tenant)).currencies == []
