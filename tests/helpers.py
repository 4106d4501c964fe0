"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message

from azotte_platform.events.envelope import ReceivedEvent

T = TypeVar("T")


def fresh_card_token() -> str:
    """A sandbox card token no other test uses; its digit runs stay short, so payments never takes it for a
    card number (13 digits or more passing Luhn)."""
    return "tok_e2e_" + str(uuid.uuid4()).replace("-", "_")


async def eventually(probe: Callable[[], Awaitable[T]], *, within: float = 15.0, interval: float = 0.05) -> T:
    """Poll `probe` until it returns a truthy value (or stops raising AssertionError, or KeyError or IndexError for
    something it looks up that is not there yet), up to `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            result = await probe()
            if result:
                return result
        except (AssertionError, KeyError, IndexError):
            if loop.time() > deadline:
                raise
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value {result!r})")
        await asyncio.sleep(interval)


def lifecycle_event(
    event_id: str,
    event_type: str,
    payload: Message,
    tenant_id: str,
    time: datetime,
    headers: dict[str, str] | None = None,
) -> ReceivedEvent:
    """`payload` as a consumer receives it from lifecycle: an `event_type` event of `tenant_id`, sent at `time`."""
    return ReceivedEvent(
        id=event_id,
        type=event_type,
        source="azotte/lifecycle",
        tenant_id=tenant_id,
        time=time,
        subject=f"azotte.{tenant_id}.lifecycle.{event_type}",
        data_schema=payload.DESCRIPTOR.full_name,
        data=payload.SerializeToString(),
        headers=headers or {},
    )
