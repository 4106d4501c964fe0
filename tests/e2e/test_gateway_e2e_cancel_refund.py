"""An immediate cancel with refund through the gateway pays the unused time back on the checkout's charge.

The charge and the subscription are read through the gateway; the refund's destination, the customer's
credit and the ledger are read from the payments service, which the gateway does not expose.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import grpc

from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import payments_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_endpoints import subscribed
from tests.helpers import eventually

PRICE = 2199  # family_monthly in storefront de, 19 % VAT included


async def test_an_immediate_cancel_with_refund_pays_back_the_unused_half(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()  # a ledger of its own
    customer, subscription_id = await subscribed(tenant, storefront="de")
    sub = (await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]
    start, end = (datetime.fromisoformat(sub[f"current_period_{e}_time"]) for e in ("start", "end"))
    half = {"request_id": uuid.uuid4().hex, "advance_by_seconds": int((end - start).total_seconds() / 2)}
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json=half)
    await eventually(lambda: _unused_credit_at_most(tenant, subscription_id, PRICE // 2 + 1))

    body = {"request_id": uuid.uuid4().hex, "timing": "immediately", "refund": True}
    cancelled = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:cancel", json=body)
    again = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:cancel", json=body)
    assert cancelled == again
    assert cancelled["subscription"]["state"] == "SUBSCRIPTION_STATE_EXPIRED"
    refunded = int(cancelled["refund_amount"]["amount_minor"])
    assert PRICE // 2 - 5 <= refunded <= PRICE // 2 + 1, refunded

    [charge] = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
    assert charge["state"] == "CHARGE_STATE_PARTIALLY_REFUNDED"
    assert int(charge["refunded"]["amount_minor"]) == refunded
    async with grpc.aio.insecure_channel(suite.suite.address("payments")) as channel:
        payments = Payments(payments_pb2_grpc.PaymentsServiceStub(channel), tenant.tenant_id)
        detail = await payments.call("GetCharge", P.GetChargeRequest(charge_id=charge["id"]))
        [refund] = detail.refunds
        assert (refund.destination, refund.amount.amount_minor) == (P.REFUND_DESTINATION_ORIGINAL_METHOD, refunded)
        credit = await payments.call(
            "GetCreditBalance", P.GetCreditBalanceRequest(customer_id=customer, currency_code="EUR")
        )
        assert credit.balance.balance.amount_minor == 0
        [eur] = (await payments.call("GetLedgerBalance", P.GetLedgerBalanceRequest(currency_code="EUR"))).currencies
    accounts = {a.account: a.balance.amount_minor for a in eur.accounts}
    assert eur.total_minor == 0
    assert accounts["psp_clearing"] == PRICE - refunded
    assert accounts["refunds"] == refunded - refund.tax.amount_minor
    assert accounts["tax_payable"] == -(detail.charge.tax.amount_minor - refund.tax.amount_minor)


class Payments:
    """Read-only calls to the payments service as one tenant."""

    def __init__(self, stub: payments_pb2_grpc.PaymentsServiceStub, tenant_id: str):
        self._stub, self._tenant = stub, tenant_id

    async def call(self, method: str, request: Any) -> Any:
        return await getattr(self._stub, method)(request, metadata=(("x-azotte-tenant", self._tenant),))


async def _unused_credit_at_most(tenant: TenantApi, subscription_id: str, limit: int) -> bool:
    """Whether lifecycle already prices the unused time at the moved clock (the move reaches it by NATS)."""
    body = {"new_plan_id": "basic_monthly", "timing": "immediately"}
    quote = (await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:preview-change", json=body))["quote"]
    return int(quote["proration_credit"]["amount_minor"]) <= limit


async def test_an_operator_cannot_cancel_with_a_refund_above_the_tenants_limit(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    customer, subscription_id = await subscribed(tenant, plan="premium_annual")  # 179.00 USD a year
    body = {"request_id": uuid.uuid4().hex, "timing": "immediately", "refund": True}
    for role in ("operator", "manager"):
        denied = await tenant.call(
            "POST", f"/v1/subscriptions/{subscription_id}:cancel", json=body, key=await tenant.new_key(role)
        )
        assert denied.status_code == 403, denied.text
        assert denied.json()["error"]["details"][0]["reason"] == "REFUND_LIMIT_EXCEEDED"
    sub = (await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]
    assert sub["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    [charge] = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
    assert charge["state"] == "CHARGE_STATE_SUCCEEDED"

    cancelled = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:cancel", json=body)  # an admin
    assert cancelled["subscription"]["state"] == "SUBSCRIPTION_STATE_EXPIRED"
    assert 10_000 < int(cancelled["refund_amount"]["amount_minor"]) <= 17_900
