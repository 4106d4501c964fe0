"""Checkout through the real suite: taxes, entitlements, idempotency under retries, compensation, declines."""

from __future__ import annotations

import asyncio
import uuid

import grpc

from azotte.payments.v1 import payments_pb2 as P
from azotte.payments.v1 import payments_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_cancel_refund import Payments


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


async def test_a_checkout_for_an_unknown_customer_is_not_found_and_charges_nothing(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    unknown_customer = f"cus_{uuid.uuid4().hex[:12]}"
    answer = await tenant.checkout(unknown_customer, plan="basic_monthly")
    assert answer.status_code == 404, answer.text
    # NOTE: the gateway answers 404 for an unknown customer's reads, so payments is asked directly.
    assert (await tenant.call("GET", f"/v1/customers/{unknown_customer}/charges")).status_code == 404
    async with grpc.aio.insecure_channel(suite.suite.address("payments")) as channel:
        payments = Payments(payments_pb2_grpc.PaymentsServiceStub(channel), tenant.tenant_id)
        charges = (await payments.call("ListCharges", P.ListChargesRequest(customer_id=unknown_customer))).charges
    assert list(charges) == []


async def test_a_declined_card_answers_402_with_the_reason(tenant: TenantApi) -> None:
    answer = await tenant.checkout(await tenant.customer(), token="tok_insufficient_funds")
    assert answer.status_code == 402, answer.text
    error = answer.json()["error"]
    info = next(d for d in error["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["reason"] == "PAYMENT_DECLINED"
    assert info["metadata"]["decline_reason"] == "INSUFFICIENT_FUNDS"


async def test_a_card_number_sent_as_the_token_is_refused_naming_the_field_and_stores_nothing(
    tenant: TenantApi,
) -> None:
    customer = await tenant.customer()
    answer = await tenant.checkout(customer, token="4242 4242 4242 4242")
    stored = await tenant.call(
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        json={"request_id": uuid.uuid4().hex, "payment_method_token": "tok_4111111111111111"},
    )
    for refused in (answer, stored):
        assert refused.status_code == 400, refused.text
        violation = refused.json()["error"]["details"][1]["field_violations"][0]
        assert violation["field"] == "payment_method_token" and "card number" in violation["description"]
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"] == []
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/payment-methods")).get("payment_methods", []) == []


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


async def payments_charges(
    suite: RunningSuite, tenant: TenantApi, customer_id: str, subscription_id: str = ""
) -> list[P.Charge]:
    """The customer's charges (of one subscription when given) as payments' own gRPC ListCharges answers."""
    async with grpc.aio.insecure_channel(suite.suite.address("payments")) as channel:
        payments = Payments(payments_pb2_grpc.PaymentsServiceStub(channel), tenant.tenant_id)
        request = P.ListChargesRequest(customer_id=customer_id, subscription_id=subscription_id)
        return list((await payments.call("ListCharges", request)).charges)


def given_back(charge: P.Charge) -> bool:
    return charge.status == P.CHARGE_STATUS_VOIDED or charge.refunded.amount_minor == charge.gross.amount_minor


async def test_the_checkout_charge_is_listed_by_its_subscription(suite: RunningSuite, tenant: TenantApi) -> None:
    customer = await tenant.customer()
    answer = await tenant.checkout(customer, plan="basic_monthly")
    assert answer.status_code == 200, answer.text
    subscription_id, charge_id = answer.json()["subscription"]["id"], answer.json()["charge"]["id"]
    assert answer.json()["charge"]["subscription_id"] == subscription_id
    listed = await tenant.ok("GET", f"/v1/customers/{customer}/charges", params={"subscription_id": subscription_id})
    assert [c["id"] for c in listed["charges"]] == [charge_id]
    by_grpc = await payments_charges(suite, tenant, customer, subscription_id=subscription_id)
    assert [c.id for c in by_grpc] == [charge_id]


async def test_a_second_checkout_of_the_same_plan_family_is_409_already_subscribed_and_charges_once(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    customer = await tenant.customer()
    first = await tenant.checkout(customer, plan="basic_monthly")
    assert first.status_code == 200, first.text
    for plan in ("basic_monthly", "premium_monthly"):  # the same plan, then another of its family
        again = await tenant.checkout(customer, plan=plan)
        assert again.status_code == 409, again.text
        info = next(d for d in again.json()["error"]["details"] if d["@type"].endswith("ErrorInfo"))
        assert info["reason"] == "ALREADY_SUBSCRIBED"
        assert info["metadata"]["subscription_id"] == first.json()["subscription"]["id"]
    charges = await payments_charges(suite, tenant, customer)
    assert [c.id for c in charges] == [first.json()["charge"]["id"]]
    subscriptions = await tenant.ok("GET", f"/v1/customers/{customer}/subscriptions")
    assert len(subscriptions["subscriptions"]) == 1


async def test_of_concurrent_checkouts_of_one_plan_one_subscribes_and_every_other_charge_is_given_back(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    customer = await tenant.customer()
    answers = await asyncio.gather(*(tenant.checkout(customer, plan="family_monthly") for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409], [a.text for a in answers]
    [won] = [a.json() for a in answers if a.status_code == 200]
    assert all("ALREADY_SUBSCRIBED" in a.text for a in answers if a.status_code == 409)
    kept = [c for c in await payments_charges(suite, tenant, customer) if not given_back(c)]
    assert [(c.id, c.subscription_id) for c in kept] == [(won["charge"]["id"], won["subscription"]["id"])]
    subscriptions = await tenant.ok("GET", f"/v1/customers/{customer}/subscriptions")
    assert [s["id"] for s in subscriptions["subscriptions"]] == [won["subscription"]["id"]]


async def test_a_promotion_code_is_400_promotion_code_unknown_and_charges_nothing(
    suite: RunningSuite, tenant: TenantApi
) -> None:
    customer = await tenant.customer()
    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "basic_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
        "promotion_code": "WELCOME10",
    }
    answer = await tenant.call("POST", "/v1/checkout", json=body)
    assert answer.status_code == 400, answer.text
    assert "PROMOTION_CODE_UNKNOWN" in answer.text and "promotion_code" in answer.text
    assert await payments_charges(suite, tenant, customer) == []
