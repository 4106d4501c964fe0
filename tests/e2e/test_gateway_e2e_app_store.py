"""App Store Server Notifications v2 through the gateway: an app configured with a test root (REST and gRPC), signed
notifications driving a customer's access, redeliveries applied once, forgeries refused with nothing applied."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_apps_pb2_grpc
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from tests.e2e.conftest import RunningSuite, TenantApi

PRODUCT = "com.example.ott.premium.monthly"  # mapped to premium_monthly by the OTT catalog
FEATURE = "uhd_streaming"


def rid() -> str:
    return uuid.uuid4().hex


def app_body(store: SigningAppStore, app_id: str = "ios") -> dict[str, Any]:
    return {
        "request_id": rid(),
        "app": {
            "app_id": app_id,
            "bundle_id": "com.example.app",
            "environment": "PRODUCTION",
            "root_certificate_pem": store.root_pem,
            "app_apple_id": 1234,
            "storefront_id": "us",
        },
    }


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    """A tenant with the OTT catalog and the App Store app `ios` trusting the test root."""
    tenant = await suite.new_tenant()
    created = await tenant.ok("POST", "/v1/app-store-apps", json=app_body(store))
    assert created["app"]["notification_path"] == f"/v1/channels/app-store/{tenant.tenant_id}/ios/notifications"
    return tenant


async def post(tenant: TenantApi, body: bytes, app_id: str = "ios") -> Any:
    # NOTE: Apple sends no API key: the signature is the only proof.
    path = f"/v1/channels/app-store/{tenant.tenant_id}/{app_id}/notifications"
    return await tenant.http.post(path, content=body, headers={"Content-Type": "application/json"})


async def allowed(tenant: TenantApi, customer: str, token: str = "") -> bool:
    query = f"?consistency_token={token}" if token else ""
    decision = (await tenant.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}{query}"))["decision"]
    return bool(decision.get("allowed"))


async def subscriber(tenant: TenantApi) -> tuple[str, str]:
    """A customer whose app set an appAccountToken linked to them."""
    customer = await tenant.customer()
    token = str(uuid.uuid4())
    body = {"request_id": rid(), "identity": {"kind": "APP_STORE_APP_ACCOUNT_TOKEN", "value": token}}
    await tenant.ok("POST", f"/v1/customers/{customer}:linkChannelIdentity", json=body)
    return customer, token


async def test_signed_notifications_drive_the_customers_access_and_a_redelivery_is_applied_once(
    shop: TenantApi, store: SigningAppStore
) -> None:
    customer, token = await subscriber(shop)
    original = str(uuid.uuid4().int)[:16]
    start = datetime.now(UTC)

    def transaction(at: datetime, days: int) -> dict[str, Any]:
        return subscription_transaction(
            original, product_id=PRODUCT, purchased_at=at, expires_at=at + timedelta(days=days), app_account_token=token
        )

    subscribed = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=transaction(start, 30))
    answer = await post(shop, subscribed)
    assert answer.status_code == 200, answer.text
    [event] = answer.json()["events"]
    assert event["outcome"] == "APPLIED"
    assert await allowed(shop, customer, event["consistency_token"])

    history = f"/v1/subscriptions/{event['subscription_id']}/history"
    before = await shop.ok("GET", history)
    again = await post(shop, subscribed)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == [event]  # the first answer, nothing applied again
    assert await shop.ok("GET", history) == before

    failed_at = datetime.now(UTC)
    failed = store.notification("DID_FAIL_TO_RENEW", signed_at=failed_at, transaction=transaction(start, 30))
    answer = await post(shop, failed)
    assert answer.status_code == 200, answer.text
    assert not await allowed(shop, customer, answer.json()["events"][0]["consistency_token"])

    renewed_at = datetime.now(UTC)
    renewed = store.notification("DID_RENEW", signed_at=renewed_at, transaction=transaction(renewed_at, 60))
    answer = await post(shop, renewed)
    assert answer.status_code == 200, answer.text
    assert await allowed(shop, customer, answer.json()["events"][0]["consistency_token"])


async def test_a_grace_period_keeps_access_and_a_refund_ends_it(shop: TenantApi, store: SigningAppStore) -> None:
    customer, token = await subscriber(shop)
    original = str(uuid.uuid4().int)[:16]
    start = datetime.now(UTC)
    bought = subscription_transaction(
        original, product_id=PRODUCT, purchased_at=start, expires_at=start + timedelta(days=30), app_account_token=token
    )
    steps = [
        ("SUBSCRIBED", "INITIAL_BUY", True),
        ("DID_FAIL_TO_RENEW", "GRACE_PERIOD", True),
        ("TEST", "", True),
        ("REFUND", "", False),
    ]
    for notification_type, subtype, access in steps:
        at = datetime.now(UTC)
        renewal = {"originalTransactionId": original, "gracePeriodExpiresDate": int((at.timestamp() + 86400) * 1000)}
        body = store.notification(notification_type, subtype, signed_at=at, transaction=bought, renewal=renewal)
        answer = await post(shop, body)
        assert answer.status_code == 200, answer.text
        tokens = [e["consistency_token"] for e in answer.json()["events"]]
        assert await allowed(shop, customer, tokens[0] if tokens else "") is access, notification_type


async def test_forged_notifications_are_refused_with_nothing_applied(shop: TenantApi, store: SigningAppStore) -> None:
    customer, token = await subscriber(shop)
    start = datetime.now(UTC)
    bought = subscription_transaction(
        "9" + str(uuid.uuid4().int)[:15],
        product_id=PRODUCT,
        purchased_at=start,
        expires_at=start + timedelta(days=30),
        app_account_token=token,
    )
    forged = [
        SigningAppStore().notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought),
        store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought, environment="Sandbox"),
        store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought, x5c=store.chain()[:2]),
        json.dumps({"signedPayload": "e30.e30.e30"}).encode(),
    ]
    for body in forged:
        answer = await post(shop, body)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["details"][0]["reason"] == "CHANNEL_NOTIFICATION_REJECTED"
    assert (await post(shop, b"{}")).status_code in (400, 401)
    assert (await post(shop, store.notification("TEST", signed_at=start), app_id="android")).status_code == 404
    await asyncio.sleep(0)
    assert not await allowed(shop, customer)
    subscriptions = await shop.ok("GET", f"/v1/customers/{customer}/subscriptions")
    assert subscriptions.get("subscriptions", []) == []


async def test_only_managers_and_admins_configure_apps_and_another_tenant_sees_none(
    suite: RunningSuite, shop: TenantApi, store: SigningAppStore
) -> None:
    manager = await shop.new_key("manager")
    created = await shop.call("POST", "/v1/app-store-apps", key=manager, json=app_body(store, "ios-2"))
    assert created.status_code == 200, created.text
    assert (await shop.call("POST", "/v1/app-store-apps", json=app_body(store))).status_code == 409
    for role in ("operator", "viewer", "publishable"):
        key = await shop.new_key(role)
        assert (await shop.call("POST", "/v1/app-store-apps", key=key, json=app_body(store, "x"))).status_code == 403
        assert (await shop.call("GET", "/v1/app-store-apps/ios", key=key)).status_code == 403
        assert (await shop.call("GET", "/v1/app-store-apps", key=key)).status_code == 403
    listed = await shop.ok("GET", "/v1/app-store-apps", params={"page_size": 1})
    assert [a["app_id"] for a in listed["apps"]] == ["ios"] and listed["next_page_token"]
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", "/v1/app-store-apps/ios")).status_code == 404
    assert (await other.ok("GET", "/v1/app-store-apps")).get("apps", []) == []
    bad = app_body(store, "ios-3")
    bad["app"]["root_certificate_pem"] = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    refused = await shop.call("POST", "/v1/app-store-apps", json=bad)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "app.root_certificate_pem"


async def test_the_same_configuration_over_grpc(suite: RunningSuite, shop: TenantApi, store: SigningAppStore) -> None:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        apps = channel_apps_pb2_grpc.ChannelAppsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        app = ca.AppStoreApp(
            app_id="ios-grpc",
            bundle_id="com.example.app",
            environment=ca.APP_STORE_ENVIRONMENT_SANDBOX,
            root_certificate_pem=store.root_pem,
        )
        created = await apps.CreateAppStoreApp(
            ca.CreateAppStoreAppRequest(request_id=rid(), app=app), metadata=metadata
        )
        got = await apps.GetAppStoreApp(ca.GetAppStoreAppRequest(app_id="ios-grpc"), metadata=metadata)
        assert got.app == created.app
        assert got.app.environment == ca.APP_STORE_ENVIRONMENT_SANDBOX
        listed = await apps.ListAppStoreApps(ca.ListAppStoreAppsRequest(), metadata=metadata)
        assert "ios-grpc" in [a.app_id for a in listed.apps]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await apps.GetAppStoreApp(ca.GetAppStoreAppRequest(app_id="nope"), metadata=metadata)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        viewer = (("authorization", f"Bearer {await shop.new_key('viewer')}"),)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await apps.GetAppStoreApp(ca.GetAppStoreAppRequest(app_id="ios-grpc"), metadata=viewer)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A sandbox app takes Sandbox notifications, and refuses Production ones.
    sandbox = store.notification("TEST", signed_at=datetime.now(UTC), environment="Sandbox")
    assert (await post(shop, sandbox, app_id="ios-grpc")).status_code == 200
    production = store.notification("TEST", signed_at=datetime.now(UTC))
    assert (await post(shop, production, app_id="ios-grpc")).status_code == 401
