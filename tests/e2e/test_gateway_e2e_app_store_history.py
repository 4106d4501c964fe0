"""The App Store Server API through the whole stack (its fake a stack auxiliary verifying every JWT): a DID_RENEW
for a subscription Azotte never saw, on an app holding its in-app purchase key, creates the subscription from the
transaction history and renews it, access granted; without a key it fails with lifecycle's reason; a key Apple
refuses fails it saying so; the key is sealed and never answered, on REST or gRPC."""

from __future__ import annotations

import asyncio
import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte.gateway.v1 import channel_apps_pb2_grpc
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, millis, subscription_transaction
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_app_store import PRODUCT, allowed, app_body, post, subscriber

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
INBOX = "/v1/channel-notifications"


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def new_key_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


def api_url(suite: RunningSuite) -> str:
    return suite.suite.auxiliary_urls["AZOTTE_APP_STORE_API_URL"]


async def shop_with_key(
    suite: RunningSuite, store: SigningAppStore, key: ec.EllipticCurvePrivateKey | None, key_id: str = ""
) -> tuple[TenantApi, dict[str, Any]]:
    tenant = await suite.new_tenant()
    body = app_body(store)
    if key is not None:
        body["app"]["server_api"] = {"issuer_id": ISSUER, "key_id": key_id, "private_key_pem": pem(key)}
    created = await tenant.ok("POST", "/v1/app-store-apps", json=body)
    return tenant, created["app"]


async def register_with_apple(suite: RunningSuite, key_id: str, key: ec.EllipticCurvePrivateKey) -> None:
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    async with httpx.AsyncClient() as http:
        answer = await http.put(
            f"{api_url(suite)}/fake/keys/{key_id}", json={"issuer_id": ISSUER, "public_key_pem": public.decode()}
        )
        answer.raise_for_status()


def months(original: str, token: str, start: datetime) -> list[dict[str, Any]]:
    """Three paid periods of one subscription, half a second apart from `start` (after the tenant's catalog was
    applied: it prices nothing before): bought, renewed, renewed again."""
    return [
        subscription_transaction(
            original,
            product_id=PRODUCT,
            purchased_at=start + timedelta(milliseconds=500 * n),
            expires_at=start + timedelta(days=n + 1),
            app_account_token=token,
        )
        for n in range(3)
    ]


async def publish_history(suite: RunningSuite, store: SigningAppStore, transactions: list[dict[str, Any]]) -> None:
    signed = [
        store.jws({**t, "bundleId": "com.example.app", "environment": "Production", "signedDate": t["purchaseDate"]})
        for t in transactions
    ]
    original = transactions[0]["originalTransactionId"]
    async with httpx.AsyncClient() as http:
        answer = await http.put(
            f"{api_url(suite)}/fake/histories/{original}",
            json={"bundle_id": "com.example.app", "signed_transactions": signed},
        )
        answer.raise_for_status()


def did_renew(store: SigningAppStore, renewal: dict[str, Any]) -> bytes:
    return store.notification("DID_RENEW", signed_at=signed_at(renewal), transaction=renewal)


def signed_at(renewal: dict[str, Any]) -> datetime:
    """When Apple signs the renewal's DID_RENEW: just after the renewal."""
    return datetime.fromtimestamp(renewal["purchaseDate"] / 1000, UTC) + timedelta(milliseconds=200)


