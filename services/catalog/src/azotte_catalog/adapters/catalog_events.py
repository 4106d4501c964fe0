"""Follows every catalog event on NATS core, so each replica learns of changes made by the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg

from azotte_platform.events.envelope import service_subjects

ChangeListener = Callable[[str, str], None]


async def follow_catalog_events(nats: Client, on_change: ChangeListener) -> None:
    """Call `on_change(tenant_id, event_type)` for every catalog event published, until cancelled.

    NOTE: a plain (non-durable) subscription, so every replica gets every event; what a replica
    misses while NATS is unreachable is covered by the cache's time-to-live.
    """

    async def deliver(message: Msg) -> None:
        tenant_id = message.subject.split(".")[1]
        event_type = (message.headers or {}).get("ce-type", "")
        on_change(tenant_id, event_type)

    subscription = await nats.subscribe(service_subjects("catalog"), cb=deliver)
    try:
        await asyncio.Event().wait()
    finally:
        await subscription.unsubscribe()
