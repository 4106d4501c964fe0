"""The seat of channel adapters: a notification is verified, normalized, and applied to lifecycle once."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence

import pytest

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.errors import ChannelNotificationRejected, ChannelNotSupported
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.enums import Channel
from tests.unit.gateway.fakes import TENANT, FakeSuite

SIGNATURE_HEADER = "x-test-signature"


class HmacVerifier:
    """A channel that signs each notification body with HMAC-SHA256 under a key it shares with the tenant."""

    def __init__(self, key: bytes):
        self._key = key

    async def verify(self, raw: RawNotification) -> TrustedNotification:
        expected = hmac.new(self._key, raw.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(raw.headers.get(SIGNATURE_HEADER, ""), expected):
            raise ChannelNotificationRejected("the notification's signature does not match")
        payload = json.loads(raw.body)
        return TrustedNotification(notification_id=payload["id"], payload=payload)


class RenewalNormalizer:
    """A renewal of a carrier's subscriber."""

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        payload = notification.payload
        identity = lc.ChannelIdentity(
            kind=lc.CHANNEL_IDENTITY_KIND_TELECOM_SUBSCRIBER_REF, value=payload["subscriber"], issuer=payload["carrier"]
        )
        event = lc.ChannelEvent(
            event_id=notification.notification_id,
            kind=lc.CHANNEL_EVENT_KIND_RENEWED,
            channel=channel_pb2.CHANNEL_TELECOM,
            identity=identity,
        )
        return [event]


def signed(key: bytes, payload: dict[str, str]) -> RawNotification:
    body = json.dumps(payload).encode()
    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
    return RawNotification(body=body, headers={SIGNATURE_HEADER: signature, "content-type": "application/json"})


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite, key: bytes) -> Gateway:
    adapters = ChannelAdapters()
    adapters.register(Channel.TELECOM, HmacVerifier(key), RenewalNormalizer())
    return suite.gateway(adapters)


NOTIFICATION = {"id": "ntf-1", "subscriber": "+33600000001", "carrier": "orange-fr"}


async def test_a_signed_notification_is_applied_to_the_tenants_subscription(
    suite: FakeSuite, gateway: Gateway, key: bytes
) -> None:
    stored = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, NOTIFICATION))
    assert [answer.outcome for answer in stored.applied] == ["APPLIED"]
    [(tenant, event)] = suite.lifecycle.applied
    assert tenant == TENANT.id
    assert (event.event_id, event.kind, event.identity.value) == (
        "ntf-1",
        lc.CHANNEL_EVENT_KIND_RENEWED,
        "+33600000001",
    )


async def test_a_redelivered_notification_is_applied_once(suite: FakeSuite, gateway: Gateway, key: bytes) -> None:
    first = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, NOTIFICATION))
    again = await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, signed(key, NOTIFICATION))
    assert again == first
    assert len(suite.lifecycle.applied) == 1


async def test_a_notification_with_a_bad_signature_is_refused(suite: FakeSuite, gateway: Gateway) -> None:
    forged = signed(secrets.token_bytes(32), NOTIFICATION)
    with pytest.raises(ChannelNotificationRejected):
        await gateway.channels.receive_notification(Channel.TELECOM, TENANT.id, forged)
    assert suite.lifecycle.applied == []


async def test_a_channel_without_an_adapter_is_not_supported(suite: FakeSuite, gateway: Gateway, key: bytes) -> None:
    with pytest.raises(ChannelNotSupported):
        await gateway.channels.receive_notification(Channel.APP_STORE, TENANT.id, signed(key, NOTIFICATION))
    assert suite.lifecycle.applied == []
