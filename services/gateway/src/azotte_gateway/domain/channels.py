"""Notifications from store-billed channels (App Store, Google Play, telecom, partners), raw and verified."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawNotification:
    """A notification as it arrived: nothing in it is trusted yet."""

    body: bytes
    # Header names in lower case.
    headers: Mapping[str, str]


@dataclass(frozen=True)
class TrustedNotification:
    """A notification whose origin a channel verifier proved, with its decoded payload."""

    # The channel's own id of the notification: a redelivery carries the same id.
    notification_id: str
    payload: Mapping[str, Any]
