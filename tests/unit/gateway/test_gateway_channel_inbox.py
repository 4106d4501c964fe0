"""The notification inbox: verified notifications stored once, a failed apply retried on the schedule then parked,
retries in event-time order, operators listing, reading and replaying their tenant's notifications."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import channel_notifications_pb2 as cn
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channel_inbox import MAX_ATTEMPTS, RETRY_DELAYS, InboxNotification, InboxState
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import (
    ChannelCustomerUnknown,
    ChannelNotificationNotFound,
    ChannelNotificationNotReplayable,
    ChannelNotificationRejected,
)
from azotte_gateway.service_layer.channel_inbox import LEASE, ChannelInbox
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.context import tenant_scope
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument, PermissionDenied
from tests.unit.gateway.fakes import NOW, TENANT, FakeSuite, caller

SIGNATURE_HEADER = "x-test-signature"
OTHER_TENANT = "other-video"


class HmacVerifier:
    """A channel signing each body with HMAC-SHA256; the body's `at` is the event time."""

    def __init__(self, key: bytes):
        self._key = key

    async def verify(self, raw: RawNotification) -> TrustedNotification:
        expected = hmac.new(self._key, raw.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(raw.headers.get(SIGNATURE_HEADER, ""), expected):
            raise ChannelNotificationRejected("the notification's signature does not match")
        payload = json.loads(raw.body)
        return TrustedNotification(payload["id"], payload, datetime.fromisoformat(payload["at"]))


class KnownSubscribers:
    """Normalizes to one renewal of the subscriber, once the tenant linked them; `test` notifications to nothing."""

    def __init__(self) -> None:
        self.linked: set[str] = set()

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        subscriber = notification.payload["subscriber"]
        if subscriber == "test":
            return []
        if subscriber not in self.linked:
            raise ChannelCustomerUnknown(f"no customer has subscriber {subscriber!r} linked")
        identity = lc.ChannelIdentity(kind=lc.CHANNEL_IDENTITY_KIND_TELECOM_SUBSCRIBER_REF, value=subscriber)
        return [
            lc.ChannelEvent(
                event_id=notification.notification_id,
                kind=lc.CHANNEL_EVENT_KIND_RENEWED,
                channel=channel_pb2.CHANNEL_TELECOM,
                identity=identity,
            )
        ]


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def subscribers() -> KnownSubscribers:
    return KnownSubscribers()


@pytest.fixture
def gateway(suite: FakeSuite, key: bytes, subscribers: KnownSubscribers) -> Gateway:
    adapters = ChannelAdapters()
    adapters.register(Channel.TELECOM, HmacVerifier(key), subscribers)
    return suite.gateway(adapters)


@pytest.fixture
def inbox(gateway: Gateway) -> ChannelInbox:
    return gateway.channel_notifications


def signed(key: bytes, notification_id: str, subscriber: str, at: datetime = NOW) -> RawNotification:
    body = json.dumps({"id": notification_id, "subscriber": subscriber, "at": at.isoformat()}).encode()
    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
    return RawNotification(body=body, headers={SIGNATURE_HEADER: signature}, app_id="carrier")


def applied_ids(suite: FakeSuite) -> list[str]:
    return [event.event_id for _, event in suite.lifecycle.applied]


async def get(gateway: Gateway, name: str, role: Role = Role.MANAGER) -> cn.ChannelNotification:
    who = caller(role)
    with who.scope():
        answer = await gateway.channel_notifications.get_channel_notification(
            who, cn.GetChannelNotificationRequest(name=name)
        )
    return answer.notification


async def test_a_notification_is_stored_with_its_raw_body_and_applied(
    suite: FakeSuite, gateway: Gateway, key: bytes, subscribers: KnownSubscribers
) -> None:
    subscribers.linked.add("+33600000001")
    raw = signed(key, "n1", "+33600000001")
    stored = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, raw)
    assert (stored.state, stored.attempt_count, [e.outcome for e in stored.applied]) == (
        InboxState.APPLIED,
        1,
        ["APPLIED"],
    )
    shown = await get(gateway, "telecom/n1")
    assert shown.state == cn.CHANNEL_NOTIFICATION_STATE_APPLIED
    assert (shown.body.encode(), dict(shown.headers)) == (raw.body, dict(raw.headers))
    assert applied_ids(suite) == ["n1"]


