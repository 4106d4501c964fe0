"""A tenant connects its own Stripe account through the gateway, routes its storefront to it, sells through it,
and Stripe's signed webhooks come back through the gateway; only admins see or touch the account."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
import stripe

from azotte_payments.sandbox_psp.adyen_api import sign_item
from azotte_payments.sandbox_psp.stripe_state import sign
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.helpers import eventually

ACCOUNT = "stripe-us"


def stripe_client(suite: RunningSuite, secret_key: str) -> stripe.StripeClient:
    url = suite.suite.auxiliary_urls["AZOTTE_STRIPE_API_BASE"]
    return stripe.StripeClient(secret_key, base_addresses={"api": url}, http_client=stripe.HTTPXClient())


async def connect_stripe(suite: RunningSuite, tenant: TenantApi, secret_key: str) -> tuple[httpx.Response, str]:
    """As a tenant does: add the gateway's webhook URL in Stripe, then connect the account with its secrets."""
    webhook_url = f"{suite.base_url}/v1/psp-webhooks/stripe/{tenant.tenant_id}/{ACCOUNT}"
    endpoint = await stripe_client(suite, secret_key).v1.webhook_endpoints.create_async(
        {"url": webhook_url, "enabled_events": ["*"]}
    )
    body = {
        "request_id": uuid.uuid4().hex,
        "account": {"account_id": ACCOUNT, "kind": "STRIPE", "mode": "SANDBOX", "display_name": "Stripe US"},
        "credentials": {"secret_key": secret_key, "webhook_secret": endpoint.secret},
    }
    return await tenant.call("POST", "/v1/psp-accounts", json=body), endpoint.secret or ""


async def routed_to_the_account(tenant: TenantApi) -> None:
    document = OTT_CATALOG.read_text().replace("fallback: [stripe_like, adyen_like]", f"fallback: [{ACCOUNT}]", 1)
    applied = await tenant.apply_catalog(document.encode())
    assert applied.status_code == 200, applied.text


async def test_a_tenant_sells_through_its_own_stripe_account(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    secret_key = f"sk_test_{uuid.uuid4().hex}"
    connected, webhook_secret = await connect_stripe(suite, tenant, secret_key)
    assert connected.status_code == 200, connected.text
    assert secret_key not in connected.text and webhook_secret not in connected.text
    account = connected.json()["account"]
    assert (account["kind"], account["credential_hints"]["secret_key"][:5]) == (
        "PSP_KIND_STRIPE",
        f"…{secret_key[-4:]}",
    )
    listed = await tenant.ok("GET", "/v1/psp-accounts")
    fetched = await tenant.ok("GET", f"/v1/psp-accounts/{ACCOUNT}")
    assert listed["accounts"] == [account] and fetched["account"] == account
    assert secret_key not in json.dumps([listed, fetched])

    await routed_to_the_account(tenant)
    card = await stripe_client(suite, secret_key).v1.payment_methods.create_async(
        {"type": "card", "card": {"token": "tok_visa"}}
    )
    customer = await tenant.customer()
    checkout = await tenant.checkout(customer, token=card.id)
    assert checkout.status_code == 200, checkout.text
    charges = await tenant.ok("GET", f"/v1/customers/{customer}/charges")
    assert [c["state"] for c in charges["charges"]] == ["CHARGE_STATE_SUCCEEDED"]

    events = await stripe_client(suite, secret_key).v1.payment_intents.search_async(
        {"query": f"metadata['azotte_reference']:'{charges['charges'][0]['id']}'"}
    )
    assert [intent.status for intent in events.data] == ["succeeded"]

    # Stripe's own delivery of payment_intent.succeeded was accepted; a redelivery is answered as a duplicate.
    url = f"/v1/psp-webhooks/stripe/{tenant.tenant_id}/{ACCOUNT}"
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": events.data[0].id, "object": "payment_intent"}},
    }
    payload = json.dumps(event).encode()

    async def post(signature: str) -> httpx.Response:
        return await suite.http.post(url, content=payload, headers={"Stripe-Signature": signature})

    first = await post(sign(payload, webhook_secret, int(time.time())))
    again = await post(sign(payload, webhook_secret, int(time.time())))
    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    forged = await post(sign(payload, "whsec_not_the_tenants", int(time.time())))
    stale = await post(sign(payload, webhook_secret, int(time.time()) - 600))
    assert forged.status_code == stale.status_code == 401
    assert forged.json()["error"]["details"][0]["reason"] == "PSP_WEBHOOK_REJECTED"
    other = await suite.http.post(
        f"/v1/psp-webhooks/stripe/t-{uuid.uuid4().hex[:10]}/{ACCOUNT}",
        content=payload,
        headers={"Stripe-Signature": sign(payload, webhook_secret, int(time.time()))},
    )
    assert other.status_code == 404

    delivered = await eventually(lambda: _delivered(suite, secret_key))
    assert delivered


