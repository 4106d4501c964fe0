"""Google Play RTDN through the gateway: pushes carrying OIDC tokens signed by the test's own key (served as a
JWKS by the Play API emulator), each purchase's state read from the emulator as the app's service account,
driving a customer's access; redeliveries applied once, forged pushes refused with nothing applied."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_apps_pb2_grpc
from azotte_gateway.sandbox_channels.google_play_signing import (
    API_ACCOUNT,
    PUSH_ACCOUNT,
    SigningGoogle,
    purchase_state,
    push,
    subscription_notification,
)
from tests.e2e.conftest import RunningSuite, TenantApi

PACKAGE = "com.example.ott"
FEATURE = "uhd_streaming"  # granted by premium_monthly, mapped from "premium:monthly" by the OTT catalog
ACTIVE, CANCELED, GRACE = (
    "SUBSCRIPTION_STATE_ACTIVE",
    "SUBSCRIPTION_STATE_CANCELED",
    "SUBSCRIPTION_STATE_IN_GRACE_PERIOD",
)
ON_HOLD, EXPIRED = "SUBSCRIPTION_STATE_ON_HOLD", "SUBSCRIPTION_STATE_EXPIRED"


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def google() -> SigningGoogle:
    return SigningGoogle()


@pytest.fixture(scope="module")
async def emulator(suite: RunningSuite, google: SigningGoogle) -> Any:
    """The Play API emulator of the stack, knowing the test's push-token key and service account."""
    async with httpx.AsyncClient(base_url=suite.suite.auxiliary_urls["AZOTTE_GOOGLE_APIS_URL"]) as http:
        (await http.post("/emulator/jwks", json=google.jwks())).raise_for_status()
        account = {"public_key_pem": google.api_public_key_pem(), "packages": [PACKAGE]}
        (await http.put(f"/emulator/service-accounts/{API_ACCOUNT}", json=account)).raise_for_status()
        yield http


def app_body(google: SigningGoogle, tenant_id: str, app_id: str = "android") -> dict[str, Any]:
    return {
        "request_id": rid(),
        "app": {
            "app_id": app_id,
            "package_name": PACKAGE,
            "push_audience": f"https://push.example.com/{tenant_id}",
            "push_service_account_email": PUSH_ACCOUNT,
            "service_account_key_json": google.service_account_json(),
            "storefront_id": "us",
        },
    }


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, google: SigningGoogle, emulator: Any) -> TenantApi:
    """A tenant with the OTT catalog and the Google Play app `android`."""
    tenant = await suite.new_tenant()
    created = await tenant.ok("POST", "/v1/google-play-apps", json=app_body(google, tenant.tenant_id))
    assert created["app"]["notification_path"] == f"/v1/channels/google-play/{tenant.tenant_id}/android/notifications"
    assert created["app"]["service_account_email"] == API_ACCOUNT
    assert created["app"]["service_account_key_json"] == ""  # a secret: never answered
    return tenant


@pytest.fixture
async def subscriber(shop: TenantApi) -> tuple[str, str]:
    """A customer whose app passed an obfuscatedExternalAccountId linked to them, and a new purchase token."""
    customer = await shop.customer()
    account = uuid.uuid4().hex
    body = {"request_id": rid(), "identity": {"kind": "GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID", "value": account}}
    await shop.ok("POST", f"/v1/customers/{customer}:linkChannelIdentity", json=body)
    return customer, account


async def deliver(
    shop: TenantApi,
    google: SigningGoogle,
    emulator: httpx.AsyncClient,
    notification_type: int,
    token: str,
    state: dict[str, Any] | None,
    *,
    at: datetime | None = None,
    message_id: str | None = None,
    bearer: str | None = None,
    app_id: str = "android",
) -> httpx.Response:
    """Set the purchase's state at Google (when given), then push the notification as Pub/Sub does."""
    if state is not None:
        answer = await emulator.put(f"/emulator/applications/{PACKAGE}/subscriptions/{token}", json=state)
        answer.raise_for_status()
    notification = subscription_notification(PACKAGE, notification_type, token, at or datetime.now(UTC))
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {bearer or google.push_token(f'https://push.example.com/{shop.tenant_id}')}",
    }
    path = f"/v1/channels/google-play/{shop.tenant_id}/{app_id}/notifications"
    return await shop.http.post(path, content=push(notification, message_id), headers=headers)


