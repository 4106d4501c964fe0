"""WebhooksService and the delivery worker over fakes: endpoints, secrets, roles, fan-out, retries, replays."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, timedelta

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.gateway.v1 import webhooks_pb2 as wh
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte_gateway.adapters.webhook_events import webhook_body
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.domain.webhooks import DeliveryResult, MessageState
from azotte_gateway.errors import (
    RolePermissionMissing,
    WebhookEndpointDisabled,
    WebhookEndpointNotFound,
    WebhookEventTypeUnknown,
    WebhookUrlRefused,
)
from azotte_gateway.service_layer.webhook_delivery import WebhookDelivery, WebhookFanout
from azotte_platform.clock import FixedClock
from azotte_platform.events.envelope import ReceivedEvent
from tests.helpers import lifecycle_event
from tests.unit.gateway.fakes import NOW, TENANT, caller
from tests.unit.gateway.webhook_fakes import FakeSender, WebhookWorld

OTHER = Tenant("other-co", "Other", TenantMode.SANDBOX)
LIVE = Tenant("live-co", "Live", TenantMode.LIVE)
RECEIVER = "http://127.0.0.1:9999/hooks"


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's own check of a delivery: some `v1,` signature is HMAC-SHA256 of `id.timestamp.body`."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


@pytest.fixture
def world() -> WebhookWorld:
    return WebhookWorld(FixedClock(NOW))


async def _create(world: WebhookWorld, *, tenant: Tenant = TENANT, url: str = RECEIVER, types=(), request_id="r1"):
    who = caller(Role.ADMIN, tenant)
    request = wh.CreateWebhookEndpointRequest(
        request_id=request_id, endpoint=wh.WebhookEndpoint(url=url, event_types=list(types))
    )
    with who.scope():
        return await world.area().create_webhook_endpoint(who, request)


def _event(event_type: str = "subscription.renewed", event_id: str = "ev-1", tenant: str = TENANT.id, time=NOW):
    payload = lifecycle_events.SubscriptionEvent(cause="charge_succeeded", previous_plan_id="basic")
    return lifecycle_event(event_id, event_type, payload, tenant, time, headers={"ce-subject": "cus_1"})


async def _publish(world: WebhookWorld, event: ReceivedEvent) -> None:
    fanout = WebhookFanout(webhook_body, world.woke)
    async with world.uow() as uow:
        await fanout.handle(uow, event)
        await uow.commit()


def _delivery(world: WebhookWorld, sender: FakeSender) -> WebhookDelivery:
    return WebhookDelivery(world.uow, world.clock, sender, draw=lambda: 0.5)


async def test_the_secret_is_shown_once_and_a_retry_answers_without_it(world: WebhookWorld) -> None:
    created = await _create(world)
    assert created.secret.startswith("whsec_")
    assert created.endpoint.enabled and created.endpoint.id.startswith("ep_")
    again = await _create(world)
    assert again.endpoint.id == created.endpoint.id
    assert again.secret == ""
    who = caller(Role.VIEWER)
    with who.scope():
        got = await world.area().get_webhook_endpoint(
            who, wh.GetWebhookEndpointRequest(endpoint_id=created.endpoint.id)
        )
    assert created.secret not in str(got)


async def test_unknown_event_types_are_refused_naming_the_entry(world: WebhookWorld) -> None:
    with pytest.raises(WebhookEventTypeUnknown) as refused:
        await _create(world, types=["subscription.renewed", "subscription.exploded"])
    assert refused.value.violations[0].field == "endpoint.event_types[1]"
    created = await _create(world, types=["payment.*", "subscription.renewed"], request_id="r2")
    assert list(created.endpoint.event_types) == ["payment.*", "subscription.renewed"]


async def test_a_live_tenant_needs_https_to_a_public_address(world: WebhookWorld) -> None:
    with pytest.raises(WebhookUrlRefused) as plain:
        await _create(world, tenant=LIVE, url="http://93.184.215.14/hook")
    assert plain.value.violations[0].field == "endpoint.url"
    with pytest.raises(WebhookUrlRefused) as private:
        await _create(world, tenant=LIVE, url="https://10.1.2.3/hook", request_id="r2")
    assert "private" in private.value.violations[0].description
    with pytest.raises(WebhookUrlRefused):
        await _create(world, tenant=LIVE, url="https://127.0.0.1/hook", request_id="r3")
    world.resolver.hosts["rebind.example"] = ["93.184.215.14", "192.168.0.10"]
    with pytest.raises(WebhookUrlRefused):
        await _create(world, tenant=LIVE, url="https://rebind.example/hook", request_id="r4")
    created = await _create(world, tenant=LIVE, url="https://93.184.215.14/hook", request_id="r5")
    assert created.endpoint.url == "https://93.184.215.14/hook"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER, Role.PUBLISHABLE])
async def test_only_admins_manage_endpoints(world: WebhookWorld, role: Role) -> None:
    who = caller(role)
    request = wh.CreateWebhookEndpointRequest(request_id="r1", endpoint=wh.WebhookEndpoint(url=RECEIVER))
    with who.scope(), pytest.raises(RolePermissionMissing):
        await world.area().create_webhook_endpoint(who, request)


@pytest.mark.parametrize(("role", "allowed"), [(Role.VIEWER, True), (Role.MANAGER, True), (Role.PUBLISHABLE, False)])
async def test_viewers_and_up_read_the_log(world: WebhookWorld, role: Role, allowed: bool) -> None:
    who = caller(role)
    with who.scope():
        if allowed:
            listed = await world.area().list_webhook_messages(who, wh.ListWebhookMessagesRequest())
            assert list(listed.messages) == []
        else:
            with pytest.raises(RolePermissionMissing):
                await world.area().list_webhook_messages(who, wh.ListWebhookMessagesRequest())


async def test_another_tenants_endpoint_is_not_found(world: WebhookWorld) -> None:
    created = await _create(world)
    who = caller(Role.ADMIN, OTHER)
    with who.scope():
        with pytest.raises(WebhookEndpointNotFound):
            await world.area().get_webhook_endpoint(who, wh.GetWebhookEndpointRequest(endpoint_id=created.endpoint.id))
        with pytest.raises(WebhookEndpointNotFound):
            await world.area().rotate_webhook_endpoint_secret(
                who, wh.RotateWebhookEndpointSecretRequest(request_id="x", endpoint_id=created.endpoint.id)
            )
        listed = await world.area().list_webhook_endpoints(who, wh.ListWebhookEndpointsRequest())
    assert list(listed.endpoints) == []


async def test_an_event_becomes_one_signed_message_per_matching_endpoint(world: WebhookWorld) -> None:
    everything = await _create(world, request_id="a")
    renewals = await _create(world, types=["subscription.*"], request_id="b")
    await _create(world, types=["payment.succeeded"], request_id="c")
    await _create(world, tenant=OTHER, request_id="d")
    await _publish(world, _event())
    await _publish(world, _event())  # the bus redelivers: no second message

    sender = FakeSender()
    assert await _delivery(world, sender).work_due() == 2
    secrets = {everything.endpoint.id: everything.secret, renewals.endpoint.id: renewals.secret}
    for sent in sender.sent:
        endpoint_id = next(m.endpoint_id for m in world.data.messages.values() if m.id == sent.headers["webhook-id"])
        assert verified(secrets[endpoint_id], sent.headers, sent.body)
        body = json.loads(sent.body)
        assert (body["type"], body["id"], body["source"]) == ("subscription.renewed", "ev-1", "azotte/lifecycle")
        assert body["subject"] == "cus_1" and body["data"]["cause"] == "charge_succeeded"
    assert {m.state for m in world.data.messages.values()} == {MessageState.DELIVERED}


async def test_a_failing_receiver_gets_retries_on_the_sandbox_clock_with_the_same_id(world: WebhookWorld) -> None:
    created = await _create(world)
    await _publish(world, _event())
    sender = FakeSender(DeliveryResult(500, 4, error="HTTP 500", response_excerpt="x" * 1024))
    delivery = _delivery(world, sender)
    assert await delivery.work_due() == 1
    assert await delivery.work_due() == 0  # the retry is 5 s away
    assert isinstance(world.clock, FixedClock)
    world.clock.advance(timedelta(seconds=5), TENANT.id)
    assert await delivery.work_due() == 1
    first, second = sender.sent
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert all(verified(created.secret, s.headers, s.body) for s in sender.sent)

    who = caller(Role.VIEWER)
    with who.scope():
        log = await world.area().list_webhook_attempts(
            who, wh.ListWebhookAttemptsRequest(message_id=first.headers["webhook-id"])
        )
    assert [(a.attempt_number, a.status_code) for a in log.attempts] == [(1, 500), (2, 200)]
    assert log.attempts[0].next_attempt_time.ToDatetime(tzinfo=UTC) == NOW + timedelta(seconds=5)
    assert not log.attempts[1].HasField("next_attempt_time")


async def test_410_disables_the_endpoint_and_says_why(world: WebhookWorld) -> None:
    created = await _create(world)
    await _publish(world, _event(event_id="ev-1"))
    await _publish(world, _event(event_id="ev-2"))
    sender = FakeSender(DeliveryResult(410, 2, error="HTTP 410"), DeliveryResult(200, 2))
    await _delivery(world, sender).work_due()

    who = caller(Role.VIEWER)
    with who.scope():
        got = await world.area().get_webhook_endpoint(
            who, wh.GetWebhookEndpointRequest(endpoint_id=created.endpoint.id)
        )
    assert not got.endpoint.enabled
    assert got.endpoint.disabled_reason == wh.WEBHOOK_DISABLED_REASON_GONE
    assert [e.type for e in world.published] == ["webhook_endpoint.disabled"]
    await _publish(world, _event(event_id="ev-3"))
    assert all(m.event_id != "ev-3" for m in world.data.messages.values())

    admin = caller(Role.ADMIN)
    message = next(iter(world.data.messages.values()))
    with admin.scope(), pytest.raises(WebhookEndpointDisabled):
        await world.area().replay_webhook_message(
            admin, wh.ReplayWebhookMessageRequest(request_id="p", message_id=message.id)
        )
    with admin.scope():
        enabled = await world.area().update_webhook_endpoint(
            admin,
            wh.UpdateWebhookEndpointRequest(
                request_id="u",
                endpoint=wh.WebhookEndpoint(id=created.endpoint.id, enabled=True),
                update_mask=FieldMask(paths=["enabled"]),
            ),
        )
    assert enabled.endpoint.enabled and enabled.endpoint.disabled_reason == wh.WEBHOOK_DISABLED_REASON_UNSPECIFIED


async def test_a_replay_resends_the_same_message_and_a_range_replays_the_failed_ones(world: WebhookWorld) -> None:
    created = await _create(world)
    await _publish(world, _event(event_id="ev-1"))
    await _publish(world, _event(event_id="ev-2"))
    sender = FakeSender()
    delivery = _delivery(world, sender)
    await delivery.work_due()
    replayed_id = sender.sent[0].headers["webhook-id"]

    admin = caller(Role.ADMIN)
    with admin.scope():
        answer = await world.area().replay_webhook_message(
            admin, wh.ReplayWebhookMessageRequest(request_id="p", message_id=replayed_id)
        )
    assert answer.message.state == wh.WEBHOOK_MESSAGE_STATE_PENDING
    await delivery.work_due()
    assert sender.sent[-1].headers["webhook-id"] == replayed_id
    assert sender.sent[-1].body == sender.sent[0].body

    window = wh.ReplayWebhookMessagesRequest(request_id="q", endpoint_id=created.endpoint.id)
    window.start_time.FromDatetime(NOW - timedelta(hours=1))
    window.end_time.FromDatetime(NOW + timedelta(hours=1))
    with admin.scope():
        assert (await world.area().replay_webhook_messages(admin, window)).replayed_count == 0
        window.request_id, window.include_delivered = "q2", True
        assert (await world.area().replay_webhook_messages(admin, window)).replayed_count == 2
    assert world.wakes >= 2


async def test_a_test_event_goes_to_the_endpoint_whatever_its_filter(world: WebhookWorld) -> None:
    created = await _create(world, types=["payment.failed"])
    admin = caller(Role.ADMIN)
    with admin.scope():
        answer = await world.area().send_test_webhook_event(
            admin, wh.SendTestWebhookEventRequest(request_id="t", endpoint_id=created.endpoint.id)
        )
    sender = FakeSender()
    await _delivery(world, sender).work_due()
    assert json.loads(sender.sent[0].body)["type"] == "webhook.test"
    assert sender.sent[0].headers["webhook-id"] == answer.message.id
    assert verified(created.secret, sender.sent[0].headers, sender.sent[0].body)


async def test_deleting_an_endpoint_removes_its_messages_and_only_its_tenant_may(world: WebhookWorld) -> None:
    created = await _create(world)
    await _publish(world, _event())
    request = wh.DeleteWebhookEndpointRequest(request_id="del", endpoint_id=created.endpoint.id)
    stranger = caller(Role.ADMIN, OTHER)
    with stranger.scope(), pytest.raises(WebhookEndpointNotFound):
        await world.area().delete_webhook_endpoint(stranger, request)
    admin = caller(Role.ADMIN)
    with admin.scope():
        deleted = await world.area().delete_webhook_endpoint(admin, request)
        assert deleted.endpoint.id == created.endpoint.id
        gone = wh.GetWebhookEndpointRequest(endpoint_id=created.endpoint.id)
        with pytest.raises(WebhookEndpointNotFound):
            await world.area().get_webhook_endpoint(admin, gone)
    assert world.data.messages == {}


async def test_an_endpoint_gets_the_events_since_its_creation_not_the_history(world: WebhookWorld) -> None:
    await _create(world)
    await _publish(world, _event(event_id="before", time=NOW - timedelta(minutes=1)))
    await _publish(world, _event(event_id="after", time=NOW))
    assert [m.event_id for m in world.data.messages.values()] == ["after"]
