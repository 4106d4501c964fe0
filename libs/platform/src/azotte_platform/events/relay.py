"""The outbox relay: publishes committed events to JetStream, pipelined, at least once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from nats.js.client import JetStreamContext
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import ReturningDelete

from azotte_platform.db.engine import asyncpg_dsn
from azotte_platform.db.tables import outbox
from azotte_platform.db.unit_of_work import OUTBOX_CHANNEL
from azotte_platform.events.envelope import binary_headers, trace_context, trace_headers, trace_recorded
from azotte_platform.telemetry import EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


def take_batch(batch_size: int) -> ReturningDelete[Any]:
    """Delete the oldest pending rows nobody else is publishing, returning them (undone on rollback).

    NOTE: the batch's keys are taken first, as one array, and then deleted by key. Written as
    `seq IN (subquery)`, the planner may join the subquery against a scan of the whole outbox once
    ANALYZE finds it small, and a take then costs seconds while the outbox grows behind it.
    """
    oldest = sa.select(outbox.c.seq).order_by(outbox.c.seq).limit(batch_size).with_for_update(skip_locked=True)
    return (
        sa.delete(outbox).where(outbox.c.seq == sa.any_(sa.func.array(oldest.scalar_subquery()))).returning(*outbox.c)
    )


# NOTE: one scan of a table the relay keeps near empty; the age counts from the event's `time` (the tenant's
# clock: an event of a sandbox tenant whose clock moved ahead counts as younger than it is).
_BACKLOG = sa.select(
    sa.func.count(), sa.func.coalesce(sa.extract("epoch", sa.func.now() - sa.func.min(outbox.c.time)), 0)
).select_from(outbox)


def _headers(row: Any) -> dict[str, str]:
    headers = binary_headers(
        event_id=row.id,
        event_type=row.type,
        source=row.source,
        tenant_id=row.tenant_id,
        time=row.time,
        data_schema=row.data_schema,
    )
    headers.update(row.headers)
    return headers


def _publish_span(row: Any, headers: dict[str, str]) -> trace.Span | None:
    """For an event whose trace is recorded: a span of its publication, a child of the span that wrote it, whose
    context the event then carries (so its consumers are children of the publication); None for any other event."""
    if not trace_recorded(headers):
        return None
    span = tracer.start_span(
        f"publish {row.type}",
        context=trace_context(headers),
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "send",
            "messaging.destination.name": row.subject,
            "messaging.message.id": row.id,
        },
    )
    headers.update(trace_headers(trace.set_span_in_context(span)))
    return span


class OutboxRelay:
    """Moves outbox rows to NATS in batches; every batch is published concurrently.

    NOTE: a batch's rows are deleted in a transaction that commits only after JetStream acknowledged
    all of them, so a crash or a NATS outage means a re-publish, which the stream drops by `Nats-Msg-Id`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        service: str,
        *,
        database_url: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        measure_interval: float = 10.0,
    ):
        self._engine = engine
        self._js = js
        self._service = service
        self._dsn = asyncpg_dsn(database_url)
        self._batch_size = batch_size
        self._take_batch = take_batch(batch_size)
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._measure_interval = measure_interval
        self._pending = OUTBOX_PENDING.labels(service)
        self._oldest_age = OUTBOX_OLDEST_AGE.labels(service)
        self._wakeup = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish up to one batch of pending events; return how many were published."""
        async with self._engine.begin() as conn:
            rows = sorted((await conn.execute(self._take_batch)).all(), key=lambda row: row.seq)
            if not rows:
                return 0
            await self._publish_all(rows)
        EVENTS_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def measure_backlog(self) -> tuple[int, float]:
        """Set the outbox gauges: events not yet published, and the oldest one's age in seconds; return both."""
        async with self._engine.connect() as conn:
            count, age = (await conn.execute(_BACKLOG)).one()
        pending, oldest = int(count), max(float(age), 0.0)
        self._pending.set(pending)
        self._oldest_age.set(oldest)
        return pending, oldest

    async def _publish_all(self, rows: Sequence[Any]) -> None:
        """Send every row, then wait for all their acknowledgements at once."""
        acks, spans = [], []
        for row in rows:
            headers = _headers(row)
            if (span := _publish_span(row, headers)) is not None:
                spans.append(span)
            acks.append(await self._js.publish_async(row.subject, bytes(row.data), headers=headers))
        try:
            async with asyncio.timeout(self._publish_timeout):
                await asyncio.gather(*acks)
        except Exception as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(trace.StatusCode.ERROR)
            raise
        finally:
            for ack in acks:
                ack.cancel()
            for span in spans:
                span.end()

    async def run(self) -> None:
        """Relay forever: drain, then wait for a commit notification or the poll interval."""
        listener = asyncio.create_task(self._listen())
        measurer = asyncio.create_task(self._measure())
        backoff = 0.1
        try:
            while True:
                try:
                    published = await self.publish_batch()
                    backoff = 0.1
                except Exception:
                    log.warning("outbox relay could not publish; retrying", exc_info=True)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self._batch_size:
                    await wait_at_most(self._wakeup, self._poll_interval)
                    self._wakeup.clear()
        finally:
            for task in (listener, measurer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _measure(self) -> None:
        """Sample the backlog every `measure_interval`, publishing or not (a stalled relay shows as a growing age)."""
        while True:
            try:
                await self.measure_backlog()
            except Exception:
                log.warning("outbox backlog not measured", exc_info=True)
            await asyncio.sleep(self._measure_interval)

    async def _listen(self) -> None:
        """Wake the relay as soon as a transaction with events commits (LISTEN/NOTIFY)."""
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wakeup.set())
                    await asyncio.Future()
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1.0)
