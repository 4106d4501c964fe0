"""Credit balances per currency and their movements; charges listed by status, refunds and order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from azotte.common.v1 import money_pb2
from azotte.payments.v1 import payments_pb2 as P
from azotte_payments.domain.charge import ChargeStatus
from azotte_payments.domain.payment_method import PaymentMethodType
from azotte_payments.service_layer import credits, payment_methods, refunds
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from tests.unit.payments.fakes import INSUFFICIENT_FUNDS, SUCCESS, TENANT, FakePayments

NO_CONTEXT: Any = None


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


async def customer_with(payments: FakePayments, token: str) -> str:
    customer = f"cus_{uuid.uuid4().hex[:8]}"
    async with payments.uow() as uow:
        await payment_methods.add_payment_method(
            uow, TENANT, payment_methods.AddPaymentMethod(customer, PaymentMethodType.CARD, token)
        )
        await uow.commit()
    return customer


async def grant(payments: FakePayments, customer: str, amount: int, currency: str = "EUR") -> P.GrantCreditResponse:
    with tenant_scope(TENANT):
        return await payments.servicer.GrantCredit(
            P.GrantCreditRequest(
                request_id=uuid.uuid4().hex,
                customer_id=customer,
                amount=money_pb2.Money(currency_code=currency, amount_minor=amount),
                reason="support case 42",
            ),
            NO_CONTEXT,
        )


async def movements(payments: FakePayments, customer: str, **fields: Any) -> P.ListCreditMovementsResponse:
    with tenant_scope(TENANT):
        return await payments.servicer.ListCreditMovements(
            P.ListCreditMovementsRequest(customer_id=customer, **fields), NO_CONTEXT
        )


async def test_a_grant_then_a_charge_record_both_movements_newest_first(payments: FakePayments) -> None:
    customer = await customer_with(payments, SUCCESS)
    await grant(payments, customer, 300)
    charge = await payments.desk.create(TENANT, CreateCharge("k1", customer, "de", "CHANNEL_WEB", "pro", 999, "EUR"))
    assert charge.status is ChargeStatus.SUCCEEDED and charge.credit_applied_minor == 300

    listed = await movements(payments, customer)
    assert [(m.kind, m.amount.amount_minor, m.balance_after.amount_minor) for m in listed.movements] == [
        (P.CREDIT_MOVEMENT_KIND_SPEND, -300, 0),
        (P.CREDIT_MOVEMENT_KIND_GRANT, 300, 300),
    ]
    assert listed.movements[0].charge_id == charge.charge_id
    assert listed.movements[1].reason == "support case 42"


async def test_credit_spent_by_a_declined_charge_is_released(payments: FakePayments) -> None:
    customer = await customer_with(payments, INSUFFICIENT_FUNDS)
    await grant(payments, customer, 100)
    charge = await payments.desk.create(TENANT, CreateCharge("k2", customer, "de", "CHANNEL_WEB", "pro", 999, "EUR"))
    assert charge.status is ChargeStatus.FAILED

    listed = await movements(payments, customer)
    assert [m.kind for m in listed.movements] == [
        P.CREDIT_MOVEMENT_KIND_RELEASE,
        P.CREDIT_MOVEMENT_KIND_SPEND,
        P.CREDIT_MOVEMENT_KIND_GRANT,
    ]
    assert listed.movements[0].balance_after.amount_minor == 100


async def test_a_refund_to_credit_is_a_refund_movement_naming_the_charge(payments: FakePayments) -> None:
    customer = await customer_with(payments, SUCCESS)
    charge = await payments.desk.create(TENANT, CreateCharge("k3", customer, "de", "CHANNEL_WEB", "pro", 999, "EUR"))
    async with payments.uow() as uow:
        command = refunds.RefundCharge(uuid.uuid4().hex, charge.charge_id, 200, "EUR", True, "late stream")
        await refunds.refund_charge(uow, TENANT, payments.registry, command)
        await uow.commit()

    (movement,) = (await movements(payments, customer)).movements
    assert movement.kind == P.CREDIT_MOVEMENT_KIND_REFUND
    assert (movement.charge_id, movement.reason, movement.amount.amount_minor) == (charge.charge_id, "late stream", 200)


async def test_movements_page_and_filter_by_currency_and_kind(payments: FakePayments) -> None:
    customer = await customer_with(payments, SUCCESS)
    for amount in (1, 2, 3):
        await grant(payments, customer, amount)
    await grant(payments, customer, 7, "USD")

    first = await movements(payments, customer, currency_code="EUR", page_size=2)
    second = await movements(payments, customer, currency_code="EUR", page_size=2, page_token=first.next_page_token)
    assert [m.amount.amount_minor for m in (*first.movements, *second.movements)] == [3, 2, 1]
    assert second.next_page_token == ""
    usd = await movements(payments, customer, currency_code="USD", kind=P.CREDIT_MOVEMENT_KIND_GRANT)
    assert [m.amount.amount_minor for m in usd.movements] == [7]
    assert (await movements(payments, customer, kind=P.CREDIT_MOVEMENT_KIND_SPEND)).movements == []
    with pytest.raises(InvalidArgument, match="page_token"):
        await movements(payments, customer, currency_code="USD", page_token=first.next_page_token)


async def test_balances_are_listed_per_currency(payments: FakePayments) -> None:
    customer = await customer_with(payments, SUCCESS)
    await grant(payments, customer, 500)
    await grant(payments, customer, 70, "USD")
    with tenant_scope(TENANT):
        listed = await payments.servicer.ListCreditBalances(
            P.ListCreditBalancesRequest(customer_id=customer), NO_CONTEXT
        )
    assert [(b.balance.currency_code, b.balance.amount_minor) for b in listed.balances] == [("EUR", 500), ("USD", 70)]
    async with payments.uow() as uow:
        assert await credits.credit_balances(uow, TENANT, "cus_nobody") == []


async def test_charges_are_listed_by_status_refunds_and_order(payments: FakePayments) -> None:
    customer = await customer_with(payments, SUCCESS)
    made = [
        await payments.desk.create(TENANT, CreateCharge(f"o{n}", customer, "de", "CHANNEL_WEB", "pro", 500, "EUR"))
        for n in range(3)
    ]
    async with payments.uow() as uow:
        command = refunds.RefundCharge(uuid.uuid4().hex, made[0].charge_id, None, "EUR", False, "")
        await refunds.refund_charge(uow, TENANT, payments.registry, command)
        await uow.commit()

    async def ids(**fields: Any) -> list[str]:
        with tenant_scope(TENANT):
            answer = await payments.servicer.ListCharges(
                P.ListChargesRequest(customer_id=customer, **fields), NO_CONTEXT
            )
        return [c.id for c in answer.charges]

    everything = await ids(oldest_first=True)
    assert len(everything) == 3 and everything == list(reversed(await ids()))
    assert await ids(refunded=P.REFUNDED_FILTER_FULLY) == [made[0].charge_id]
    unrefunded = await ids(statuses=[P.CHARGE_STATUS_SUCCEEDED], refunded=P.REFUNDED_FILTER_NONE)
    assert set(unrefunded) == {made[1].charge_id, made[2].charge_id}
    assert await ids(statuses=[P.CHARGE_STATUS_FAILED]) == []
    with tenant_scope(TENANT):
        first = await payments.servicer.ListCharges(
            P.ListChargesRequest(customer_id=customer, page_size=1, oldest_first=True), NO_CONTEXT
        )
        with pytest.raises(InvalidArgument, match="page_token"):
            await payments.servicer.ListCharges(
                P.ListChargesRequest(customer_id=customer, page_token=first.next_page_token), NO_CONTEXT
            )
