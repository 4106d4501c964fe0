"""Following another service's events on NATS core, for caches and projections on every replica."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg

from azotte_platform.events.envelope import ReceivedEvent, service_subjects

log = logging.getLogger(__name__)

EventListener = Callable[[ReceivedEvent], None]


async def follow_events(nats: Client, producer: str, on_event: EventListener) -> None:
    """Call `on_event` for every event `producer` publishes, for any tenant, until cancelled.

    NOTE: a plain (non-durable) subscription, so every replica gets every event; what a replica
    misses while NATS is unreachable must be covered by the follower (e.g. a cache's time-to-live).
    """

    async def deliver(message: Msg) -> None:
        try:
            event = ReceivedEvent.from_headers(message.subject, dict(message.headers or {}), message.data)
        except (KeyError, ValueError):
            log.warning("ignoring a message on %s that is not a CloudEvent", message.subject)
            return
        on_event(event)

    subscription = await nats.subscribe(service_subjects(producer), cb=deliver)
    try:
        await asyncio.Event().wait()
    finally:
        await subscription.unsubscribe()
