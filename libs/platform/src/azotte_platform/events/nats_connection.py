"""Connecting to NATS with JetStream, and the streams the suite uses."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from azotte_platform.events.envelope import DLQ_STREAM, service_subjects, stream_name

log = logging.getLogger(__name__)
DUPLICATE_WINDOW_SECONDS = 600
MAX_STREAM_REPLICAS = 5


def stream_replicas() -> int:
    """`AZOTTE_STREAM_REPLICAS`: how many JetStream servers keep each stream (1 to 5; 1 when unset).

    Every process that creates a stream reads it, so all of them ask for the same configuration.
    """
    raw = os.environ.get("AZOTTE_STREAM_REPLICAS", "1")
    replicas = int(raw) if raw.strip().isdigit() else 0
    if not 1 <= replicas <= MAX_STREAM_REPLICAS:
        raise ValueError(f"AZOTTE_STREAM_REPLICAS must be a whole number from 1 to {MAX_STREAM_REPLICAS}, not {raw!r}")
    return replicas


async def connect(
    url: str,
    *,
    name: str,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    connect_timeout: float = 60.0,
) -> Client:
    """Connect, retrying until NATS answers; once connected, reconnect forever."""

    async def disconnected() -> None:
        log.warning("nats disconnected")
        if on_disconnect:
            await on_disconnect()

    async def reconnected() -> None:
        log.info("nats reconnected")
        if on_reconnect:
            await on_reconnect()

    async for attempt in AsyncRetrying(
        stop=stop_after_delay(connect_timeout),
        wait=wait_exponential(multiplier=0.1, max=2),
        retry=retry_if_exception_type((OSError, nats.errors.NoServersError, nats.errors.TimeoutError)),
        reraise=True,
    ):
        with attempt:
            return await nats.connect(
                url,
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
            )
    raise AssertionError("unreachable")


async def ensure_stream(js: JetStreamContext, name: str, subjects: list[str]) -> None:
    """Create or update a file-backed stream with a de-duplication window, kept by `stream_replicas()` servers."""
    config = StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=stream_replicas(),
    )
    # NOTE: creating a stream with the same config is idempotent, so replicas may race here.
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_service_stream(js: JetStreamContext, service: str) -> None:
    """The stream holding everything `service` publishes."""
    await ensure_stream(js, stream_name(service), [service_subjects(service)])


async def ensure_dead_letter_stream(js: JetStreamContext) -> None:
    """The stream where consumers park events they could not handle."""
    await ensure_stream(js, DLQ_STREAM, ["azotte_dlq.>"])
