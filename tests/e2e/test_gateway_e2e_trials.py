"""Fair trials through the real suite: a free trial taken in the App Store refuses the same person's web trial,
a card used for one trial refuses another customer's, `skip_trial` buys without it, and the paywall's question
with its role matrix and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually, fresh_card_token

APP_STORE_PREMIUM = "com.example.ott.premium.monthly"  # premium_monthly, family ott
WEB_TRIAL_PLAN = "standard_monthly"  # family ott, 7 days of trial


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    """A tenant with the OTT catalog and the App Store app `ios` trusting the test root."""
    tenant = await suite.new_tenant()
    app = {
        "app_id": "ios",
        "bundle_id": "com.example.app",
        "environment": "PRODUCTION",
        "root_certificate_pem": store.root_pem,
        "app_apple_id": 1234,
        "storefront_id": "us",
    }
    await tenant.ok("POST", "/v1/app-store-apps", json={"request_id": rid(), "app": app})
    return tenant


async def notify(shop: TenantApi, body: bytes) -> None:
    path = f"/v1/channels/app-store/{shop.tenant_id}/ios/notifications"
    answer = await shop.http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text


async def eligibility(shop: TenantApi, customer: str, plan: str = WEB_TRIAL_PLAN, key: str | None = None) -> Any:
    return await shop.call("GET", f"/v1/customers/{customer}/trial-eligibility?plan_id={plan}", key=key)


async def used(shop: TenantApi, customer: str) -> dict[str, Any]:
    """The customer's eligibility once promotions recorded the trial (lifecycle's event reaches it shortly)."""

    async def refused() -> dict[str, Any]:
        answer = await eligibility(shop, customer)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()["eligibility"]
        assert not found.get("eligible", False)
        return found

    return await eventually(refused)


async def test_a_trial_taken_in_the_app_store_refuses_the_same_person_a_web_trial(
    shop: TenantApi, store: SigningAppStore
):
    customer = await shop.customer()
    token = str(uuid.uuid4())
    identity = {"request_id": rid(), "identity": {"kind": "APP_STORE_APP_ACCOUNT_TOKEN", "value": token}}
    await shop.ok("POST", f"/v1/customers/{customer}:linkChannelIdentity", json=identity)
    assert (await eligibility(shop, customer)).json()["eligibility"]["eligible"] is True
    original, start = str(uuid.uuid4().int)[:16], datetime.now(UTC)
    transaction = subscription_transaction(
        original,
        product_id=APP_STORE_PREMIUM,
        purchased_at=start,
        expires_at=start + timedelta(days=7),
        app_account_token=token,
        offerType=1,
        offerDiscountType="FREE_TRIAL",
    )
    await notify(shop, store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=transaction))

    found = await used(shop, customer)

    assert found["reason"] == "TRIAL_ALREADY_USED" and found["product_line"] == "ott"
    assert found["match"]["kind"] == "TRIAL_MATCH_KIND_CUSTOMER"
    assert (found["match"]["plan_id"], found["match"]["channel"]) == ("premium_monthly", "CHANNEL_APP_STORE")
    # The App Store trial ends without converting; the web checkout of the same product line has no trial left.
    ended = datetime.now(UTC)
    await notify(shop, store.notification("EXPIRED", "VOLUNTARY", signed_at=ended, transaction=transaction))

    answer = await shop.checkout(customer, plan=WEB_TRIAL_PLAN)

    assert answer.status_code == 409, answer.text
    info = answer.json()["error"]["details"][0]
    assert info["reason"] == "TRIAL_ALREADY_USED"
    assert info["metadata"]["match"] == "customer" and info["metadata"]["trial_plan_id"] == "premium_monthly"


async def test_a_card_that_took_a_trial_refuses_another_customers_trial_until_bought_without_it(shop: TenantApi):
    card = fresh_card_token()
    first, second = await shop.customer(), await shop.customer()
    started = await shop.checkout(first, plan=WEB_TRIAL_PLAN, token=card)
    assert started.status_code == 200, started.text
    assert started.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_TRIALING"
    await used(shop, first)

    refused = await shop.checkout(second, plan=WEB_TRIAL_PLAN, token=card)

    assert refused.status_code == 409, refused.text
    info = refused.json()["error"]["details"][0]
    assert info["reason"] == "TRIAL_ALREADY_USED" and info["metadata"]["match"] == "payment_method"
    paywall = (await eligibility(shop, second)).json()["eligibility"]
    assert paywall["match"]["kind"] == "TRIAL_MATCH_KIND_PAYMENT_METHOD"
    assert paywall["match"]["value"] == info["metadata"]["matched_value"]
    body = {
        "request_id": rid(),
        "customer_id": second,
        "storefront_id": "us",
        "plan_id": WEB_TRIAL_PLAN,
        "channel": "web",
        "payment_method_token": card,
        "skip_trial": True,
    }
    bought = await shop.call("POST", "/v1/checkout", json=body)
    assert bought.status_code == 200, bought.text
    assert bought.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    assert int(bought.json()["charge"]["net"]["amount_minor"]) > 0

    async def blocked() -> list[Any]:
        timeline = await shop.ok("GET", "/v1/analytics/events", params={"filter": f"customer_id = {second}"})
        found = [(e["type"], e["cause"]) for e in timeline["events"] if e["type"] == "trial.blocked"]
        assert found
        return found

    assert await eventually(blocked) == [("trial.blocked", "payment_method")]


async def test_sandbox_scenario_tokens_stand_for_any_card_and_match_nobody(shop: TenantApi):
    first, second = await shop.customer(), await shop.customer()
    assert (await shop.checkout(first, plan=WEB_TRIAL_PLAN)).status_code == 200
    await used(shop, first)

    answer = await shop.checkout(second, plan=WEB_TRIAL_PLAN)

    assert answer.status_code == 200, answer.text
    assert answer.json()["subscription"]["state"] == "SUBSCRIPTION_STATE_TRIALING"


async def test_who_may_ask_and_another_tenants_customer_is_not_found(suite: RunningSuite, shop: TenantApi):
    customer = await shop.customer()
    for role in ("viewer", "operator", "manager"):
        answer = await eligibility(shop, customer, key=await shop.new_key(role))
        assert answer.status_code == 200, answer.text
    publishable = await eligibility(shop, customer, key=await shop.new_key("publishable"))
    assert publishable.status_code == 403, publishable.text
    missing_plan = await shop.call("GET", f"/v1/customers/{customer}/trial-eligibility")
    assert missing_plan.status_code == 400, missing_plan.text
    unknown_plan = await eligibility(shop, customer, plan="no_such_plan")
    assert unknown_plan.status_code == 404, unknown_plan.text
    other = await suite.new_tenant()
    assert (await eligibility(other, customer)).status_code == 404
    assert (await eligibility(other, f"cus_{uuid.uuid4().hex}")).status_code == 404
