"""Refunds (partial, full, to credit), goodwill credit and credit applied before charging."""

from __future__ import annotations

import uuid

import grpc
import pytest

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments, eur


async def _refund(
    payments: Payments, tenant: str, charge_id: str, amount: int | None = None, **fields
) -> P.RefundChargeResponse:
    request = P.RefundChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge_id, **fields)
    if amount is not None:
        request.amount.CopyFrom(eur(amount))
    response: P.RefundChargeResponse = await payments.call(tenant, "RefundCharge", request)
    return response


async def _credit(payments: Payments, tenant: str, customer: str) -> int:
    response = await payments.call(
        tenant, "GetCreditBalance", P.GetCreditBalanceRequest(customer_id=customer, currency_code="EUR")
    )
    return int(response.balance.balance.amount_minor)


async def test_partial_then_full_refund_never_beyond_captured(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 1190)
    partial = await _refund(payments, tenant, charge.id, 400)
    assert partial.refund.status == P.REFUND_STATUS_SUCCEEDED and partial.charge.refunded.amount_minor == 400
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _refund(payments, tenant, charge.id, 791)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "amount" in (error.value.details() or "")
    rest = await _refund(payments, tenant, charge.id)
    assert rest.refund.amount.amount_minor == 790 and rest.charge.refunded.amount_minor == 1190
    refunded_tax = partial.refund.tax.amount_minor + rest.refund.tax.amount_minor
    assert refunded_tax == charge.tax.amount_minor
    detail = await payments.call(tenant, "GetCharge", P.GetChargeRequest(charge_id=charge.id))
    assert len(detail.refunds) == 2
    ledger = (await payments.ledger(tenant)).currencies[0]
    accounts = {a.account: a.balance.amount_minor for a in ledger.accounts}
    assert ledger.total_minor == 0 and accounts["psp_clearing"] == 0 and accounts["tax_payable"] == 0


async def test_refund_to_credit_is_spent_on_the_next_charge(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 1000)
    await _refund(payments, tenant, charge.id, 300, to_credit=True)
    assert await _credit(payments, tenant, customer) == 300
    next_charge = await payments.charge(tenant, customer, 1000)
    assert next_charge.credit_applied.amount_minor == 300 and next_charge.status == P.CHARGE_STATUS_SUCCEEDED
    assert await _credit(payments, tenant, customer) == 0


async def test_goodwill_credit_covers_a_whole_charge_without_a_psp(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    granted = await payments.call(
        tenant,
        "GrantCredit",
        P.GrantCreditRequest(request_id=uuid.uuid4().hex, customer_id=customer, amount=eur(2000), reason="outage"),
    )
    assert granted.balance.balance.amount_minor == 2000
    charge = await payments.charge(tenant, customer, 999)
    assert charge.status == P.CHARGE_STATUS_SUCCEEDED and list(charge.attempts) == []
    assert charge.credit_applied.amount_minor == 999
    assert await _credit(payments, tenant, customer) == 1001
    assert (await payments.ledger(tenant)).currencies[0].total_minor == 0


async def test_credit_reserved_for_a_declined_charge_is_given_back(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant, "tok_insufficient_funds")
    await payments.call(
        tenant,
        "GrantCredit",
        P.GrantCreditRequest(request_id=uuid.uuid4().hex, customer_id=customer, amount=eur(100), reason="goodwill"),
    )
    charge = await payments.charge(tenant, customer, 999)
    assert charge.status == P.CHARGE_STATUS_FAILED
    assert await _credit(payments, tenant, customer) == 100


async def test_void_reverses_the_sale(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charge = await payments.charge(tenant, customer, 1190)
    voided = await payments.call(
        tenant, "VoidCharge", P.VoidChargeRequest(request_id=uuid.uuid4().hex, charge_id=charge.id)
    )
    assert voided.charge.status == P.CHARGE_STATUS_VOIDED
    ledger = (await payments.ledger(tenant)).currencies[0]
    assert {a.balance.amount_minor for a in ledger.accounts} == {0}
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _refund(payments, tenant, charge.id)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