async def test_a_redelivery_is_answered_from_the_inbox_and_applied_once(
    suite: FakeSuite, gateway: Gateway, key: bytes, subscribers: KnownSubscribers
) -> None:
    subscribers.linked.add("+33600000001")
    first = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "n1", "+33600000001"))
    again = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "n1", "+33600000001"))
    assert (again.state, again.applied, again.attempt_count) == (InboxState.APPLIED, first.applied, 1)
    assert applied_ids(suite) == ["n1"]


async def test_a_notification_with_nothing_to_apply_is_ignored(suite: FakeSuite, gateway: Gateway, key: bytes) -> None:
    stored = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "t1", "test"))
    assert (stored.state, stored.applied) == (InboxState.IGNORED, [])
    assert suite.lifecycle.applied == []


async def test_a_forged_notification_is_refused_and_not_stored(suite: FakeSuite, gateway: Gateway) -> None:
    forged = signed(secrets.token_bytes(32), "n1", "+33600000001")
    with pytest.raises(ChannelNotificationRejected):
        await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, forged)
    with pytest.raises(ChannelNotificationNotFound):
        await get(gateway, "telecom/n1")


async def test_a_failed_apply_is_retried_on_the_schedule_then_parked_with_its_reason(
    suite: FakeSuite, gateway: Gateway, inbox: ChannelInbox, key: bytes
) -> None:
    stored = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "n1", "+33699"))
    assert (stored.state, stored.next_attempt_time) == (InboxState.FAILED, NOW + RETRY_DELAYS[0])
    assert "ChannelCustomerUnknown" in stored.last_error
    assert await inbox.work_due() == 0  # not due yet
    for delay in RETRY_DELAYS:
        suite.clock.advance(delay)
        assert await inbox.work_due() == 1
    parked = await get(gateway, "telecom/n1")
    assert (parked.state, parked.attempt_count) == (cn.CHANNEL_NOTIFICATION_STATE_PARKED, MAX_ATTEMPTS)
    assert "no customer has subscriber '+33699' linked" in parked.last_error
    assert not parked.HasField("next_attempt_time")
    suite.clock.advance(timedelta(days=1))
    assert await inbox.work_due() == 0  # parked: only an operator's replay moves it
    assert suite.lifecycle.applied == []


async def test_a_replay_after_the_fix_applies_a_parked_notification(
    suite: FakeSuite, gateway: Gateway, inbox: ChannelInbox, key: bytes, subscribers: KnownSubscribers
) -> None:
    await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "n1", "+33699"))
    for delay in RETRY_DELAYS:
        suite.clock.advance(delay)
        await inbox.work_due()
    subscribers.linked.add("+33699")
    manager = caller(Role.MANAGER)
    with manager.scope():
        request = cn.ReplayChannelNotificationRequest(request_id="r1", name="telecom/n1")
        queued = await inbox.replay_channel_notification(manager, request)
        assert await inbox.replay_channel_notification(manager, request) == queued  # a retried call: same answer
    assert queued.notification.state == cn.CHANNEL_NOTIFICATION_STATE_FAILED
    assert await inbox.work_due() == 1
    assert (await get(gateway, "telecom/n1")).state == cn.CHANNEL_NOTIFICATION_STATE_APPLIED
    assert applied_ids(suite) == ["n1"]
    with manager.scope(), pytest.raises(ChannelNotificationNotReplayable):
        await inbox.replay_channel_notification(
            manager, cn.ReplayChannelNotificationRequest(request_id="r2", name="telecom/n1")
        )


async def test_due_notifications_are_retried_in_event_time_order(
    suite: FakeSuite, gateway: Gateway, inbox: ChannelInbox, key: bytes, subscribers: KnownSubscribers
) -> None:
    for notification_id, minutes in (("late", 3), ("early", 1), ("middle", 2)):
        at = NOW - timedelta(minutes=10 - minutes)
        await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, notification_id, "+1", at))
    subscribers.linked.add("+1")
    suite.clock.advance(RETRY_DELAYS[0])
    assert await inbox.work_due() == 3
    assert applied_ids(suite) == ["early", "middle", "late"]


