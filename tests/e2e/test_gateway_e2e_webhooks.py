"""Signed webhooks against the real suite: a local receiver verifies every delivery with its own Standard Webhooks
check, fails and recovers, answers 410, follows a secret rotation; replays, SSRF refusals, roles and isolation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import webhooks_pb2 as wh
from azotte.gateway.v1 import webhooks_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

TOLERANCE_SECONDS = 300


def receiver_verifies(secrets: list[str], headers: dict[str, str], body: bytes) -> bool:
    """The receiving side's own check: a fresh timestamp, and a `v1` signature from one of `secrets` over
    `{webhook-id}.{webhook-timestamp}.{body}` (HMAC-SHA256, the key is the base64 after `whsec_`)."""
    msg_id, stamp, signatures = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    content = f"{msg_id}.{stamp}.".encode() + body
    offered = [part[3:] for part in signatures.split(" ") if part.startswith("v1,")]
    for secret in secrets:
        key = base64.b64decode(secret[len("whsec_") :])
        expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return True
    return False


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A tenant's HTTP endpoint: answers each path by its script, verifies every request, applies each id once."""

    port: int = 0
    secrets: dict[str, list[str]] = field(default_factory=dict)
    # path -> statuses to answer first (then 200)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    # the receiver's own idempotency: what it did, once per webhook-id
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def answer(self, delivery: Delivery) -> int:
        self.deliveries.append(delivery)
        if not delivery.verified:
            return 401
        script = self.scripts.get(delivery.path, [])
        status = script.pop(0) if script else 200
        if 200 <= status < 300:
            self.applied.setdefault(delivery.headers["webhook-id"], delivery.event)
        return status

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode().split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = request_line.split(" ")[1]
                verified = receiver_verifies(self.secrets.get(path, []), headers, body)
                status = self.answer(Delivery(path, headers, body, verified))
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # NOTE: the sender closed the connection, or the server is stopping
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[Receiver]:
    """A Receiver on a free local port, served until the block ends."""
    receiving = Receiver()
    server = await asyncio.start_server(receiving.serve, "127.0.0.1", 0)
    receiving.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiving


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with listening() as receiving:
        yield receiving


async def endpoint(tenant: TenantApi, receiver: Receiver, path: str, event_types: list[str] | None = None) -> str:
    created = await tenant.ok(
        "POST",
        "/v1/webhook-endpoints",
        json={"request_id": uuid.uuid4().hex, "url": receiver.url(path), "event_types": event_types or []},
    )
    receiver.secrets[path] = [created["secret"]]
    return str(created["endpoint"]["id"])


def rid() -> dict[str, str]:
    return {"request_id": uuid.uuid4().hex}


async def arrived(receiver: Receiver, path: str, wanted: Callable[[list[Delivery]], bool]) -> list[Delivery]:
    async def probe() -> list[Delivery]:
        at = receiver.at(path)
        return at if wanted(at) else []

    return await eventually(probe, within=30)


def times(count: int) -> Callable[[list[Delivery]], bool]:
    return lambda at: len(at) == count


# NOTE: an endpoint for the test events only (they go out whatever the filter): nothing else reaches it.
TEST_EVENTS_ONLY = ["payment.refunded"]


async def test_a_checkout_sends_signed_subscription_and_payment_events(suite: RunningSuite, receiver: Receiver) -> None:
    tenant = await suite.new_tenant()
    path = f"/checkout-{tenant.tenant_id}"
    await endpoint(tenant, receiver, path, ["subscription.*", "payment.*"])
    customer = await tenant.customer()
    assert (await tenant.checkout(customer)).status_code == 200

    def both(at: list[Delivery]) -> bool:
        types = {d.event["type"] for d in at}
        return "payment.succeeded" in types and any(t.startswith("subscription.") for t in types)

    delivered = await arrived(receiver, path, both)
    assert all(d.verified for d in delivered)
    assert {d.event["type"].split(".")[0] for d in delivered} <= {"subscription", "payment"}
    for d in delivered:
        assert d.event["tenantid"] == tenant.tenant_id and d.event["specversion"] == "1.0"
        assert d.event["source"] in ("azotte/lifecycle", "azotte/payments") and "data" in d.event

    async def logged_as_delivered() -> bool:
        # NOTE: an attempt is recorded once the receiver has answered, so the log may lag the delivery a moment
        log = await tenant.ok("GET", "/v1/webhook-messages", params={"filter": "state = DELIVERED"})
        return {m["id"] for m in log["messages"]} >= {d.headers["webhook-id"] for d in delivered}

    await eventually(logged_as_delivered)


