"""What every service process holds: its settings, database engine, NATS connection and clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_platform.clock import Clock, SandboxClock, SystemClock
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.events import nats_connection
from azotte_platform.events.relay import OutboxRelay
from azotte_platform.settings import ServiceSettings


@dataclass
class Runtime:
    """Connections and background tasks of one service process."""

    service: str
    settings: ServiceSettings
    engine: AsyncEngine
    nats: Client
    js: JetStreamContext
    clock: Clock
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    reconnect_listeners: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work` in the background until the process stops."""
        self.tasks.append(asyncio.create_task(work()))

    def on_clock_change(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Run `listener(tenant_id)` when a sandbox tenant's clock moves (no-op on a wall clock)."""
        if isinstance(self.clock, SandboxClock):
            self.clock.on_change(listener)

    def on_reconnect(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Run `listener` after NATS comes back (plain subscriptions may have missed events meanwhile)."""
        self.reconnect_listeners.append(listener)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run `closer` when the service stops, after its background tasks (e.g. to close HTTP clients)."""
        self.closers.append(closer)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in self.closers:
            with contextlib.suppress(Exception):
                await closer()
        if isinstance(self.clock, SandboxClock):
            await self.clock.stop()
        with contextlib.suppress(Exception):
            await self.nats.drain()
        await self.engine.dispose()


async def start_runtime(
    service: str,
    settings: ServiceSettings,
    migrations_dir: Path,
    *,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """Migrate the database, connect to NATS, ensure the streams and start the outbox relay."""
    await migrate(migrations_dir, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    listeners: list[Callable[[], Awaitable[None]]] = []

    async def reconnected() -> None:
        if on_reconnect:
            await on_reconnect()
        for listener in listeners:
            await listener()

    client = await nats_connection.connect(
        settings.nats_url, name=f"azotte-{service}", on_disconnect=on_disconnect, on_reconnect=reconnected
    )
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, service)
    await nats_connection.ensure_dead_letter_stream(js)
    if clock is None:
        clock = SystemClock()
        if settings.sandbox_clock:
            sandbox = SandboxClock()
            await sandbox.start(js)
            clock = sandbox
    runtime = Runtime(service, settings, engine, client, js, clock, reconnect_listeners=listeners)
    relay = OutboxRelay(
        engine, client, service, database_url=settings.database_url, batch_size=settings.relay_batch_size
    )
    runtime.spawn(relay.run)
    return runtime