async def test_operators_list_by_channel_and_state_a_page_at_a_time(
    gateway: Gateway, key: bytes, subscribers: KnownSubscribers
) -> None:
    subscribers.linked.add("+1")
    for index in range(3):
        at = NOW + timedelta(seconds=index)
        await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, f"ok{index}", "+1", at))
    await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "bad", "+2"))
    manager = caller(Role.MANAGER)
    with manager.scope():
        failed = await gateway.channel_notifications.list_channel_notifications(
            manager, cn.ListChannelNotificationsRequest(filter='channel = "telecom" AND state = FAILED')
        )
        request = cn.ListChannelNotificationsRequest(page_size=2, filter="state = applied")
        first = await gateway.channel_notifications.list_channel_notifications(manager, request)
        request.page_token = first.next_page_token
        rest = await gateway.channel_notifications.list_channel_notifications(manager, request)
        with pytest.raises(InvalidArgument) as refused:
            await gateway.channel_notifications.list_channel_notifications(
                manager, cn.ListChannelNotificationsRequest(filter="state = LOST")
            )
    assert [n.name for n in failed.notifications] == ["telecom/bad"]
    assert not failed.notifications[0].body  # lists carry no bodies
    assert [n.notification_id for n in first.notifications] == ["ok2", "ok1"]
    assert ([n.notification_id for n in rest.notifications], rest.next_page_token) == (["ok0"], "")
    assert refused.value.violations[0].field == "filter"


async def test_only_channel_managers_see_the_inbox_and_another_tenant_sees_nothing(
    gateway: Gateway, key: bytes
) -> None:
    await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, "n1", "+33699"))
    assert (await get(gateway, "telecom/n1", Role.ADMIN)).state == cn.CHANNEL_NOTIFICATION_STATE_FAILED
    with pytest.raises(PermissionDenied):
        await get(gateway, "telecom/n1", Role.OPERATOR)
    stranger = caller(Role.ADMIN, Tenant(OTHER_TENANT, "Other", TenantMode.SANDBOX))
    with stranger.scope():
        with pytest.raises(ChannelNotificationNotFound):
            await gateway.channel_notifications.get_channel_notification(
                stranger, cn.GetChannelNotificationRequest(name="telecom/n1")
            )
        listed = await gateway.channel_notifications.list_channel_notifications(
            stranger, cn.ListChannelNotificationsRequest()
        )
        with pytest.raises(ChannelNotificationNotFound):
            await gateway.channel_notifications.replay_channel_notification(
                stranger, cn.ReplayChannelNotificationRequest(request_id="r1", name="telecom/n1")
            )
    assert list(listed.notifications) == []
    with pytest.raises(InvalidArgument) as refused:
        await get(gateway, "no-channel")
    assert refused.value.violations[0].field == "name"


async def test_a_notification_whose_attempt_died_with_its_process_is_applied_after_its_lease(
    suite: FakeSuite, inbox: ChannelInbox, key: bytes, subscribers: KnownSubscribers
) -> None:
    subscribers.linked.add("+1")
    raw = signed(key, "n1", "+1")
    stuck = InboxNotification(
        tenant_id=TENANT.id,
        channel=Channel.TELECOM,
        notification_id="n1",
        app_id=raw.app_id,
        body=raw.body,
        headers=raw.headers,
        event_time=NOW,
        receive_time=NOW,
        next_attempt_time=NOW + LEASE,
    )
    with tenant_scope(TENANT.id):
        async with suite.uow() as uow:
            await uow.channel_inbox.add(stuck)
            await uow.commit()
    assert await inbox.work_due() == 0  # its attempt may still be running
    suite.clock.advance(LEASE)
    assert await inbox.work_due() == 1  # the stored body verified again, then applied
    assert applied_ids(suite) == ["n1"]
    forged = InboxNotification(**{**vars(stuck), "notification_id": "n2", "headers": {SIGNATURE_HEADER: "00"}})
    with tenant_scope(TENANT.id):
        async with suite.uow() as uow:
            await uow.channel_inbox.add(forged)
            await uow.commit()
    suite.clock.advance(LEASE)
    assert await inbox.work_due() == 1
    assert applied_ids(suite) == ["n1"]  # a stored body that no longer verifies applies nothing