async def test_a_renewal_of_a_subscription_never_seen_creates_it_from_the_history_and_renews_it(
    suite: RunningSuite, store: SigningAppStore
) -> None:
    key, key_id = ec.generate_private_key(ec.SECP256R1()), new_key_id()
    shop, app = await shop_with_key(suite, store, key, key_id)
    # NOTE: the REST answer prints every field; the private key's is always empty.
    answered = {"issuer_id": ISSUER, "key_id": key_id, "private_key_pem": "", "private_key_set": True}
    assert app["server_api"] == answered
    assert (await shop.ok("GET", "/v1/app-store-apps/ios"))["app"]["server_api"] == answered
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        apps = channel_apps_pb2_grpc.ChannelAppsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        got = await apps.GetAppStoreApp(ca.GetAppStoreAppRequest(app_id="ios"), metadata=metadata)
    assert (got.app.server_api.private_key_pem, got.app.server_api.private_key_set) == ("", True)

    await register_with_apple(suite, key_id, key)
    customer, token = await subscriber(shop)
    transactions = months(str(uuid.uuid4().int)[:16], token, datetime.now(UTC))
    await publish_history(suite, store, transactions)
    # NOTE: access is granted from the renewal's time on: post it once that time has come.
    await asyncio.sleep((signed_at(transactions[2]) - datetime.now(UTC)).total_seconds() + 0.5)
    body = did_renew(store, transactions[2])
    answer = await post(shop, body)
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    [event] = receipt["events"]
    assert (receipt["state"], event["outcome"]) == ("APPLIED", "APPLIED"), receipt

    subscription = (await shop.ok("GET", f"/v1/subscriptions/{event['subscription_id']}"))["subscription"]
    assert subscription["state"] == "SUBSCRIPTION_STATE_ACTIVE", subscription
    period_end = datetime.fromisoformat(subscription["current_period_end_time"].replace("Z", "+00:00"))
    assert millis(period_end) == transactions[2]["expiresDate"]
    assert await allowed(shop, customer, event["consistency_token"])
    history = f"/v1/subscriptions/{event['subscription_id']}/history"
    before = await shop.ok("GET", history)
    refs = [entry.get("cause_ref") for entry in before["entries"]]
    # NOTE: created from the history's first transaction, renewed by its second, then by the notification.
    assert refs[-2] == f"app_store_transaction:{transactions[1]['transactionId']}", refs
    assert receipt["notification"].endswith(f"/{refs[-1]}"), refs

    again = await post(shop, body)  # a redelivery: answered from the inbox, nothing applied again
    assert again.json() == receipt
    assert await shop.ok("GET", history) == before


async def test_without_a_key_the_renewal_fails_with_lifecycles_reason(
    suite: RunningSuite, store: SigningAppStore
) -> None:
    shop, app = await shop_with_key(suite, store, None)
    assert "server_api" not in app
    customer, token = await subscriber(shop)
    transactions = months(str(uuid.uuid4().int)[:16], token, datetime.now(UTC))
    await publish_history(suite, store, transactions)
    answer = await post(shop, did_renew(store, transactions[2]))
    assert answer.status_code == 200, answer.text  # stored: Apple stops redelivering
    assert answer.json()["state"] == "FAILED"
    stored = (await shop.ok("GET", f"{INBOX}/{answer.json()['notification']}"))["notification"]
    assert stored["last_error"].startswith("SubscriptionNotFound: "), stored
    assert not await allowed(shop, customer)


async def test_a_key_apple_refuses_fails_the_renewal_saying_so_and_a_key_of_another_kind_is_refused(
    suite: RunningSuite, store: SigningAppStore
) -> None:
    shop, _ = await shop_with_key(suite, store, ec.generate_private_key(ec.SECP256R1()), new_key_id())
    customer, token = await subscriber(shop)
    transactions = months(str(uuid.uuid4().int)[:16], token, datetime.now(UTC))
    await publish_history(suite, store, transactions)
    answer = await post(shop, did_renew(store, transactions[2]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "FAILED"
    stored = (await shop.ok("GET", f"{INBOX}/{answer.json()['notification']}"))["notification"]
    assert "refused the app's in-app purchase key (401)" in stored["last_error"], stored
    assert not await allowed(shop, customer)

    body = app_body(store, "mac")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body["app"]["server_api"] = {"issuer_id": ISSUER, "key_id": new_key_id(), "private_key_pem": pem(rsa_key)}
    refused = await shop.call("POST", "/v1/app-store-apps", json=body)
    assert refused.status_code == 400 and "app.server_api.private_key_pem" in refused.text, refused.text
    assert (await shop.call("GET", "/v1/app-store-apps/mac")).status_code == 404
