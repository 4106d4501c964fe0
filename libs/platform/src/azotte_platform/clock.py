"""Injectable clocks: wall time, a fixed test clock, and the suite-wide sandbox clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

CLOCK_BUCKET = "azotte_clock"
OFFSET_KEY = "offset_seconds"


class Clock(Protocol):
    """Source of the current time (aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class SandboxClock:
    """Wall time plus a suite-wide offset kept in a NATS KV key, so every service sees the same time.

    Advancing the offset (`advance`) is observed by every replica through a KV watch; listeners
    registered with `on_change` run after each move, so due work happens at once.
    """

    def __init__(self) -> None:
        self._offset = timedelta()
        self._kv: KeyValue | None = None
        self._listeners: list[Callable[[], Awaitable[None]]] = []
        self._watch_task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def on_change(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Run `listener` whenever the suite's clock moves."""
        self._listeners.append(listener)

    async def start(self, js: JetStreamContext) -> None:
        """Load the current offset and follow its changes."""
        try:
            self._kv = await js.key_value(CLOCK_BUCKET)
        except BucketNotFoundError:
            self._kv = await js.create_key_value(bucket=CLOCK_BUCKET, history=1)
        with contextlib.suppress(KeyNotFoundError):
            entry = await self._kv.get(OFFSET_KEY)
            self._offset = timedelta(seconds=float((entry.value or b"0").decode()))
        watcher = await self._kv.watch(OFFSET_KEY, include_history=False)
        self._watch_task = asyncio.create_task(self._follow(watcher))

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is None or entry.value is None:
                continue
            await self._apply(timedelta(seconds=float(entry.value.decode())))

    async def _apply(self, offset: timedelta) -> None:
        if offset == self._offset:
            return
        self._offset = offset
        for listener in self._listeners:
            await listener()

    async def advance(self, delta: timedelta) -> datetime:
        """Move the suite's clock forward by `delta` and return the new time."""
        if delta < timedelta():
            raise ValueError("the sandbox clock only moves forward")
        assert self._kv is not None, "start() first"
        try:
            entry = await self._kv.get(OFFSET_KEY)
            current = float((entry.value or b"0").decode())
            revision = entry.revision
        except KeyNotFoundError:
            current, revision = 0.0, None
        new = current + delta.total_seconds()
        if revision is None:
            await self._kv.create(OFFSET_KEY, str(new).encode())
        else:
            await self._kv.update(OFFSET_KEY, str(new).encode(), last=revision)
        await self._apply(timedelta(seconds=new))
        return self.now()

    async def stop(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
