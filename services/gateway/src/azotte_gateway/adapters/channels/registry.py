"""The channel adapters this process serves, by channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.base import ChannelAcknowledger, ChannelNormalizer, ChannelVerifier
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.errors import ChannelNotSupported
from azotte_platform.enums import Channel


@dataclass(frozen=True)
class ChannelAdapter:
    """What one channel registers: how its notifications are verified, normalized, and acknowledged (if at all)."""

    verifier: ChannelVerifier
    normalizer: ChannelNormalizer
    acknowledger: ChannelAcknowledger | None = None


class ChannelAdapters:
    """Implements `ports.ChannelNotifications`: the registered adapter of each channel."""

    def __init__(self) -> None:
        self._adapters: dict[Channel, ChannelAdapter] = {}

    def register(
        self,
        channel: Channel,
        verifier: ChannelVerifier,
        normalizer: ChannelNormalizer,
        acknowledger: ChannelAcknowledger | None = None,
    ) -> None:
        """Serve `channel`'s notifications with these adapters (replacing any registered before)."""
        self._adapters[channel] = ChannelAdapter(verifier, normalizer, acknowledger)

    def lookup(self, channel: Channel) -> ChannelAdapter:
        """The adapter of `channel`; ChannelNotSupported when none is registered."""
        adapter = self._adapters.get(channel)
        if adapter is None:
            raise ChannelNotSupported(f"notifications of channel {channel.value!r} are not supported")
        return adapter

    async def verify(self, channel: Channel, raw: RawNotification) -> TrustedNotification:
        return await self.lookup(channel).verifier.verify(raw)

    async def normalize(self, channel: Channel, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        return await self.lookup(channel).normalizer.normalize(notification)

    async def acknowledge(self, channel: Channel, notification: TrustedNotification) -> None:
        acknowledger = self.lookup(channel).acknowledger
        if acknowledger is not None:
            await acknowledger.acknowledge(notification)