async def _delivered(suite: RunningSuite, secret_key: str) -> bool:
    url = suite.suite.auxiliary_urls["AZOTTE_STRIPE_API_BASE"]
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/_test/events", headers={"Authorization": f"Bearer {secret_key}"})
    return any(e["type"] == "payment_intent.succeeded" for e in answer.json()["data"])


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
async def test_only_admins_see_or_connect_psp_accounts(suite: RunningSuite, role: str) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    key = await tenant.new_key(role)
    body = {
        "request_id": uuid.uuid4().hex,
        "account": {"account_id": ACCOUNT, "kind": "STRIPE_LIKE", "mode": "SANDBOX"},
        "credentials": {"api_key": "sk_test_azotte"},
    }
    for method, path, options in (
        ("POST", "/v1/psp-accounts", {"json": body}),
        ("GET", "/v1/psp-accounts", {}),
        ("GET", f"/v1/psp-accounts/{ACCOUNT}", {}),
        ("POST", "/v1/psp-accounts:rewrap", {"json": {"request_id": uuid.uuid4().hex}}),
        ("GET", "/v1/dispute-policy", {}),
        ("PUT", "/v1/dispute-policy", {"json": {"request_id": "r1", "policy": {"on_dispute_opened": "SUSPEND"}}}),
    ):
        answer = await tenant.call(method, path, key=key, **options)
        assert answer.status_code == 403, (method, path, answer.text)


async def test_another_tenants_account_is_not_found_and_bad_input_names_the_field(suite: RunningSuite) -> None:
    owner, other = await suite.new_tenant(with_catalog=False), await suite.new_tenant(with_catalog=False)
    connected, _ = await connect_stripe(suite, owner, f"sk_test_{uuid.uuid4().hex}")
    assert connected.status_code == 200, connected.text

    missing = await other.call("GET", f"/v1/psp-accounts/{ACCOUNT}")
    assert missing.status_code == 404 and missing.json()["error"]["details"][0]["reason"] == "PSP_ACCOUNT_NOT_FOUND"
    bad = await other.call(
        "POST",
        "/v1/psp-accounts",
        json={
            "request_id": uuid.uuid4().hex,
            "account": {"account_id": ACCOUNT, "kind": "STRIPE", "mode": "LIVE"},
            "credentials": {"secret_key": "sk_test_abcd", "webhook_secret": "whsec_x"},
        },
    )
    assert bad.status_code == 400
    violations = [d for d in bad.json()["error"]["details"] if "field_violations" in d]
    assert violations[0]["field_violations"][0]["field"] == "credentials.secret_key"