async def allowed(shop: TenantApi, customer: str, answer: httpx.Response | None = None) -> bool:
    assert answer is None or answer.status_code == 200, answer.text
    tokens = [e["consistency_token"] for e in answer.json()["events"]] if answer is not None else []
    query = f"?consistency_token={tokens[-1]}" if tokens and tokens[-1] else ""
    decision = (await shop.ok("GET", f"/v1/customers/{customer}/access/{FEATURE}{query}"))["decision"]
    return bool(decision.get("allowed"))


def state(kind: str, account: str, days: int = 30, **extra: Any) -> dict[str, Any]:
    return purchase_state(kind, expires_at=datetime.now(UTC) + timedelta(days=days), account=account, **extra)


async def test_a_subscription_lives_its_life_from_pushes_and_a_redelivery_is_applied_once(
    shop: TenantApi, google: SigningGoogle, emulator: httpx.AsyncClient, subscriber: tuple[str, str]
) -> None:
    customer, account = subscriber
    token, bought_at = f"tok-{rid()}", datetime.now(UTC)
    bought = await deliver(shop, google, emulator, 4, token, state(ACTIVE, account), at=bought_at, message_id=token)
    assert bought.status_code == 200, bought.text
    [event] = bought.json()["events"]
    assert event["outcome"] == "APPLIED"
    assert await allowed(shop, customer, bought)
    # The purchase was acknowledged at Google once applied.
    read = await emulator.get(f"/emulator/applications/{PACKAGE}/subscriptions/{token}")
    assert read.json()["acknowledgementState"] == "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"

    history = f"/v1/subscriptions/{event['subscription_id']}/history"
    before = await shop.ok("GET", history)
    again = await deliver(shop, google, emulator, 4, token, None, at=bought_at, message_id=token)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == [event]  # the first answer, nothing applied again
    assert await shop.ok("GET", history) == before
    # Another message reporting the same purchase state changes nothing either.
    same = await deliver(shop, google, emulator, 2, token, None)
    assert same.status_code == 200, same.text
    assert await shop.ok("GET", history) == before

    steps = [
        (6, state(GRACE, account, days=3), True),  # grace keeps access
        (5, state(ON_HOLD, account, days=-1), False),  # account hold suspends it
        (1, state(ACTIVE, account, days=30), True),  # recovered
        (2, state(ACTIVE, account, days=60), True),  # renewed
        (3, state(CANCELED, account, days=60), True),  # auto-renew off: access to the period's end
        (13, state(EXPIRED, account, days=-1), False),  # expired
    ]
    for notification_type, purchase, access in steps:
        answer = await deliver(shop, google, emulator, notification_type, token, purchase)
        assert await allowed(shop, customer, answer) is access, notification_type
    subscription = await shop.ok("GET", f"/v1/subscriptions/{event['subscription_id']}")
    assert subscription["subscription"]["state"] == "SUBSCRIPTION_STATE_EXPIRED"


async def test_a_late_notification_never_resurrects_an_expired_subscription(
    shop: TenantApi, google: SigningGoogle, emulator: httpx.AsyncClient, subscriber: tuple[str, str]
) -> None:
    customer, account = subscriber
    token = f"tok-{rid()}"
    start = datetime.now(UTC)
    await deliver(shop, google, emulator, 4, token, state(ACTIVE, account), at=start)
    expired = await deliver(shop, google, emulator, 13, token, state(EXPIRED, account, days=-1))
    assert not await allowed(shop, customer, expired)
    # A RENEWED of before the expiry arrives now: Google's state is read again, and it is expired.
    late = await deliver(shop, google, emulator, 2, token, None, at=start + timedelta(seconds=1))
    assert late.status_code == 200, late.text
    assert not await allowed(shop, customer, late)


async def test_an_upgrade_supersedes_the_linked_purchase(
    shop: TenantApi, google: SigningGoogle, emulator: httpx.AsyncClient, subscriber: tuple[str, str]
) -> None:
    customer, account = subscriber
    old, new = f"tok-{rid()}", f"tok-{rid()}"
    first = await deliver(shop, google, emulator, 4, old, state(ACTIVE, account))
    old_subscription = first.json()["events"][0]["subscription_id"]
    upgraded = state(ACTIVE, "", product_id="premium", base_plan="annual", days=365, linked_token=old)
    answer = await deliver(shop, google, emulator, 4, new, upgraded)
    assert [e["outcome"] for e in answer.json()["events"]] == ["APPLIED", "APPLIED"]
    assert await allowed(shop, customer, answer)
    listed = await shop.ok("GET", f"/v1/customers/{customer}/subscriptions")
    states = {s["id"]: (s["plan_id"], s["state"]) for s in listed["subscriptions"]}
    assert states.pop(old_subscription) == ("premium_monthly", "SUBSCRIPTION_STATE_EXPIRED")
    assert list(states.values()) == [("premium_annual", "SUBSCRIPTION_STATE_ACTIVE")]


