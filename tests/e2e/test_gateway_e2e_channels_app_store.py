"""App Store notifications lifecycle used to drop, through the gateway with a test root: the price the store
collected booked net of the storefront's commission (revenue report per channel), a downgrade taking effect at
the next renewal, a reversed refund giving access back, and a consumption request in the subscription's history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_app_store import allowed, app_body, post, subscriber

PREMIUM = "com.example.ott.premium.monthly"
STANDARD = "com.example.ott.standard.monthly"
US_FALLBACK = "      fallback: [stripe_like, adyen_like]\n"


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    """The OTT catalog with Apple keeping 15 % in storefront `us`, and the App Store app `ios`."""
    tenant = await suite.new_tenant(with_catalog=False)
    document = OTT_CATALOG.read_text()
    assert US_FALLBACK in document
    applied = await tenant.apply_catalog(
        document.replace(US_FALLBACK, f'{US_FALLBACK}      store_commission: {{app_store: "0.15"}}\n', 1).encode()
    )
    assert applied.status_code == 200, applied.text
    await tenant.ok("POST", "/v1/app-store-apps", json=app_body(store))
    return tenant


async def deliver(shop: TenantApi, body: bytes) -> dict[str, Any]:
    answer = await post(shop, body)
    assert answer.status_code == 200, answer.text
    [event] = answer.json()["events"]
    return dict(event)


def transaction(original: str, token: str, at: datetime, product: str = PREMIUM, **extra: Any) -> dict[str, Any]:
    return subscription_transaction(
        original,
        product_id=product,
        purchased_at=at,
        expires_at=at + timedelta(days=30),
        app_account_token=token,
        **extra,
    )


async def test_the_store_price_is_booked_net_of_commission_and_a_downgrade_waits_for_renewal(
    shop: TenantApi, store: SigningAppStore
) -> None:
    customer, token = await subscriber(shop)
    original, start = str(uuid.uuid4().int)[:16], datetime.now(UTC)
    bought = transaction(original, token, start, price=19990, currency="USD")
    subscribed = await deliver(
        shop, store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought)
    )
    subscription = subscribed["subscription_id"]

    month = f"{start:%Y-%m}"
    report = await shop.ok(
        "GET", "/v1/revenue-report", params={"period_from": month, "period_to": month, "group_by": "channel"}
    )
    [row] = [r for r in report["rows"] if r["channel"] == "CHANNEL_APP_STORE"]
    assert (row["gross_sales"]["amount_minor"], row["store_commission"]["amount_minor"]) == ("1999", "300")
    assert row["proceeds"]["amount_minor"] == "1699"

    downgrade = store.notification(
        "DID_CHANGE_RENEWAL_PREF",
        "DOWNGRADE",
        signed_at=datetime.now(UTC),
        transaction=bought,
        renewal={"autoRenewProductId": STANDARD, "autoRenewStatus": 1},
    )
    await deliver(shop, downgrade)
    assert (await shop.ok("GET", f"/v1/subscriptions/{subscription}"))["subscription"]["plan_id"] == "premium_monthly"

    renewed_at = datetime.now(UTC) + timedelta(seconds=1)
    renewal = transaction(original, token, renewed_at, STANDARD, price=11990, currency="USD")
    renewed = await deliver(shop, store.notification("DID_RENEW", signed_at=renewed_at, transaction=renewal))
    sub = (await shop.ok("GET", f"/v1/subscriptions/{subscription}"))["subscription"]
    assert (sub["plan_id"], sub["state"]) == ("standard_monthly", "SUBSCRIPTION_STATE_ACTIVE")
    assert not await allowed(shop, customer, renewed["consistency_token"])  # standard streams no UHD


async def test_a_reversed_refund_gives_access_back_and_a_consumption_request_is_recorded(
    shop: TenantApi, store: SigningAppStore
) -> None:
    customer, token = await subscriber(shop)
    original, start = str(uuid.uuid4().int)[:16], datetime.now(UTC)
    bought = transaction(original, token, start)
    subscribed = await deliver(
        shop, store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought)
    )
    assert await allowed(shop, customer, subscribed["consistency_token"])

    asked = await deliver(
        shop, store.notification("CONSUMPTION_REQUEST", signed_at=datetime.now(UTC), transaction=bought)
    )
    refunded = await deliver(shop, store.notification("REFUND", signed_at=datetime.now(UTC), transaction=bought))
    assert not await allowed(shop, customer, refunded["consistency_token"])
    reversed_ = await deliver(
        shop, store.notification("REFUND_REVERSED", signed_at=datetime.now(UTC), transaction=bought)
    )
    assert reversed_["outcome"] == "APPLIED"
    assert await allowed(shop, customer, reversed_["consistency_token"])

    history = await shop.ok("GET", f"/v1/subscriptions/{subscribed['subscription_id']}/history")
    types = {entry["event_type"] for entry in history["entries"]}
    assert {"subscription.consumption_requested", "subscription.reinstated"} <= types
    assert asked["outcome"] == "APPLIED"
