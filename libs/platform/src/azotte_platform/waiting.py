"""Waiting with a timeout inside background loops that must stop when cancelled."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or after `seconds`, whichever comes first.

    NOTE: `asyncio.wait_for` on Python 3.11 can swallow a cancellation that arrives as the wait
    ends, leaving a loop that was told to stop running forever; `asyncio.timeout` does not.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
