"""Notifications of store-billed channels: verify, normalize, apply to lifecycle once."""

from __future__ import annotations

from dataclasses import dataclass

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channels import RawNotification
from azotte_gateway.ports import ChannelNotifications, Peers
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.request_ids import derive_request_id


def notification_request_id(channel: Channel, notification_id: str, index: int) -> str:
    """The request id of the `index`-th event of a notification: the same for every redelivery of it."""
    return derive_request_id("channel", channel.value, notification_id, str(index))


@dataclass(frozen=True)
class Channels:
    """What arrives from App Store, Google Play, telecom carriers and partners (no public endpoint yet)."""

    notifications: ChannelNotifications
    peers: Peers

    async def receive_notification(
        self, channel: Channel, tenant_id: str, raw: RawNotification
    ) -> list[lc.ApplyChannelEventResponse]:
        """Verify a notification, normalize it, and apply its events to the tenant's subscriptions in order."""
        trusted = await self.notifications.verify(channel, raw)
        events = self.notifications.normalize(channel, trusted)
        answers: list[lc.ApplyChannelEventResponse] = []
        # NOTE: a notification arrives outside any caller's call, so the tenant is entered here.
        with context.tenant_scope(tenant_id, f"channel:{channel.value}"):
            for index, event in enumerate(events):
                # NOTE: channels redeliver until they are answered; a request id derived from the
                # notification's own id makes lifecycle apply each event once.
                request_id = notification_request_id(channel, trusted.notification_id, index)
                answers.append(
                    await self.peers.lifecycle.ApplyChannelEvent(
                        lc.ApplyChannelEventRequest(request_id=request_id, event=event)
                    )
                )
        return answers
