"""Checkout orchestration against fake services: idempotency, compensation, declines, trials, isolation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from azotte_gateway.service_layer.admin import SANDBOX_TENANT_ID
from tests.integration.gateway.conftest import GatewayUnderTest
from tests.integration.gateway.gateway_fakes import PRICE_MINOR


def checkout_body(**overrides: Any) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4().hex,
        "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
        "storefront_id": "us",
        "plan_id": "basic",
        "channel": "web",
        "payment_method_token": "tok_success",
        **overrides,
    }


async def test_a_checkout_charges_subscribes_and_answers_the_granted_entitlements(gateway: GatewayUnderTest) -> None:
    answer = await gateway.http.post("/v1/checkout", json=checkout_body(), headers=gateway.auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["subscription"]["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    assert body["charge"]["state"] == "CHARGE_STATE_SUCCEEDED"
    assert body["charge"]["net"]["amount_minor"] == str(PRICE_MINOR)
    assert int(body["charge"]["gross"]["amount_minor"]) == PRICE_MINOR + int(body["charge"]["tax"]["amount_minor"])
    assert [e["feature_key"] for e in body["granted_entitlements"]] == ["hd"]
    assert body["granted_entitlements"][0]["subscription_id"] == body["subscription"]["id"]
    assert gateway.world.initial_charges[body["subscription"]["id"]] == body["charge"]["id"]


async def test_twenty_concurrent_retries_make_one_charge_and_one_subscription(gateway: GatewayUnderTest) -> None:
    body = checkout_body()
    calls_before = gateway.world.charge_calls
    answers = await asyncio.gather(
        *(gateway.http.post("/v1/checkout", json=body, headers=gateway.auth()) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["subscription"]["id"] for a in answers}) == 1
    assert len({a.json()["charge"]["id"] for a in answers}) == 1
    assert gateway.world.charge_calls - calls_before == 1


async def test_a_request_id_reused_for_another_checkout_is_refused(gateway: GatewayUnderTest) -> None:
    body = checkout_body()
    assert (await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())).status_code == 200
    other = {**body, "plan_id": "trial"}
    answer = await gateway.http.post("/v1/checkout", json=other, headers=gateway.auth())
    assert answer.status_code == 409
    assert "REQUEST_ID_REUSED" in answer.text


async def test_when_the_subscription_cannot_be_made_the_charge_is_voided(gateway: GatewayUnderTest) -> None:
    body = checkout_body()
    gateway.world.customers.add((SANDBOX_TENANT_ID, body["customer_id"]))
    gateway.world.fail_subscriptions = True
    try:
        answer = await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())
    finally:
        gateway.world.fail_subscriptions = False
    assert answer.status_code == 409
    assert answer.json()["error"]["status"] == "FAILED_PRECONDITION"
    charges = await gateway.http.get(f"/v1/customers/{body['customer_id']}/charges", headers=gateway.auth())
    assert [c["state"] for c in charges.json()["charges"]] == ["CHARGE_STATE_VOIDED"]
    subscriptions = [s for s in gateway.world.subscriptions.values() if s.customer_id == body["customer_id"]]
    assert subscriptions == []
    retry = await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())
    assert retry.status_code == 409
    assert "CHECKOUT_COMPENSATED" in retry.text


async def test_a_declined_card_answers_402_with_the_normalized_reason(gateway: GatewayUnderTest) -> None:
    body = checkout_body(payment_method_token="tok_insufficient_funds")
    answer = await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    info = next(d for d in error["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["reason"] == "PAYMENT_DECLINED"
    assert info["metadata"]["decline_reason"] == "INSUFFICIENT_FUNDS"


async def test_a_trial_starts_without_a_charge(gateway: GatewayUnderTest) -> None:
    calls_before = gateway.world.charge_calls
    answer = await gateway.http.post("/v1/checkout", json=checkout_body(plan_id="trial"), headers=gateway.auth())
    assert answer.status_code == 200, answer.text
    assert answer.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_TRIALING"
    assert "charge" not in answer.json() or not answer.json()["charge"]
    assert gateway.world.charge_calls == calls_before
    assert gateway.world.initial_charges[answer.json()["subscription"]["id"]] == ""


async def test_unknown_plans_and_disabled_channels_are_named(gateway: GatewayUnderTest) -> None:
    unknown = await gateway.http.post("/v1/checkout", json=checkout_body(plan_id="gold"), headers=gateway.auth())
    assert unknown.status_code == 400
    assert "PLAN_NOT_IN_STOREFRONT" in unknown.text and "plan_id" in unknown.text
    channel = await gateway.http.post("/v1/checkout", json=checkout_body(channel="telecom"), headers=gateway.auth())
    assert channel.status_code == 400
    assert "CHANNEL_NOT_ENABLED" in channel.text


async def test_another_tenant_sees_none_of_the_subscriptions_or_charges(gateway: GatewayUnderTest) -> None:
    body = checkout_body()
    made = (await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())).json()
    tenant_b = {"request_id": uuid.uuid4().hex, "tenant_id": "tenant-b", "display_name": "B"}
    created = await gateway.http.post("/v1/tenants", json=tenant_b, headers=gateway.auth())
    other = created.json()["admin_secret"]
    subscription = await gateway.http.get(
        f"/v1/subscriptions/{made['subscription']['id']}", headers=gateway.auth(other)
    )
    assert subscription.status_code == 404
    charges = await gateway.http.get(f"/v1/customers/{body['customer_id']}/charges", headers=gateway.auth(other))
    assert charges.status_code == 404, charges.text
    access = await gateway.http.get(f"/v1/customers/{body['customer_id']}/access/hd", headers=gateway.auth(other))
    assert access.status_code == 404, access.text


async def test_a_promotion_code_is_400_promotion_code_unknown_naming_it_and_charges_nothing(
    gateway: GatewayUnderTest,
) -> None:
    calls_before = gateway.world.charge_calls
    body = checkout_body(promotion_code="WELCOME10")
    gateway.world.customers.add((SANDBOX_TENANT_ID, body["customer_id"]))
    answer = await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    info, bad_request = error["details"]
    assert (error["status"], info["reason"]) == ("INVALID_ARGUMENT", "PROMOTION_CODE_UNKNOWN")
    assert [v["field"] for v in bad_request["field_violations"]] == ["promotion_code"]
    assert gateway.world.charge_calls == calls_before
    assert [s for s in gateway.world.subscriptions.values() if s.customer_id == body["customer_id"]] == []
    # NOTE: nothing was kept under the request id: the same checkout without the code goes through.
    del body["promotion_code"]
    assert (await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth())).status_code == 200
