"""The notification inbox: each verified channel notification stored once, and what became of it.

A notification is received (stored), then applied, ignored (it stands for no lifecycle event) or failed; a
failed one is tried again on a backoff schedule and parked after the last attempt, until an operator replays it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument

# The waits after the 1st, 2nd... failed attempt; the attempt after the last wait is the last one.
RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_ERROR_LENGTH = 1000


class InboxState(StrEnum):
    """Where a stored notification stands."""

    RECEIVED = "received"
    APPLIED = "applied"
    IGNORED = "ignored"
    FAILED = "failed"
    PARKED = "parked"

    @property
    def settled(self) -> bool:
        """Nothing is left to apply."""
        return self in (InboxState.APPLIED, InboxState.IGNORED)


@dataclass(frozen=True)
class AppliedEvent:
    """What lifecycle answered for one event of a notification."""

    outcome: str
    subscription_id: str
    consistency_token: str


@dataclass
class InboxNotification:
    """One notification of a channel, stored as it arrived, and its progress."""

    tenant_id: str
    channel: Channel
    notification_id: str
    app_id: str
    body: bytes
    headers: Mapping[str, str]
    event_time: datetime
    receive_time: datetime
    state: InboxState = InboxState.RECEIVED
    attempt_count: int = 0
    last_error: str = ""
    next_attempt_time: datetime | None = None
    settle_time: datetime | None = None
    applied: list[AppliedEvent] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The resource name operators use: `<channel>/<notification id>`."""
        return notification_name(self.channel, self.notification_id)

    def settle(self, applied: list[AppliedEvent], now: datetime) -> None:
        """Every event is applied (none: the notification is ignored)."""
        self.attempt_count += 1
        self.state = InboxState.APPLIED if applied else InboxState.IGNORED
        self.applied, self.settle_time = applied, now
        self.last_error, self.next_attempt_time = "", None

    def fail(self, error: str, now: datetime) -> None:
        """An attempt failed: try again after the schedule's wait, or park after the last attempt."""
        self.attempt_count += 1
        self.last_error = error[:MAX_ERROR_LENGTH]
        if self.attempt_count >= MAX_ATTEMPTS:
            self.state, self.next_attempt_time = InboxState.PARKED, None
        else:
            self.state = InboxState.FAILED
            self.next_attempt_time = now + RETRY_DELAYS[self.attempt_count - 1]

    @property
    def replayable(self) -> bool:
        """An operator may apply it again: it failed or was parked."""
        return self.state in (InboxState.FAILED, InboxState.PARKED)

    def replay(self, now: datetime) -> None:
        """An operator's replay: due now, for one more attempt (a parked one parks again if it fails)."""
        self.state, self.next_attempt_time = InboxState.FAILED, now


def notification_name(channel: Channel, notification_id: str) -> str:
    """`<channel>/<notification id>`."""
    return f"{channel.value}/{notification_id}"


def parse_notification_name(name: str, field_name: str = "name") -> tuple[Channel, str]:
    """The channel and notification id a name holds; INVALID_ARGUMENT `field_name` otherwise."""
    channel, _, notification_id = name.partition("/")
    channels = {member.value for member in Channel}
    if not notification_id or channel not in channels:
        allowed = ", ".join(sorted(channels))
        raise InvalidArgument.field(field_name, f"must be `<channel>/<notification id>` with a channel of {allowed}")
    return Channel(channel), notification_id


@dataclass(frozen=True)
class InboxQuery:
    """Which notifications to list (each unset field: any)."""

    channel: Channel | None = None
    state: InboxState | None = None