async def test_a_failing_receiver_that_recovers_gets_each_event_once_in_effect(
    suite: RunningSuite, receiver: Receiver
) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    path = f"/flaky-{tenant.tenant_id}"
    receiver.scripts[path] = [500, 500]
    endpoint_id = await endpoint(tenant, receiver, path, TEST_EVENTS_ONLY)
    sent = await tenant.ok("POST", f"/v1/webhook-endpoints/{endpoint_id}:send-test-event", json=rid())
    message_id = sent["message"]["id"]
    await arrived(receiver, path, times(1))
    # the retries are 5 s and 5 min away on the tenant's clock: move it instead of waiting
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={**rid(), "advance_by_seconds": 6})
    await arrived(receiver, path, times(2))
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={**rid(), "advance_by_seconds": 330})
    await arrived(receiver, path, times(3))
    # a replay is one more delivery of the same message: the receiver's dedup makes it no second effect
    await tenant.ok("POST", f"/v1/webhook-messages/{message_id}:replay", json=rid())
    at = await arrived(receiver, path, times(4))

    assert {d.headers["webhook-id"] for d in at} == {message_id}
    assert len({d.body for d in at}) == 1 and all(d.verified for d in at)
    assert list(receiver.applied).count(message_id) == 1

    attempts = (await tenant.ok("GET", f"/v1/webhook-messages/{message_id}/attempts"))["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 200, 200]
    assert "next_attempt_time" in attempts[0] and "next_attempt_time" not in attempts[2]


async def test_410_gone_disables_the_endpoint_and_says_why(suite: RunningSuite, receiver: Receiver) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    path = f"/gone-{tenant.tenant_id}"
    receiver.scripts[path] = [410]
    endpoint_id = await endpoint(tenant, receiver, path, TEST_EVENTS_ONLY)
    await tenant.ok("POST", f"/v1/webhook-endpoints/{endpoint_id}:send-test-event", json=rid())

    async def disabled() -> dict[str, Any]:
        got: dict[str, Any] = (await tenant.ok("GET", f"/v1/webhook-endpoints/{endpoint_id}"))["endpoint"]
        return {} if got["enabled"] else got

    got = await eventually(disabled, within=30)
    assert got["disabled_reason"] == "WEBHOOK_DISABLED_REASON_GONE" and got["disable_time"]
    refused = await tenant.call("POST", f"/v1/webhook-endpoints/{endpoint_id}:send-test-event", json=rid())
    assert refused.status_code == 409 and "WEBHOOK_ENDPOINT_DISABLED" in refused.text


async def test_a_secret_rotation_is_seamless(suite: RunningSuite, receiver: Receiver) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    path = f"/rotating-{tenant.tenant_id}"
    endpoint_id = await endpoint(tenant, receiver, path, TEST_EVENTS_ONLY)
    old = receiver.secrets[path][0]
    rotated = await tenant.ok("POST", f"/v1/webhook-endpoints/{endpoint_id}:rotate-secret", json=rid())
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["endpoint"]["previous_secret_expire_time"]
    # a receiver still on the old secret keeps verifying while it moves to the new one
    await tenant.ok("POST", f"/v1/webhook-endpoints/{endpoint_id}:send-test-event", json=rid())
    (delivery,) = await arrived(receiver, path, times(1))
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert receiver_verifies([old], delivery.headers, delivery.body)
    assert receiver_verifies([new], delivery.headers, delivery.body)
    assert not receiver_verifies(["whsec_" + base64.b64encode(b"x" * 32).decode()], delivery.headers, delivery.body)
    listed = await tenant.ok("GET", "/v1/webhook-endpoints")
    assert old not in json.dumps(listed) and new not in json.dumps(listed)


async def test_a_live_tenant_cannot_target_private_loopback_or_plain_http(suite: RunningSuite) -> None:
    live = await suite.new_tenant(live=True, with_catalog=False)
    for url in ("https://10.0.0.7/hook", "https://169.254.169.254/latest", "https://[::1]/hook", "http://8.8.8.8/x"):
        refused = await live.call("POST", "/v1/webhook-endpoints", json={**rid(), "url": url})
        assert refused.status_code == 400, url
        assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "endpoint.url"
    unknown = await live.call(
        "POST", "/v1/webhook-endpoints", json={**rid(), "url": "https://8.8.8.8/x", "event_types": ["nope.x"]}
    )
    assert unknown.status_code == 400 and "endpoint.event_types[0]" in unknown.text


@pytest.mark.parametrize(
    ("role", "manage", "read"),
    [
        ("viewer", 403, 200),
        ("operator", 403, 200),
        ("manager", 403, 200),
        ("admin", 200, 200),
        ("publishable", 403, 403),
    ],
)
async def test_roles(tenant: TenantApi, receiver: Receiver, role: str, manage: int, read: int) -> None:
    key = await tenant.new_key(role)
    body = {**rid(), "url": receiver.url("/roles")}
    assert (await tenant.call("POST", "/v1/webhook-endpoints", json=body, key=key)).status_code == manage
    assert (await tenant.call("GET", "/v1/webhook-messages", key=key)).status_code == read
    assert (await tenant.call("GET", "/v1/webhook-endpoints", key=key)).status_code == read


async def test_another_tenants_endpoints_and_messages_are_not_found(suite: RunningSuite, receiver: Receiver) -> None:
    owner, stranger = await suite.new_tenant(with_catalog=False), await suite.new_tenant(with_catalog=False)
    path = f"/owned-{owner.tenant_id}"
    endpoint_id = await endpoint(owner, receiver, path)
    sent = await owner.ok("POST", f"/v1/webhook-endpoints/{endpoint_id}:send-test-event", json=rid())
    message_id = sent["message"]["id"]
    for method, url in (
        ("GET", f"/v1/webhook-endpoints/{endpoint_id}"),
        ("POST", f"/v1/webhook-endpoints/{endpoint_id}:rotate-secret"),
        ("GET", f"/v1/webhook-messages/{message_id}/attempts"),
        ("POST", f"/v1/webhook-messages/{message_id}:replay"),
    ):
        answer = await stranger.call(method, url, json=rid() if method == "POST" else None)
        assert answer.status_code == 404, url
    assert (await stranger.ok("GET", "/v1/webhook-messages"))["messages"] == []
    assert (await stranger.ok("GET", "/v1/webhook-endpoints"))["endpoints"] == []


async def test_the_same_over_grpc(suite: RunningSuite, receiver: Receiver) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    path = f"/grpc-{tenant.tenant_id}"
    admin = (("authorization", f"Bearer {tenant.key}"),)
    viewer = (("authorization", f"Bearer {await tenant.new_key('viewer')}"),)
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = webhooks_pb2_grpc.WebhooksServiceStub(channel)
        request = wh.CreateWebhookEndpointRequest(
            request_id=uuid.uuid4().hex,
            endpoint=wh.WebhookEndpoint(url=receiver.url(path), event_types=TEST_EVENTS_ONLY),
        )
        created = await stub.CreateWebhookEndpoint(request, metadata=admin)
        retried = await stub.CreateWebhookEndpoint(request, metadata=admin)
        assert created.secret.startswith("whsec_") and retried.secret == ""
        assert retried.endpoint.id == created.endpoint.id
        receiver.secrets[path] = [created.secret]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateWebhookEndpoint(
                wh.CreateWebhookEndpointRequest(request_id=uuid.uuid4().hex, endpoint=request.endpoint), metadata=viewer
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        sent = await stub.SendTestWebhookEvent(
            wh.SendTestWebhookEventRequest(request_id=uuid.uuid4().hex, endpoint_id=created.endpoint.id), metadata=admin
        )
        (delivery,) = await arrived(receiver, path, times(1))
        assert delivery.verified and delivery.headers["webhook-id"] == sent.message.id

        async def delivered() -> list[wh.WebhookMessage]:
            listed = await stub.ListWebhookMessages(
                wh.ListWebhookMessagesRequest(filter=f"endpoint_id = {created.endpoint.id} AND state = DELIVERED"),
                metadata=viewer,
            )
            return list(listed.messages)

        (message,) = await eventually(delivered)
        assert message.id == sent.message.id and message.event_type == "webhook.test"
