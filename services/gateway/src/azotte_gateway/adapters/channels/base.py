"""The two interfaces every channel adapter implements, and the one a channel that wants acknowledgements adds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.channels import RawNotification, TrustedNotification


class ChannelVerifier(Protocol):
    """Proves a notification came from its channel (signature, certificate chain, token) before anything reads it."""

    async def verify(self, raw: RawNotification) -> TrustedNotification:
        """The notification's trusted payload and id; raise `errors.ChannelNotificationRejected` otherwise."""
        ...


class ChannelNormalizer(Protocol):
    """Maps a channel's own vocabulary (notification types, product ids, identities) to lifecycle's."""

    async def normalize(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        """The lifecycle channel events the notification stands for, in the order to apply them."""
        ...


class ChannelAcknowledger(Protocol):
    """Tells the channel its notification was applied, where the channel asks for it (Google Play purchases)."""

    async def acknowledge(self, notification: TrustedNotification) -> None:
        """Acknowledge what needs it; called once every event of the notification is applied."""
        ...