async def test_a_checkout_needing_3ds_answers_the_client_secret_and_completes_once_authenticated(
    suite: RunningSuite,
) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    secret_key = f"sk_test_{uuid.uuid4().hex}"
    connected, _ = await connect_stripe(suite, tenant, secret_key)
    assert connected.status_code == 200, connected.text
    await routed_to_the_account(tenant)
    card = await stripe_client(suite, secret_key).v1.payment_methods.create_async(
        {"type": "card", "card": {"token": "tok_authenticationRequired"}}
    )
    customer, request_id = await tenant.customer(), uuid.uuid4().hex

    needs_action = await tenant.checkout(customer, token=card.id, request_id=request_id)
    assert needs_action.status_code == 402, needs_action.text
    info = needs_action.json()["error"]["details"][0]
    assert info["reason"] == "PAYMENT_REQUIRES_ACTION"
    intent = info["metadata"]["client_secret"].split("_secret_")[0]

    # NOTE: the customer's browser authenticates (Stripe.js with the client secret); Stripe's webhook follows.
    emulator = suite.suite.auxiliary_urls["AZOTTE_STRIPE_API_BASE"]
    async with httpx.AsyncClient(base_url=emulator) as http:
        assert (await http.post(f"/_test/authenticate/{intent}", json={"result": "succeed"})).status_code == 200

    async def completed() -> httpx.Response:
        answer = await tenant.checkout(customer, token=card.id, request_id=request_id)
        assert answer.status_code == 200, answer.text
        return answer

    done = (await eventually(completed)).json()
    assert done["subscription"]["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    charges = await tenant.ok("GET", f"/v1/customers/{customer}/charges")
    assert [c["state"] for c in charges["charges"]] == ["CHARGE_STATE_SUCCEEDED"]


ADYEN = "adyen-us"


async def connect_adyen(suite: RunningSuite, tenant: TenantApi) -> tuple[str, str]:
    """As a tenant does in Adyen's Customer Area: a Standard webhook to the gateway and its HMAC key, then connect
    the account with its API key, merchant account and HMAC key; routes the `us` storefront to it."""
    api_key = f"AQE_{uuid.uuid4().hex}"
    url = f"{suite.base_url}/v1/psp-webhooks/adyen/{tenant.tenant_id}/{ADYEN}"
    emulator = suite.suite.auxiliary_urls["AZOTTE_ADYEN_CHECKOUT_URL"]
    async with httpx.AsyncClient(base_url=emulator, headers={"X-API-Key": api_key}) as http:
        hmac_key = str((await http.post("/_test/webhooks", json={"url": url})).json()["hmacKey"])
    credentials = {"api_key": api_key, "merchant_account": "TenantUS", "hmac_key": hmac_key}
    body = {
        "request_id": uuid.uuid4().hex,
        "account": {"account_id": ADYEN, "kind": "ADYEN", "mode": "SANDBOX", "display_name": "Adyen US"},
        "credentials": credentials,
    }
    connected = await tenant.call("POST", "/v1/psp-accounts", json=body)
    assert connected.status_code == 200, connected.text
    assert api_key not in connected.text and hmac_key not in connected.text
    document = OTT_CATALOG.read_text()
    for psps in ("[stripe_like, adyen_like]", "[adyen_like, stripe_like]"):
        document = document.replace(psps, f"[{ADYEN}]", 1)
    applied = await tenant.apply_catalog(document.encode())
    assert applied.status_code == 200, applied.text
    return api_key, hmac_key


def drop_in_card(number: str) -> str:
    """What Adyen's Drop-in gives the tenant's page for a card (fields encrypted), sent as the checkout's token."""
    return json.dumps({"type": "scheme", "encryptedCardNumber": number, "encryptedSecurityCode": "test_737"})


async def hd_allowed(tenant: TenantApi, customer: str) -> bool:
    decision = (await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming"))["decision"]
    return bool(decision.get("allowed"))


async def test_an_adyen_chargeback_suspends_access_per_policy_until_the_dispute_is_won(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    api_key, hmac_key = await connect_adyen(suite, tenant)
    policy = {"request_id": uuid.uuid4().hex, "policy": {"on_dispute_opened": "SUSPEND"}}
    updated = await tenant.ok("PUT", "/v1/dispute-policy", json=policy)
    assert updated["policy"]["on_dispute_opened"] == "DISPUTE_ACCESS_SUSPEND"
    assert (await tenant.ok("GET", "/v1/dispute-policy"))["policy"] == updated["policy"]

    customer = await tenant.customer()
    checkout = await tenant.checkout(customer, plan="premium_annual", token=drop_in_card("test_visa_authorised"))
    assert checkout.status_code == 200, checkout.text
    assert await eventually(lambda: hd_allowed(tenant, customer))

    # NOTE: the bank disputes the payment: Adyen notifies NOTIFICATION_OF_CHARGEBACK and CHARGEBACK.
    emulator = suite.suite.auxiliary_urls["AZOTTE_ADYEN_CHECKOUT_URL"]
    async with httpx.AsyncClient(base_url=emulator, headers={"X-API-Key": api_key}) as http:
        items = (await http.get("/_test/notifications")).json()["notificationItems"]
        paid = next(item for item in items if item["eventCode"] == "AUTHORISATION")
        opened = await http.post(f"/_test/chargebacks/{paid['pspReference']}", json={})
        assert opened.status_code == 200, opened.text
        await eventually(lambda: _denied(tenant, customer), within=30)
        won = await http.post(f"/_test/disputes/{opened.json()['pspReference']}", json={"outcome": "won"})
        assert won.status_code == 200, won.text
    assert await eventually(lambda: hd_allowed(tenant, customer), within=30)

    # A notification that is not the account's HMAC is refused; a redelivery of a signed one is accepted again.
    url = f"/v1/psp-webhooks/adyen/{tenant.tenant_id}/{ADYEN}"
    for key, expected in (("00" * 32, 401), (hmac_key, 200)):
        signed = {**paid, "additionalData": {"hmacSignature": sign_item(paid, key)}}
        body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": signed}]})
        answer = await suite.http.post(url, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == expected, answer.text
    assert answer.text == "[accepted]"


async def _denied(tenant: TenantApi, customer: str) -> bool:
    return not await hd_allowed(tenant, customer)
