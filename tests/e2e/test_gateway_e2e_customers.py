"""Customers through the gateway: search, channel identities, subscription history and filtered subscription
lists, over REST and gRPC, and the role matrix (publishable key and another tenant's key included)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import customers_pb2 as cu
from azotte.gateway.v1 import customers_pb2_grpc, gateway_pb2_grpc
from azotte.gateway.v1 import gateway_pb2 as gw
from tests.e2e.conftest import RunningSuite, TenantApi

PLAY = "GOOGLE_PLAY_PURCHASE_TOKEN"


def rid() -> dict[str, str]:
    return {"request_id": uuid.uuid4().hex}


def refused(answer: Any, http: int, reason: str | None = None, field: str | None = None) -> None:
    assert answer.status_code == http, answer.text
    error = answer.json()["error"]
    if reason is not None:
        assert error["details"][0]["reason"] == reason, answer.text
    if field is not None:
        assert error["details"][1]["field_violations"][0]["field"] == field, answer.text


async def link(tenant: TenantApi, customer: str, value: str, *, key: str | None = None) -> Any:
    body = {**rid(), "identity": {"kind": PLAY, "value": value}}
    return await tenant.call("POST", f"/v1/customers/{customer}:linkChannelIdentity", json=body, key=key)


async def subscribe(tenant: TenantApi, customer: str) -> str:
    bought = await tenant.checkout(customer)
    assert bought.status_code == 200, bought.text
    return str(bought.json()["subscription"]["id"])


@pytest.fixture(scope="module")
async def own(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant()


@pytest.fixture(scope="module")
async def foreign(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant(with_catalog=False)


async def test_customers_are_found_by_email_external_id_and_channel_identity_over_rest(own: TenantApi) -> None:
    first, second = await own.customer(), await own.customer()
    token = uuid.uuid4().hex
    linked = await link(own, first, token)
    assert linked.status_code == 200, linked.text
    identity = {"kind": f"CHANNEL_IDENTITY_KIND_{PLAY}", "value": token, "issuer": ""}
    assert linked.json()["customer"]["identities"] == [identity]
    assert (await link(own, first, token)).status_code == 200  # linking again is a no-op
    refused(await link(own, second, token), 409, "IDENTITY_LINKED")
    assert (await own.ok("GET", f"/v1/customers/{first}"))["customer"]["identities"] == [identity]

    async def search(**params: str) -> list[str]:
        return [c["id"] for c in (await own.ok("GET", "/v1/customers", params=params))["customers"]]

    shown = (await own.ok("GET", f"/v1/customers/{second}"))["customer"]
    assert await search(filter=f'identity.kind = {PLAY} AND identity.value = "{token}"') == [first]
    assert await search(filter=f'email = "{shown["email"].upper()}"') == [second]
    assert await search(filter=f"external_id = {shown['external_id']}") == [second]
    since = (await own.ok("GET", f"/v1/customers/{first}"))["customer"]["create_time"]
    assert await search(filter=f'create_time >= "{since}"', order_by="create_time desc") == [second, first]

    page = await own.ok("GET", "/v1/customers", params={"filter": f'create_time >= "{since}"', "page_size": 1})
    rest = await own.ok(
        "GET",
        "/v1/customers",
        params={"filter": f'create_time >= "{since}"', "page_size": 1, "page_token": page["next_page_token"]},
    )
    assert [c["id"] for c in page["customers"] + rest["customers"]] == [first, second]
    moved = {"filter": "country_code = US", "page_token": page["next_page_token"]}
    refused(await own.call("GET", "/v1/customers", params=moved), 400, field="page_token")
    refused(await own.call("GET", "/v1/customers", params={"filter": "name = ann"}), 400, field="filter")
    refused(await own.call("GET", "/v1/customers", params={"order_by": "country_code"}), 400, field="order_by")


async def test_the_history_of_a_subscription_names_causes_and_actors_over_rest(own: TenantApi) -> None:
    customer = await own.customer()
    subscription = await subscribe(own, customer)
    operator = await own.new_key("operator")
    cancel = {**rid(), "timing": "at_period_end"}
    await own.ok("POST", f"/v1/subscriptions/{subscription}:cancel", json=cancel, key=operator)

    history = await own.ok("GET", f"/v1/subscriptions/{subscription}/history")
    entries = [(e["event_type"], e["cause"], e["to_state"]) for e in history["entries"]]
    assert entries[0] == ("subscription.created", "checkout", "SUBSCRIPTION_STATE_ACTIVE")
    assert entries[-1] == ("subscription.cancel_scheduled", "customer_request", "SUBSCRIPTION_STATE_ACTIVE")
    bought_by, cancelled_by = history["entries"][0]["actor"], history["entries"][-1]["actor"]
    assert bought_by.startswith("api_key:") and cancelled_by.startswith("api_key:") and bought_by != cancelled_by
    assert all(e["occur_time"] for e in history["entries"])

    newest = await own.ok(
        "GET", f"/v1/subscriptions/{subscription}/history", params={"order_by": "occur_time desc", "page_size": 1}
    )
    assert newest["entries"][0]["event_type"] == "subscription.cancel_scheduled" and newest["next_page_token"]
    only = await own.ok(
        "GET", f"/v1/subscriptions/{subscription}/history", params={"filter": "cause = customer_request"}
    )
    assert [e["event_type"] for e in only["entries"]] == ["subscription.cancel_scheduled"]
    refused(await own.call("GET", "/v1/subscriptions/sub_nobody/history"), 404)


async def test_subscriptions_are_listed_by_filter_and_order_over_rest(own: TenantApi) -> None:
    customer = await own.customer()
    subscription = await subscribe(own, customer)

    async def listed(path: str, **params: str) -> list[str]:
        return [s["id"] for s in (await own.ok("GET", path, params=params))["subscriptions"]]

    everyone = "/v1/subscriptions"
    mine = f"/v1/customers/{customer}/subscriptions"
    assert subscription in await listed(everyone, filter="state = ACTIVE AND plan_id = basic_monthly")
    assert subscription not in await listed(everyone, filter="state = ACTIVE AND plan_id = premium_monthly")
    assert await listed(everyone, filter=f'customer_id = "{customer}"') == [subscription]
    assert await listed(mine, filter="state != ACTIVE") == []
    assert await listed(mine, order_by="current_period_end_time desc") == [subscription]
    refused(await own.call("GET", everyone, params={"filter": "state = SLEEPING"}), 400, field="filter")
    refused(await own.call("GET", everyone, params={"order_by": "plan_id"}), 400, field="order_by")


async def test_the_same_over_grpc(suite: RunningSuite, own: TenantApi, foreign: TenantApi) -> None:
    customer = await own.customer()
    subscription = await subscribe(own, customer)
    metadata = (("authorization", f"Bearer {own.key}"),)
    token = uuid.uuid4().hex
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        customers = customers_pb2_grpc.CustomersServiceStub(channel)
        gateway = gateway_pb2_grpc.GatewayServiceStub(channel)
        identity = gw.ChannelIdentity(kind=gw.CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN, value=token)
        request = cu.LinkChannelIdentityRequest(request_id=uuid.uuid4().hex, customer_id=customer, identity=identity)
        linked = await customers.LinkChannelIdentity(request, metadata=metadata)
        assert list(linked.customer.identities) == [identity]
        found = await customers.ListCustomers(
            cu.ListCustomersRequest(filter=f'identity.value = "{token}"'), metadata=metadata
        )
        assert [c.id for c in found.customers] == [customer]
        history = await customers.ListSubscriptionHistory(
            cu.ListSubscriptionHistoryRequest(subscription_id=subscription), metadata=metadata
        )
        assert history.entries[0].cause == "checkout" and history.entries[0].actor.startswith("api_key:")
        listed = await gateway.ListSubscriptions(
            gw.ListSubscriptionsRequest(filter=f'customer_id = "{customer}" AND state = ACTIVE'), metadata=metadata
        )
        assert [s.id for s in listed.subscriptions] == [subscription]
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await customers.ListCustomers(cu.ListCustomersRequest(order_by="nope"), metadata=metadata)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        stranger = (("authorization", f"Bearer {foreign.key}"),)
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await customers.ListSubscriptionHistory(
                cu.ListSubscriptionHistoryRequest(subscription_id=subscription), metadata=stranger
            )
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        request.request_id = uuid.uuid4().hex
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await customers.LinkChannelIdentity(request, metadata=stranger)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_role_matrix(own: TenantApi, foreign: TenantApi) -> None:
    customer = await own.customer()
    subscription = await subscribe(own, customer)
    keys = {role: await own.new_key(role) for role in ("publishable", "viewer", "operator")}
    email = (await own.ok("GET", f"/v1/customers/{customer}"))["customer"]["email"]

    async def calls(key: str) -> list[int]:
        return [
            (await own.call("GET", "/v1/customers", key=key)).status_code,
            (await own.call("GET", f"/v1/subscriptions/{subscription}/history", key=key)).status_code,
            (await own.call("GET", "/v1/subscriptions", key=key)).status_code,
            (await link(own, customer, uuid.uuid4().hex, key=key)).status_code,
        ]

    assert await calls(keys["publishable"]) == [403, 403, 403, 403]
    assert await calls(keys["viewer"]) == [200, 200, 200, 403]
    assert await calls(keys["operator"]) == [200, 200, 200, 200]
    assert await calls(own.key) == [200, 200, 200, 200]
    # another tenant's admin: the customer and the subscription do not exist for it
    refused(await link(own, customer, uuid.uuid4().hex, key=foreign.key), 404)
    refused(await own.call("GET", f"/v1/subscriptions/{subscription}/history", key=foreign.key), 404)
    by_customer = {"filter": f'customer_id = "{customer}"'}
    refused(await own.call("GET", "/v1/subscriptions", params=by_customer, key=foreign.key), 404)
    searched = await own.call("GET", "/v1/customers", params={"filter": f'email = "{email}"'}, key=foreign.key)
    assert searched.status_code == 200 and searched.json()["customers"] == []
