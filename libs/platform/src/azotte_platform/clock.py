"""Injectable clocks: wall time, a fixed test clock, and the sandbox clock of each tenant.

A clock answers the time of the tenant in the current request context (`azotte_platform.context`):
servicers run in their caller's tenant, background work enters one with `context.tenant_scope`.
Sandbox time is per tenant (like Stripe's test clocks): each sandbox tenant has its own offset from
the base time, moved only by that tenant; a tenant that never moved its clock (every live tenant)
is on the base time. Background loops that serve every tenant read `tenant_times(clock)`, every
tenant's time at one instant, and claim each tenant's due work by that tenant's own now. State that
every tenant shares (a PSP's circuit breaker) reads `shared_now(clock)`, the base time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from azotte_platform import context

log = logging.getLogger(__name__)

CLOCK_BUCKET = "azotte_clock"
# NOTE: one key per sandbox tenant, `tenant.<tenant id>` = its offset in seconds (tenant ids are slugs).
TENANT_KEY_PREFIX = "tenant."


class Clock(Protocol):
    """Source of the current time (aware, UTC) of the tenant in the current context."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class TenantTimes:
    """Every tenant's time at one instant: the base time, plus the offsets of tenants whose clock moved."""

    base: datetime
    offsets: Mapping[str, timedelta] = field(default_factory=dict)

    def of(self, tenant_id: str) -> datetime:
        """The time of `tenant_id`."""
        return self.base + self.offsets.get(tenant_id, timedelta())

    @property
    def latest(self) -> datetime:
        """The time of the tenant furthest ahead (the base time when no clock moved)."""
        return self.base + max(self.offsets.values(), default=timedelta())

    def shifted(self, delta: timedelta) -> TenantTimes:
        """Every tenant's time moved by `delta` (e.g. `-timedelta(minutes=5)`: five minutes ago, each)."""
        return TenantTimes(self.base + delta, self.offsets)


def tenant_times(clock: Clock) -> TenantTimes:
    """Every tenant's time now, for work that serves every tenant (a clock without offsets: one time)."""
    if isinstance(clock, TenantClock):
        return clock.times()
    with context.tenant_scope(""):
        return TenantTimes(clock.now())


def now_of(clock: Clock, tenant_id: str) -> datetime:
    """The time of `tenant_id`, whatever the current context."""
    with context.tenant_scope(tenant_id):
        return clock.now()


def shared_now(clock: Clock) -> datetime:
    """The base time, no tenant's: for state every tenant shares (a PSP's circuit breaker, a process-wide cache)."""
    return now_of(clock, "")


class SystemClock:
    """Wall-clock time, the same for every tenant."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TenantClock:
    """A base time plus an offset per tenant; `now()` is the current context's tenant's time."""

    def __init__(self) -> None:
        self._offsets: dict[str, timedelta] = {}

    def base(self) -> datetime:
        """The time of every tenant whose clock never moved."""
        raise NotImplementedError

    def now(self) -> datetime:
        return self.base() + self.offset_of(context.current().tenant_id)

    def offset_of(self, tenant_id: str) -> timedelta:
        """How far `tenant_id`'s clock was moved ahead of the base time."""
        return self._offsets.get(tenant_id, timedelta()) if tenant_id else timedelta()

    def times(self) -> TenantTimes:
        return TenantTimes(self.base(), {t: o for t, o in self._offsets.items() if o})


class FixedClock(TenantClock):
    """A clock that only moves when told to; for tests. `advance(delta, tenant_id)` moves one tenant."""

    def __init__(self, start: datetime):
        super().__init__()
        self._now = start

    def base(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta, tenant_id: str = "") -> None:
        """Move every tenant's time (no `tenant_id`) or only `tenant_id`'s."""
        if tenant_id:
            self._offsets[tenant_id] = self.offset_of(tenant_id) + delta
        else:
            self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


def _key(tenant_id: str) -> str:
    return TENANT_KEY_PREFIX + tenant_id


class SandboxClock(TenantClock):
    """Wall time plus each sandbox tenant's offset, kept in the NATS KV bucket `azotte_clock` (a key per tenant).

    Every replica of every service follows the bucket through a KV watch, so all of them see the
    same time for a tenant. Listeners registered with `on_change` run after any tenant's clock
    moves, so due work happens at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._kv: KeyValue | None = None
        self._listeners: list[Callable[[str], Awaitable[None]]] = []
        self._watch_task: asyncio.Task[None] | None = None

    def base(self) -> datetime:
        return datetime.now(UTC)

    def on_change(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Run `listener(tenant_id)` whenever a tenant's clock moves."""
        self._listeners.append(listener)

    async def start(self, js: JetStreamContext) -> None:
        """Load every tenant's offset and follow their changes."""
        try:
            self._kv = await js.key_value(CLOCK_BUCKET)
        except BucketNotFoundError:
            self._kv = await js.create_key_value(bucket=CLOCK_BUCKET, history=1)
        # NOTE: the watch first delivers every key's current value, so the offsets are loaded before start returns.
        watcher = await self._kv.watch(TENANT_KEY_PREFIX + ">", include_history=False)
        async for entry in watcher:
            if entry is None:
                break
            self._set(entry)
        self._watch_task = asyncio.create_task(self._follow(watcher))

    def _set(self, entry: KeyValue.Entry) -> str | None:
        """Take a tenant's offset from its key; the tenant when its time moved, else None."""
        if entry.value is None or not entry.key.startswith(TENANT_KEY_PREFIX):
            return None
        tenant_id = entry.key.removeprefix(TENANT_KEY_PREFIX)
        try:
            offset = timedelta(seconds=float(entry.value.decode()))
        except ValueError:
            log.warning("ignoring sandbox clock key %s: not a number of seconds", entry.key)
            return None
        if offset == self.offset_of(tenant_id):
            return None
        self._offsets[tenant_id] = offset
        return tenant_id

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            moved = self._set(entry) if entry is not None else None
            if moved is not None:
                await self._changed(moved)

    async def _changed(self, tenant_id: str) -> None:
        for listener in self._listeners:
            await listener(tenant_id)

    async def advance(self, delta: timedelta, tenant_id: str) -> datetime:
        """Move `tenant_id`'s clock forward by `delta` and return its new time (no other tenant's moves)."""
        if delta < timedelta():
            raise ValueError("the sandbox clock only moves forward")
        if not tenant_id:
            raise ValueError("a sandbox clock belongs to one tenant")
        assert self._kv is not None, "start() first"
        key = _key(tenant_id)
        try:
            entry = await self._kv.get(key)
            current = float((entry.value or b"0").decode())
            revision = entry.revision
        except KeyNotFoundError:
            current, revision = 0.0, None
        new = current + delta.total_seconds()
        # NOTE: create/update with the revision read: two advances at once cannot lose one (the loser fails).
        if revision is None:
            await self._kv.create(key, str(new).encode())
        else:
            await self._kv.update(key, str(new).encode(), last=revision)
        self._offsets[tenant_id] = timedelta(seconds=new)
        await self._changed(tenant_id)
        return self.base() + self._offsets[tenant_id]

    async def stop(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
