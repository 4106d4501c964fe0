"""Checkout through the real suite: taxes, entitlements, idempotency under retries, compensation, declines."""

from __future__ import annotations

import asyncio
import uuid

from tests.e2e.conftest import TenantApi


async def test_web_checkouts_show_exclusive_and_inclusive_tax(tenant: TenantApi) -> None:
    us = await tenant.checkout(await tenant.customer("US"), storefront="us", plan="basic_monthly")
    de = await tenant.checkout(await tenant.customer("DE"), storefront="de", plan="family_monthly")
    assert us.status_code == 200, us.text
    assert de.status_code == 200, de.text
    us_charge, de_charge = us.json()["charge"], de.json()["charge"]
    # US prices exclude tax: the price is the net and tax comes on top.
    assert int(us_charge["net"]["amount_minor"]) == 699
    assert int(us_charge["gross"]["amount_minor"]) == 699 + int(us_charge["tax"]["amount_minor"])
    # German prices include 19 % VAT: the price is the gross and the VAT is carved out of it.
    assert de_charge["gross"] == {"currency_code": "EUR", "amount_minor": "2199"}
    assert int(de_charge["tax"]["amount_minor"]) == 351
    assert int(de_charge["net"]["amount_minor"]) == 2199 - 351
    assert de.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    assert "hd_streaming" in {e["feature_key"] for e in de.json()["granted_entitlements"]}


async def test_twenty_concurrent_retries_of_one_checkout_charge_once(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    request_id = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(tenant.checkout(customer, plan="family_monthly", request_id=request_id) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200][:1]
    assert len({a.json()["subscription"]["id"] for a in answers}) == 1
    charges = await tenant.ok("GET", f"/v1/customers/{customer}/charges")
    assert len(charges["charges"]) == 1
    subscriptions = await tenant.ok("GET", f"/v1/customers/{customer}/subscriptions")
    assert len(subscriptions["subscriptions"]) == 1


async def test_a_charge_is_given_back_when_the_subscription_cannot_be_made(tenant: TenantApi) -> None:
    unknown_customer = f"cus_{uuid.uuid4().hex[:12]}"
    answer = await tenant.checkout(unknown_customer, plan="basic_monthly")
    assert answer.status_code == 404, answer.text
    charges = (await tenant.ok("GET", f"/v1/customers/{unknown_customer}/charges"))["charges"]
    assert charges, "the checkout charged before subscribing"
    assert {c["state"] for c in charges} <= {"CHARGE_STATE_VOIDED", "CHARGE_STATE_REFUNDED"}
    subscriptions = await tenant.ok("GET", f"/v1/customers/{unknown_customer}/subscriptions")
    assert subscriptions["subscriptions"] == []


async def test_a_declined_card_answers_402_with_the_reason(tenant: TenantApi) -> None:
    answer = await tenant.checkout(await tenant.customer(), token="tok_insufficient_funds")
    assert answer.status_code == 402, answer.text
    error = answer.json()["error"]
    info = next(d for d in error["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["reason"] == "PAYMENT_DECLINED"
    assert info["metadata"]["decline_reason"] == "INSUFFICIENT_FUNDS"


async def test_plans_and_channels_outside_the_storefront_are_refused(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    unknown = await tenant.checkout(customer, plan="platinum_monthly")
    assert unknown.status_code == 400 and "plan_id" in unknown.text
    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "basic_monthly",
        "channel": "telecom",
        "payment_method_token": "tok_success",
    }
    channel = await tenant.call("POST", "/v1/checkout", json=body)
    assert channel.status_code == 400 and "CHANNEL_NOT_ENABLED" in channel.text


async def test_a_trial_starts_without_a_charge(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    answer = await tenant.checkout(customer, plan="standard_monthly")
    assert answer.status_code == 200, answer.text
    assert answer.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_TRIALING"
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"] == []
