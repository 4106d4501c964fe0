"""Cross-channel truth through the real stack: with the tenant's policy set to flag, an App Store purchase of the
product line a customer already holds on the web is applied and flagged to the tenant's webhook
(`subscription.duplicate_across_channels`, both subscriptions and channels); the customer has one entitlement set
(the web plan's HD and the App Store plan's UHD, and HD still after the App Store one expires); a web checkout
of a product line held in the App Store is refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_app_store import app_body, post, subscriber
from tests.e2e.test_gateway_e2e_channels_app_store import transaction
from tests.e2e.test_gateway_e2e_webhooks import Delivery, Receiver, arrived, endpoint, listening
from tests.helpers import eventually

DUPLICATE = "subscription.duplicate_across_channels"


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
async def hooks() -> AsyncIterator[Receiver]:
    async with listening() as receiving:
        yield receiving


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    """The OTT catalog, the App Store app `ios`, and a policy that flags duplicates across channels."""
    tenant = await suite.new_tenant()
    await tenant.ok("POST", "/v1/app-store-apps", json=app_body(store))
    rules = {"duplicate_across_channels": "FLAG"}
    body = {"request_id": rid(), "rules": rules, "update_mask": "duplicate_across_channels"}
    policy = await tenant.ok("PATCH", "/v1/lifecycle-policy", json=body)
    assert policy["policy"]["rules"]["duplicate_across_channels"] == "DUPLICATE_ACROSS_CHANNELS_FLAG"
    return tenant


async def allowed(shop: TenantApi, customer: str, feature: str, token: str) -> bool:
    """The access decision once entitlement has applied every event behind `token` (retried while it has not)."""
    path = f"/v1/customers/{customer}/access/{feature}"

    async def decided() -> dict[str, Any]:
        answer = await shop.call("GET", path, params={"consistency_token": token})
        assert answer.status_code == 200, answer.text  # 503 CONSISTENCY_NOT_REACHED: not yet
        return dict(answer.json()["decision"])

    decision = await eventually(decided, within=30)
    return bool(decision.get("allowed"))


async def deliver(shop: TenantApi, body: bytes) -> dict[str, Any]:
    answer = await post(shop, body)
    assert answer.status_code == 200, answer.text
    [event] = answer.json()["events"]
    return dict(event)


async def test_an_app_store_purchase_of_a_line_held_on_the_web_is_flagged_and_access_is_one_set(
    shop: TenantApi, store: SigningAppStore, hooks: Receiver
) -> None:
    path = f"/duplicates-{shop.tenant_id}"
    await endpoint(shop, hooks, path, [DUPLICATE])
    customer, token = await subscriber(shop)
    web = await shop.checkout(customer, plan="standard_monthly")
    assert web.status_code == 200, web.text
    web_id = web.json()["subscription"]["id"]

    original, start = str(uuid.uuid4().int)[:16], datetime.now(UTC)
    bought = transaction(original, token, start)  # premium_monthly, the same `ott` product line
    purchased = await deliver(
        shop, store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought)
    )
    store_id = purchased["subscription_id"]

    def flagged(at: list[Delivery]) -> bool:
        return any(d.event["type"] == DUPLICATE for d in at)

    [delivery] = await arrived(hooks, path, flagged)
    assert delivery.verified
    data = delivery.event["data"]
    assert (data["subscription"]["id"], data["subscription"]["channel"]) == (store_id, "CHANNEL_APP_STORE")
    assert (data["duplicate_of"]["id"], data["duplicate_of"]["channel"]) == (web_id, "CHANNEL_WEB")

    # One entitlement set: HD from the web plan, UHD from the App Store plan; HD stays when the store one ends.
    assert await allowed(shop, customer, "uhd_streaming", purchased["consistency_token"])
    assert await allowed(shop, customer, "hd_streaming", purchased["consistency_token"])
    expired = await deliver(
        shop, store.notification("EXPIRED", "VOLUNTARY", signed_at=datetime.now(UTC), transaction=bought)
    )
    assert not await allowed(shop, customer, "uhd_streaming", expired["consistency_token"])
    assert await allowed(shop, customer, "hd_streaming", expired["consistency_token"])


async def test_a_web_checkout_of_a_line_held_in_the_app_store_is_refused(
    shop: TenantApi, store: SigningAppStore
) -> None:
    customer, token = await subscriber(shop)
    start = datetime.now(UTC)
    bought = transaction(str(uuid.uuid4().int)[:16], token, start)
    await deliver(shop, store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought))
    refused = await shop.checkout(customer, plan="basic_monthly")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["details"][0]["reason"] == "ALREADY_SUBSCRIBED"