async def test_forged_pushes_are_refused_with_nothing_applied(
    shop: TenantApi, google: SigningGoogle, emulator: httpx.AsyncClient, subscriber: tuple[str, str]
) -> None:
    customer, account = subscriber
    token = f"tok-{rid()}"
    audience = f"https://push.example.com/{shop.tenant_id}"
    forged = [
        SigningGoogle(kid=google.kid).push_token(audience),  # the right kid, another key
        google.push_token("https://push.example.com/another-tenant"),
        google.push_token(audience, email="attacker@example.com"),
        google.push_token(audience, expires_in=-300),
        "e30.e30.e30",
    ]
    for bearer in forged:
        answer = await deliver(shop, google, emulator, 4, token, state(ACTIVE, account), bearer=bearer)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["details"][0]["reason"] == "CHANNEL_NOTIFICATION_REJECTED"
    assert (await deliver(shop, google, emulator, 4, token, None, app_id="ios")).status_code == 404
    assert not await allowed(shop, customer)
    assert (await shop.ok("GET", f"/v1/customers/{customer}/subscriptions")).get("subscriptions", []) == []
    # A test notification is answered 200 with nothing to apply.
    test = {"version": "1.0", "packageName": PACKAGE, "eventTimeMillis": "1", "testNotification": {"version": "1.0"}}
    headers = {"Authorization": f"Bearer {google.push_token(audience)}"}
    path = f"/v1/channels/google-play/{shop.tenant_id}/android/notifications"
    answer = await shop.http.post(path, content=push(test), headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["events"]) == ("IGNORED", []), answer.text


async def test_only_managers_and_admins_configure_apps_and_another_tenant_sees_none(
    suite: RunningSuite, shop: TenantApi, google: SigningGoogle
) -> None:
    manager = await shop.new_key("manager")
    created = await shop.call("POST", "/v1/google-play-apps", key=manager, json=app_body(google, "x", "tv"))
    assert created.status_code == 200, created.text
    assert (await shop.call("POST", "/v1/google-play-apps", json=app_body(google, "x"))).status_code == 409
    for role in ("operator", "viewer", "publishable"):
        key = await shop.new_key(role)
        refused = await shop.call("POST", "/v1/google-play-apps", key=key, json=app_body(google, "x", "y"))
        assert refused.status_code == 403
        assert (await shop.call("GET", "/v1/google-play-apps/android", key=key)).status_code == 403
        assert (await shop.call("GET", "/v1/google-play-apps", key=key)).status_code == 403
    listed = await shop.ok("GET", "/v1/google-play-apps", params={"page_size": 1})
    assert [a["app_id"] for a in listed["apps"]] == ["android"] and listed["next_page_token"]
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", "/v1/google-play-apps/android")).status_code == 404
    bad = app_body(google, "x", "broken")
    bad["app"]["service_account_key_json"] = '{"client_email": "a@b.c"}'
    refused = await shop.call("POST", "/v1/google-play-apps", json=bad)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "app.service_account_key_json"


async def test_the_same_configuration_over_grpc(suite: RunningSuite, shop: TenantApi, google: SigningGoogle) -> None:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        apps = channel_apps_pb2_grpc.ChannelAppsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        app = ca.GooglePlayApp(
            app_id="android-grpc",
            package_name=PACKAGE,
            push_audience="https://push.example.com/grpc",
            push_service_account_email=PUSH_ACCOUNT,
            service_account_key_json=google.service_account_json(),
        )
        created = await apps.CreateGooglePlayApp(
            ca.CreateGooglePlayAppRequest(request_id=rid(), app=app), metadata=metadata
        )
        got = await apps.GetGooglePlayApp(ca.GetGooglePlayAppRequest(app_id="android-grpc"), metadata=metadata)
        assert got.app == created.app and not got.app.service_account_key_json
        listed = await apps.ListGooglePlayApps(ca.ListGooglePlayAppsRequest(), metadata=metadata)
        assert "android-grpc" in [a.app_id for a in listed.apps]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await apps.GetGooglePlayApp(ca.GetGooglePlayAppRequest(app_id="nope"), metadata=metadata)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        viewer = (("authorization", f"Bearer {await shop.new_key('viewer')}"),)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await apps.GetGooglePlayApp(ca.GetGooglePlayAppRequest(app_id="android-grpc"), metadata=viewer)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
