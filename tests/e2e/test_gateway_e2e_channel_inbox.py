"""The notification inbox through the whole stack: a notification that cannot be applied (a product without channel
mapping) is stored, retried on the schedule and parked with its reason; once the operator maps the product, a replay
applies it and access follows; a redelivery is applied once; any delivery order of an Apple sequence ends in the
state the ordered delivery gives (property-based), a late DID_RENEW never resurrecting an expired subscription."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azotte.gateway.v1 import channel_notifications_pb2 as cn
from azotte.gateway.v1 import channel_notifications_pb2_grpc
from azotte_gateway.domain.channel_inbox import MAX_ATTEMPTS, RETRY_DELAYS
from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore, subscription_transaction
from tests.e2e.conftest import OTT_CATALOG, RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_app_store import allowed, app_body, post, rid, subscriber

PRODUCT = "com.example.ott.premium.monthly"
NEW_PRODUCT = "com.example.ott.premium.monthly.intro"
MAPPINGS = "channel_mappings:\n"
INBOX = "/v1/channel-notifications"
# An Apple sequence (type, subtype, days paid from its start), in signing order, ending in the subscription's expiry.
SEQUENCE = (
    ("SUBSCRIBED", "INITIAL_BUY", 30),
    ("DID_RENEW", "", 60),
    ("DID_FAIL_TO_RENEW", "GRACE_PERIOD", 60),
    ("DID_RENEW", "BILLING_RECOVERY", 90),
    ("DID_CHANGE_RENEWAL_STATUS", "AUTO_RENEW_DISABLED", 90),
    ("EXPIRED", "VOLUNTARY", 90),
)


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


async def new_shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    tenant = await suite.new_tenant()
    await tenant.ok("POST", "/v1/app-store-apps", json=app_body(store))
    return tenant


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore) -> TenantApi:
    return await new_shop(suite, store)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def stored(tenant: TenantApi, name: str) -> dict[str, Any]:
    return dict((await tenant.ok("GET", f"{INBOX}/{name}"))["notification"])


async def advance(tenant: TenantApi, seconds: float) -> None:
    # NOTE: retries are due on the tenant's clock: a sandbox tenant moves it instead of waiting.
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_seconds": int(seconds)})


async def test_a_notification_failing_to_apply_is_retried_parked_and_applied_by_a_replay_after_the_fix(
    suite: RunningSuite, store: SigningAppStore
) -> None:
    shop = await new_shop(suite, store)
    customer, token = await subscriber(shop)
    start = datetime.now(UTC)
    bought = subscription_transaction(
        str(uuid.uuid4().int)[:16],
        product_id=NEW_PRODUCT,
        purchased_at=start,
        expires_at=start + timedelta(days=30),
        app_account_token=token,
    )
    body = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought)
    answer = await post(shop, body)
    assert answer.status_code == 200, answer.text  # stored: Apple stops redelivering
    receipt = answer.json()
    assert (receipt["state"], receipt["events"]) == ("FAILED", [])
    name = receipt["notification"]

    for attempt, delay in enumerate(RETRY_DELAYS, start=2):
        await advance(shop, delay.total_seconds() + 1)

        async def attempted(expected: int = attempt) -> bool:
            return (await stored(shop, name)).get("attempt_count") == expected

        await until(attempted, f"attempt {attempt}")

    parked = await stored(shop, name)
    assert (parked["state"], parked["attempt_count"]) == ("CHANNEL_NOTIFICATION_STATE_PARKED", MAX_ATTEMPTS)
    assert NEW_PRODUCT in parked["last_error"]
    assert parked["body"].encode() == body
    listed = await shop.ok("GET", INBOX, params={"filter": "state = PARKED"})
    assert [n["name"] for n in listed["notifications"]] == [name]
    assert not await allowed(shop, customer)

    document = OTT_CATALOG.read_text()
    mapping = f"  - {{channel: app_store, external_product_id: {NEW_PRODUCT}, plan: premium_monthly}}\n"
    applied = await shop.apply_catalog(document.replace(MAPPINGS, MAPPINGS + mapping, 1).encode())
    assert applied.status_code == 200, applied.text

    replayed = await shop.ok("POST", f"{INBOX}/{name}:replay", json={"request_id": rid()})
    assert replayed["notification"]["name"] == name

    async def settled() -> bool:
        return bool((await stored(shop, name))["state"] == "CHANNEL_NOTIFICATION_STATE_APPLIED")

    await until(settled, "the replay")
    [applied_event] = (await stored(shop, name))["events"]
    subscription = (await shop.ok("GET", f"/v1/subscriptions/{applied_event['subscription_id']}"))["subscription"]
    assert subscription["state"] == "SUBSCRIPTION_STATE_ACTIVE", subscription
    assert await allowed(shop, customer, applied_event["consistency_token"])

    again = await post(shop, body)  # a late redelivery: answered from the inbox
    assert again.status_code == 200, again.text
    [event] = again.json()["events"]
    assert (again.json()["state"], event["outcome"]) == ("APPLIED", "APPLIED")
    history = f"/v1/subscriptions/{event['subscription_id']}/history"
    before = await shop.ok("GET", history)
    assert (await post(shop, body)).json() == again.json()
    assert await shop.ok("GET", history) == before  # nothing applied again
    again_replay = await shop.call("POST", f"{INBOX}/{name}:replay", json={"request_id": rid()})
    assert again_replay.status_code == 409, again_replay.text


async def test_the_inbox_is_the_managers_and_another_tenant_sees_none_of_it(
    suite: RunningSuite, shop: TenantApi, store: SigningAppStore
) -> None:
    start = datetime.now(UTC)
    answer = await post(shop, store.notification("TEST", signed_at=start))
    assert answer.status_code == 200, answer.text
    name = answer.json()["notification"]
    assert answer.json()["state"] == "IGNORED"
    assert (await stored(shop, name))["state"] == "CHANNEL_NOTIFICATION_STATE_IGNORED"
    operator = await shop.new_key("operator")
    assert (await shop.call("GET", f"{INBOX}/{name}", key=operator)).status_code == 403
    assert (await shop.call("GET", INBOX, key=operator)).status_code == 403
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", f"{INBOX}/{name}")).status_code == 404
    assert (await other.call("POST", f"{INBOX}/{name}:replay", json={"request_id": rid()})).status_code == 404
    assert (await other.ok("GET", INBOX)).get("notifications", []) == []
    refused = await shop.call("GET", INBOX, params={"filter": "state = LOST"})
    assert refused.status_code == 400 and "filter" in refused.text


async def final_state(shop: TenantApi, store: SigningAppStore, order: list[int]) -> tuple[str, bool]:
    """Deliver SEQUENCE in `order` for a new subscriber; the subscription's state and the access once the inbox has
    applied everything (what arrived before the purchase is retried after it)."""
    customer, token = await subscriber(shop)
    original = str(uuid.uuid4().int)[:16]
    start = datetime.now(UTC)
    bodies = []
    for index, (notification_type, subtype, days) in enumerate(SEQUENCE):
        at = start + timedelta(milliseconds=100 * index)
        transaction = subscription_transaction(
            original,
            product_id=PRODUCT,
            purchased_at=start,
            expires_at=start + timedelta(days=days),
            app_account_token=token,
        )
        renewal = {"originalTransactionId": original, "gracePeriodExpiresDate": int((at.timestamp() + 86400) * 1000)}
        bodies.append(
            store.notification(notification_type, subtype, signed_at=at, transaction=transaction, renewal=renewal)
        )
    names, subscription = [], ""
    for index in order:
        answer = await post(shop, bodies[index])
        assert answer.status_code == 200, answer.text
        names.append(answer.json()["notification"])
        if index == 0:
            [event] = answer.json()["events"]
            subscription = event["subscription_id"]
    await advance(shop, RETRY_DELAYS[0].total_seconds() + 1)

    async def settled() -> bool:
        states = [(await stored(shop, name))["state"] for name in names]
        return all(state == "CHANNEL_NOTIFICATION_STATE_APPLIED" for state in states)

    await until(settled, "every notification applied")
    found = (await shop.ok("GET", f"/v1/subscriptions/{subscription}"))["subscription"]
    # NOTE: access is read at least at every event's consistency token, so it reflects all of them.
    tokens = [e["consistency_token"] for name in names for e in (await stored(shop, name))["events"]]
    access = [await allowed(shop, customer, token) for token in tokens if token]
    return found["state"], access[-1]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(SEQUENCE))))
async def test_any_delivery_order_ends_in_the_state_of_the_ordered_delivery(
    shop: TenantApi, store: SigningAppStore, order: list[int]
) -> None:
    ordered = await final_state(shop, store, list(range(len(SEQUENCE))))
    assert ordered == ("SUBSCRIPTION_STATE_EXPIRED", False)
    assert await final_state(shop, store, list(order)) == ordered


async def test_a_late_renewal_after_the_expiry_does_not_resurrect(shop: TenantApi, store: SigningAppStore) -> None:
    expired_first = [0, 5, 1, 2, 3, 4]
    state = await final_state(shop, store, expired_first)
    assert state == ("SUBSCRIPTION_STATE_EXPIRED", False)


async def test_the_inbox_over_grpc(suite: RunningSuite, shop: TenantApi, store: SigningAppStore) -> None:
    answer = await post(shop, store.notification("TEST", signed_at=datetime.now(UTC)))
    name = answer.json()["notification"]
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        inbox = channel_notifications_pb2_grpc.ChannelNotificationsServiceStub(channel)
        metadata = (("authorization", f"Bearer {shop.key}"),)
        got = await inbox.GetChannelNotification(cn.GetChannelNotificationRequest(name=name), metadata=metadata)
        found = got.notification
        assert (found.state, found.channel) == (cn.CHANNEL_NOTIFICATION_STATE_IGNORED, "app_store")
        listed = await inbox.ListChannelNotifications(
            cn.ListChannelNotificationsRequest(filter="state = IGNORED", page_size=100), metadata=metadata
        )
        assert name in [n.name for n in listed.notifications]
        with pytest.raises(grpc.aio.AioRpcError) as settled:
            await inbox.ReplayChannelNotification(
                cn.ReplayChannelNotificationRequest(request_id=rid(), name=name), metadata=metadata
            )
        assert settled.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        viewer = (("authorization", f"Bearer {await shop.new_key('viewer')}"),)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await inbox.ListChannelNotifications(cn.ListChannelNotificationsRequest(), metadata=viewer)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
