"""Lifecycle's payments adapter against the real payments service: the charges an immediate cancel pays
back from, and its refunds (to the card, and as credit for what credit paid)."""

from __future__ import annotations

import uuid

from azotte.payments.v1 import payments_pb2 as P
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.domain.refunds import PaidCharge, cancel_refund_reason
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.service_layer.cancellation import pay_back_unused
from azotte_platform.context import tenant_scope
from tests.integration.payments.payments_harness import Payments, eur, lifecycle_subscription


async def found(adapter: GrpcPayments, sub: Subscription) -> dict[str, PaidCharge]:
    also = [sub.first_period_charge_id] if sub.first_period_charge_id else []
    with tenant_scope(sub.tenant_id):
        return {c.charge_id: c for c in await adapter.paid_charges(sub, also, cancel_refund_reason(sub.id))}


async def pay_back(adapter: GrpcPayments, sub: Subscription, amount_minor: int, request_id: str) -> None:
    """Lifecycle's cancel refunds, in the subscription's tenant as lifecycle's servicer runs them."""
    with tenant_scope(sub.tenant_id):
        await pay_back_unused(adapter, sub, amount_minor, request_id)


async def test_the_period_charges_pay_back_once_whatever_the_attempts(
    payments: Payments, tenant: str, adapter: GrpcPayments
) -> None:
    customer = await payments.add_customer(tenant)
    checkout = await payments.charge(tenant, customer, 1000)
    sub = lifecycle_subscription(tenant, customer, checkout.id)
    upgrade = await payments.charge(tenant, customer, 500, subscription_id=sub.id, period_key="1")
    older = await payments.charge(tenant, customer, 700, subscription_id=sub.id, period_key="0")
    goodwill = P.RefundChargeRequest(request_id=uuid.uuid4().hex, charge_id=upgrade.id, amount=eur(100), reason="oops")
    await payments.call(tenant, "RefundCharge", goodwill)
    before = await found(adapter, sub)
    assert {i: c.method_minor for i, c in before.items()} == {checkout.id: 1000, upgrade.id: 400}  # not `older`
    await pay_back(adapter, sub, 800, "first-attempt")
    await pay_back(adapter, sub, 800, "second-attempt")  # e.g. after the first answer was lost
    after = await found(adapter, sub)
    assert {i: c.method_minor for i, c in after.items()} == {checkout.id: 1000, upgrade.id: 400}
    assert sum(c.refunded_method_minor for c in after.values()) == 800
    refunded = [await _refunded(payments, tenant, c.id) for c in (checkout, upgrade, older)]
    assert sum(refunded) == 100 + 800 and refunded[2] == 0


async def test_what_credit_paid_goes_back_as_credit(payments: Payments, tenant: str, adapter: GrpcPayments) -> None:
    customer = await payments.add_customer(tenant)
    await payments.call(
        tenant,
        "GrantCredit",
        P.GrantCreditRequest(request_id=uuid.uuid4().hex, customer_id=customer, amount=eur(300), reason="goodwill"),
    )
    sub = lifecycle_subscription(tenant, customer)
    renewal = await payments.charge(tenant, customer, 1000, subscription_id=sub.id, period_key="1")
    assert renewal.credit_applied.amount_minor == 300
    assert [(c.method_minor, c.credit_minor) for c in (await found(adapter, sub)).values()] == [(700, 300)]
    await pay_back(adapter, sub, 900, "cancel")
    assert await _refunded(payments, tenant, renewal.id) == 900
    balance = await payments.call(
        tenant, "GetCreditBalance", P.GetCreditBalanceRequest(customer_id=customer, currency_code="EUR")
    )
    assert balance.balance.balance.amount_minor == 200


async def _refunded(payments: Payments, tenant: str, charge_id: str) -> int:
    answer = await payments.call(tenant, "GetCharge", P.GetChargeRequest(charge_id=charge_id))
    return int(answer.charge.refunded.amount_minor)
