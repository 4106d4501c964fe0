"""Telecom carrier billing through the gateway: a tenant connects its carrier account, routes carrier billing
methods to it, sells a plan charged to a phone bill, and the scheduler charges the carrier each period like a
card; a denial follows the dunning policy (access kept in grace), and the carrier's notifications are verified."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from azotte_payments.adapters.psp.carrier_notifications import sign
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.helpers import eventually

ACCOUNT = "carrier-de"
FEATURE = "uhd_streaming"
NUMBER = "+4915100000000"


async def carrier_tenant(suite: RunningSuite) -> tuple[TenantApi, httpx.AsyncClient]:
    """A tenant with its carrier account (notifications to the gateway) and storefront `de` routed to it."""
    tenant = await suite.new_tenant(with_catalog=False)
    api_key = f"cb_{uuid.uuid4().hex}"
    carrier = httpx.AsyncClient(
        base_url=suite.suite.auxiliary_urls["AZOTTE_CARRIER_SANDBOX_URL"],
        headers={"Authorization": f"Bearer {api_key}"},
    )
    sink = f"{suite.base_url}/v1/psp-webhooks/carrier/{tenant.tenant_id}/{ACCOUNT}"
    secret = (await carrier.post("/_sandbox/notification-endpoints", json={"url": sink})).json()["secret"]
    credentials = {"carrier": "sandbox", "api_key": api_key, "notification_secret": secret, "flow": "one_step"}
    account = {"account_id": ACCOUNT, "kind": "CARRIER", "mode": "SANDBOX", "display_name": "Carrier DE"}
    connected = await tenant.call(
        "POST",
        "/v1/psp-accounts",
        json={"request_id": uuid.uuid4().hex, "account": account, "credentials": credentials},
    )
    assert connected.status_code == 200, connected.text
    assert secret not in connected.text and api_key not in connected.text
    rule = "        - when: {payment_method_types: [sepa_debit]}\n"
    document = OTT_CATALOG.read_text()
    assert rule in document
    routed = f"        - when: {{payment_method_types: [carrier_billing]}}\n          psps: [{ACCOUNT}]\n{rule}"
    applied = await tenant.apply_catalog(document.replace(rule, routed, 1).encode())
    assert applied.status_code == 200, applied.text
    return tenant, carrier


async def subscribe_by_phone_bill(tenant: TenantApi) -> tuple[str, str]:
    customer = await tenant.customer("DE")
    method = {"request_id": uuid.uuid4().hex, "payment_method_token": f"tel:{NUMBER}", "type": "CARRIER_BILLING"}
    await tenant.ok("POST", f"/v1/customers/{customer}/payment-methods", json=method)
    checkout = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer,
        "storefront_id": "de",
        "plan_id": "premium_monthly",
        "channel": "telecom",
        "skip_trial": True,
    }
    answer = await tenant.ok("POST", "/v1/checkout", json=checkout)
    return customer, str(answer["subscription"]["id"])


async def allowed(tenant: TenantApi, customer: str) -> bool:
    decision = (await tenant.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}"))["decision"]
    return bool(decision.get("allowed"))


async def completed_payments(carrier: httpx.AsyncClient, tenant: TenantApi) -> list[dict[str, Any]]:
    sent = (await carrier.get("/_test/notifications")).json()["data"]
    return [n for n in sent if tenant.tenant_id in n["url"] and "payment-completed" in n["payload"]]


async def test_a_phone_bill_pays_each_period_and_a_denial_enters_dunning(suite: RunningSuite) -> None:
    tenant, carrier = await carrier_tenant(suite)
    customer, subscription = await subscribe_by_phone_bill(tenant)
    assert await eventually(lambda: allowed(tenant, customer))

    async def charges(count: int, state: str) -> list[dict[str, Any]]:
        listed = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
        assert len(listed) == count and listed[0]["state"] == state, listed
        return list(listed)

    async def advance_a_month() -> None:
        await tenant.ok(
            "POST", "/v1/sandbox/clock:advance", json={"request_id": uuid.uuid4().hex, "advance_by_days": 31}
        )

    await advance_a_month()
    renewed = await eventually(lambda: charges(2, "CHARGE_STATE_SUCCEEDED"), within=30)
    assert renewed[0]["gross"] == {"currency_code": "EUR", "amount_minor": "1699"}
    assert len(await completed_payments(carrier, tenant)) == 2  # both periods went on the phone bill

    # NOTE: the subscriber's line runs out of credit: the carrier denies the next period, dunning takes over.
    await carrier.post("/_test/lines", json={"phoneNumber": NUMBER, "barred": True})
    await advance_a_month()
    denied = await eventually(lambda: charges(3, "CHARGE_STATE_FAILED"), within=30)

    async def past_due() -> bool:
        sub = (await tenant.ok("GET", f"/v1/subscriptions/{subscription}"))["subscription"]
        return bool(sub["state"] == "SUBSCRIPTION_STATE_PAST_DUE")

    assert denied[0]["decline_reason"] == "DO_NOT_HONOR"
    assert await eventually(past_due)
    assert await allowed(tenant, customer)  # grace keeps access
    await carrier.aclose()


async def test_a_forged_carrier_notification_is_refused(suite: RunningSuite) -> None:
    tenant, carrier = await carrier_tenant(suite)
    await carrier.aclose()
    payload = json.dumps(
        {
            "id": uuid.uuid4().hex,
            "source": "https://attacker.example",
            "type": "org.camaraproject.carrier-billing.v0.payment-completed",
            "specversion": "1.0",
            "time": "2026-01-01T00:00:00Z",
            "data": {"paymentId": "pay_x", "status": "succeeded", "description": "forged"},
        }
    ).encode()
    url = f"/v1/psp-webhooks/carrier/{tenant.tenant_id}/{ACCOUNT}"
    forged = await suite.http.post(
        url, content=payload, headers={"X-Carrier-Signature": sign(payload, "cbn_guess", int(time.time()))}
    )
    unsigned = await suite.http.post(url, content=payload)
    assert forged.status_code == unsigned.status_code == 401
    assert forged.json()["error"]["details"][0]["reason"] == "PSP_WEBHOOK_REJECTED"
    missing = await suite.http.post(f"/v1/psp-webhooks/carrier/t-{uuid.uuid4().hex[:10]}/{ACCOUNT}", content=payload)
    assert missing.status_code == 404
