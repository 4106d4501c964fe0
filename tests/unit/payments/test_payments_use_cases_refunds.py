"""Refund, void and credit use cases over fakes, and RefundCharge replayed through `Units.mutate`."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from azotte.common.v1 import money_pb2
from azotte.payments.v1 import events_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte_payments import errors
from azotte_payments.domain.charge import Charge, ChargeStatus
from azotte_payments.domain.declines import PspOperationResult
from azotte_payments.domain.payment_method import PaymentMethodType
from azotte_payments.domain.refund import RefundDestination, RefundStatus
from azotte_payments.service_layer import credits, payment_methods, refunds
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_platform.context import tenant_scope
from azotte_platform.errors import RequestIdReused
from tests.unit.payments.fakes import SUCCESS, TENANT, FakePayments

NO_CONTEXT: Any = None


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def paid_charge(payments: FakePayments, amount: int = 999) -> Charge:
    """A succeeded charge of a new customer, captured by stripe_like."""
    customer = f"cus_{uuid.uuid4().hex[:8]}"
    method = payment_methods.AddPaymentMethod(customer, PaymentMethodType.CARD, SUCCESS)
    async with payments.uow() as uow:
        await payment_methods.add_payment_method(uow, TENANT, method)
        await uow.commit()
    command = CreateCharge(uuid.uuid4().hex, customer, "de", "CHANNEL_WEB", "pro", amount, "EUR")
    charge = await payments.desk.create(TENANT, command)
    assert charge.status is ChargeStatus.SUCCEEDED
    payments.state.published.clear()
    return charge


def refund(
    charge: Charge, amount: int | None, *, to_credit: bool = False, request_id: str = ""
) -> refunds.RefundCharge:
    return refunds.RefundCharge(request_id or uuid.uuid4().hex, charge.charge_id, amount, "EUR", to_credit, "asked")


async def run_refund(payments: FakePayments, command: refunds.RefundCharge) -> Charge:
    async with payments.uow() as uow:
        made, charge = await refunds.refund_charge(uow, TENANT, payments.registry, command)
        await uow.commit()
    assert made.status is RefundStatus.SUCCEEDED
    return charge


async def test_a_partial_then_a_full_refund_give_back_everything_captured_once(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    partial = await run_refund(payments, refund(charge, 300, request_id="r1"))
    assert partial.refunded_minor == 300
    rest = await run_refund(payments, refund(charge, None))
    assert rest.refunded_minor == 999
    stripe = payments.psps["stripe_like"]
    assert [(amount, key) for _, amount, key in stripe.refunds] == [
        (300, f"refund:{charge.charge_id}:r1"),
        (699, stripe.refunds[1][2]),
    ]
    assert payments.published_types() == ["revenue.recorded", "payment.refunded"] * 2
    refunded = [
        (event.payload.refund.amount.amount_minor, event.payload.fully_refunded)
        for event in payments.published("payment.refunded")
        if isinstance(event.payload, events_pb2.PaymentRefunded)
    ]
    assert refunded == [(300, False), (699, True)]
    async with payments.uow() as uow:
        found = await uow.refunds(TENANT).for_charge(charge.charge_id)
        ledger = await uow.ledger(TENANT).trial_balance("EUR")
    assert [(r.amount_minor, r.destination, reason) for r, reason in found] == [
        (300, RefundDestination.ORIGINAL_METHOD, "asked"),
        (699, RefundDestination.ORIGINAL_METHOD, "asked"),
    ]
    assert sum(ledger["EUR"].values()) == 0 and ledger["EUR"]["tax_payable"] == 0


async def test_a_refund_beyond_what_remains_is_refused_and_changes_nothing(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    await run_refund(payments, refund(charge, 900))
    payments.state.published.clear()
    with pytest.raises(errors.RefundExceedsCaptured) as error:
        async with payments.uow() as uow:
            await refunds.refund_charge(uow, TENANT, payments.registry, refund(charge, 100))
    assert error.value.violations[0].field == "amount"
    async with payments.uow() as uow:
        assert (await uow.charges(TENANT).get(charge.charge_id)).charge.refunded_minor == 900
    assert len(payments.psps["stripe_like"].refunds) == 1
    assert payments.published_types() == []


async def test_a_refund_to_credit_grows_the_customer_balance(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    await run_refund(payments, refund(charge, 400, to_credit=True))
    async with payments.uow() as uow:
        balance = await credits.credit_balance(uow, TENANT, charge.request.customer_id, "EUR")
    assert balance.balance_minor == 400
    assert payments.psps["stripe_like"].refunds == []
    assert payments.published_types() == ["credit.granted", "revenue.recorded", "payment.refunded"]


async def test_a_psp_refusing_a_refund_is_typed_by_whether_a_retry_can_help(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    stripe = payments.psps["stripe_like"]
    stripe.refund_answer = PspOperationResult("stripe_like", succeeded=False, error_code="busy", retryable=True)
    with pytest.raises(errors.PspUnavailable):
        async with payments.uow() as uow:
            await refunds.refund_charge(uow, TENANT, payments.registry, refund(charge, 100))
    stripe.refund_answer = PspOperationResult("stripe_like", succeeded=False, error_code="charge_disputed")
    with pytest.raises(errors.PspRefused):
        async with payments.uow() as uow:
            await refunds.refund_charge(uow, TENANT, payments.registry, refund(charge, 100))
    assert payments.published_types() == []


async def test_a_void_cancels_the_capture_and_reverses_its_revenue(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    async with payments.uow() as uow:
        voided = await refunds.void_charge(uow, TENANT, payments.registry, charge.charge_id)
        await uow.commit()
    assert voided.status is ChargeStatus.VOIDED
    assert payments.psps["stripe_like"].voids == [charge.psp_reference]
    assert payments.published_types() == ["revenue.recorded"]
    async with payments.uow() as uow:
        ledger = await uow.ledger(TENANT).trial_balance("EUR")
    assert set(ledger["EUR"].values()) == {0}
    with pytest.raises(errors.ChargeNotRefundable):
        async with payments.uow() as uow:
            await refunds.refund_charge(uow, TENANT, payments.registry, refund(charge, 100))


async def test_refund_charge_runs_once_per_request_id_through_units_mutate(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    request = P.RefundChargeRequest(
        request_id="req-1",
        charge_id=charge.charge_id,
        amount=money_pb2.Money(currency_code="EUR", amount_minor=250),
        reason="asked",
    )
    with tenant_scope(TENANT):
        first = await payments.servicer.RefundCharge(request, NO_CONTEXT)
        again = await payments.servicer.RefundCharge(request, NO_CONTEXT)
        other = P.RefundChargeRequest()
        other.CopyFrom(request)
        other.amount.amount_minor = 300
        with pytest.raises(RequestIdReused):
            await payments.servicer.RefundCharge(other, NO_CONTEXT)
    assert again == first
    assert (first.refund.amount.amount_minor, first.refund.status) == (250, P.REFUND_STATUS_SUCCEEDED)
    assert first.charge.refunded.amount_minor == 250
    assert len(payments.psps["stripe_like"].refunds) == 1
    assert payments.published_types() == ["revenue.recorded", "payment.refunded"]


async def test_get_charge_answers_the_charge_with_its_refunds(payments: FakePayments) -> None:
    charge = await paid_charge(payments)
    await run_refund(payments, refund(charge, 100))
    with tenant_scope(TENANT):
        got = await payments.servicer.GetCharge(P.GetChargeRequest(charge_id=charge.charge_id), NO_CONTEXT)
        with pytest.raises(errors.ChargeNotFound):
            await payments.servicer.GetCharge(P.GetChargeRequest(charge_id="ch_missing"), NO_CONTEXT)
    assert (got.charge.id, got.charge.refunded.amount_minor) == (charge.charge_id, 100)
    assert [(r.amount.amount_minor, r.reason) for r in got.refunds] == [(100, "asked")]
