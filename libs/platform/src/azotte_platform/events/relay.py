"""The outbox relay: publishes committed events to JetStream, pipelined, at least once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from asyncpg.transaction import Transaction
from nats.aio.client import Client
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import ReturningDelete

from azotte_platform.db.engine import asyncpg_dsn
from azotte_platform.db.tables import outbox
from azotte_platform.db.unit_of_work import OUTBOX_CHANNEL
from azotte_platform.events.envelope import binary_headers, trace_context, trace_headers, trace_recorded
from azotte_platform.events.publisher import BatchPublisher, SentBatch
from azotte_platform.telemetry import EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)
OutboxRow = asyncpg.Record | Mapping[Any, Any]
"""An outbox row by column name."""
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


def event_headers(row: OutboxRow) -> dict[str, str]:
    """The NATS headers of an outbox row: its CloudEvents attributes, de-duplication id and recorded headers."""
    headers = binary_headers(
        event_id=str(row["id"]),
        event_type=row["type"],
        source=row["source"],
        tenant_id=row["tenant_id"],
        time=row["time"],
        data_schema=row["data_schema"],
    )
    headers.update(row["headers"])
    return headers


def _publish_span(row: OutboxRow, headers: dict[str, str]) -> trace.Span | None:
    """For an event whose trace is recorded: a span of its publication, a child of the span that wrote it, whose
    context the event then carries (so its consumers are children of the publication); None for any other event."""
    if not trace_recorded(headers):
        return None
    span = tracer.start_span(
        f"publish {row['type']}",
        context=trace_context(headers),
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "send",
            "messaging.destination.name": row["subject"],
            "messaging.message.id": str(row["id"]),
        },
    )
    headers.update(trace_headers(trace.set_span_in_context(span)))
    return span


def _end(spans: list[trace.Span], error: BaseException | None = None) -> None:
    """End publication spans, marked failed by `error` if given."""
    for span in spans:
        if error is not None:
            span.record_exception(error)
            span.set_status(trace.StatusCode.ERROR)
        span.end()


@dataclass
class _Claim:
    """Outbox rows deleted by a transaction of their own, left open until JetStream has them or they are given back.

    NOTE: the take runs on the pooled connection's asyncpg driver, its rows decoded by asyncpg alone (SQLAlchemy's
    row processing costs more than the rest of the relay's own work); the transaction is the driver's too, so every
    claim ends in `commit()` or `give_back()`.
    """

    connection: AsyncConnection
    transaction: Transaction
    rows: list[asyncpg.Record]

    async def commit(self) -> None:
        await self.transaction.commit()
        await self.connection.close()

    async def give_back(self) -> None:
        """Roll back; a connection that cannot roll back is discarded instead (ending its session undoes the take).

        NOTE: a rollback that fails (e.g. after a commit was cancelled half-way) is not an error of its own: the
        discarded connection gives the rows back all the same, and raising here would mask the error being handled.
        """
        try:
            await self.transaction.rollback()
        except Exception:
            await self.connection.invalidate()
        except BaseException:
            await self.connection.invalidate()
            raise
        finally:
            await self.connection.close()


async def _give_back(taking: asyncio.Task[_Claim | None]) -> None:
    """Stop a take, giving back the rows it took, if any."""
    taking.cancel()
    await asyncio.wait([taking])
    if not taking.cancelled() and taking.exception() is None and (claim := taking.result()) is not None:
        await claim.give_back()


@dataclass
class _Batch:
    """A batch sent to JetStream whose rows its open transaction has deleted, not yet committed."""

    claim: _Claim
    sent: SentBatch
    spans: list[trace.Span]


class OutboxRelay:
    """Moves outbox rows to NATS: batches taken in `seq` order, several in flight at once.

    NOTE: each batch's rows are deleted in a transaction of its own that commits only after JetStream
    acknowledged all of them, so a crash or a NATS outage means a re-publish, which the stream drops by
    `Nats-Msg-Id`. While a batch awaits its acknowledgements its rows stay locked, so the next batch (of this
    relay or of another replica) skips them. One relay sends its batches in `seq` order on one connection and
    commits them in that order; a failure abandons every batch in flight, so their rows are sent again in order.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        client: Client,
        service: str,
        *,
        database_url: str,
        batch_size: int = 500,
        batches_in_flight: int = 3,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        measure_interval: float = 10.0,
    ):
        self._engine = engine
        self._publisher = BatchPublisher(client)
        self._service = service
        self._dsn = asyncpg_dsn(database_url)
        self._batch_size = batch_size
        self._batches_in_flight = batches_in_flight
        self._take_sql = str(take_batch(batch_size).compile(dialect=engine.dialect))
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._measure_interval = measure_interval
        self._published = EVENTS_PUBLISHED.labels(service)
        self._pending = OUTBOX_PENDING.labels(service)
        self._oldest_age = OUTBOX_OLDEST_AGE.labels(service)
        self._wakeup = asyncio.Event()

    async def publish_pending(self) -> int:
        """Publish every pending event, up to `batches_in_flight` batches at a time; return how many.

        The next batch is taken while the last one is sent, and each is committed once acknowledged.
        """
        in_flight: deque[_Batch] = deque()
        published = 0
        taking: asyncio.Task[_Claim | None] | None = asyncio.create_task(self._take())
        try:
            while taking is not None or in_flight:
                if taking is not None and len(in_flight) < self._batches_in_flight:
                    claim, taking = await taking, None
                    if claim is not None:
                        if len(claim.rows) == self._batch_size:
                            taking = asyncio.create_task(self._take())
                        in_flight.append(await self._send(claim))
                else:
                    await self._confirm(in_flight[0])
                    published += in_flight.popleft().sent.size
        except BaseException as error:
            if taking is not None:
                await _give_back(taking)
            for batch in in_flight:
                await self._abandon(batch, error)
            raise
        return published

    async def measure_backlog(self) -> tuple[int, float]:
        """Set the outbox gauges: events not yet published, and the oldest one's age in seconds; return both."""
        async with self._engine.connect() as conn:
            count, age = (await conn.execute(_BACKLOG)).one()
        pending, oldest = int(count), max(float(age), 0.0)
        self._pending.set(pending)
        self._oldest_age.set(oldest)
        return pending, oldest

    async def _take(self) -> _Claim | None:
        """Delete the oldest pending rows in a new transaction, left open; None when there are none."""
        connection = await self._engine.connect()
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None, "a pooled connection has its driver's"
            claim = _Claim(connection, driver.transaction(), [])
        except BaseException:
            await connection.close()
            raise
        try:
            await claim.transaction.start()
            claim.rows = sorted(await driver.fetch(self._take_sql, self._batch_size), key=lambda row: row["seq"])
        except BaseException:
            await claim.give_back()
            raise
        if not claim.rows:
            await claim.give_back()
            return None
        return claim

    async def _send(self, claim: _Claim) -> _Batch:
        """Send the rows claimed; on failure give them back."""
        messages, spans = [], []
        try:
            for row in claim.rows:
                headers = event_headers(row)
                if (span := _publish_span(row, headers)) is not None:
                    spans.append(span)
                messages.append((row["subject"], row["data"], headers))
            return _Batch(claim, await self._publisher.send(messages), spans)
        except BaseException as error:
            _end(spans, error)
            await claim.give_back()
            raise

    async def _confirm(self, batch: _Batch) -> None:
        """Wait for the batch's acknowledgements, then commit the deletion of its rows."""
        await batch.sent.acknowledged(self._publish_timeout)
        await batch.claim.commit()
        _end(batch.spans)
        self._published.inc(batch.sent.size)

    async def _abandon(self, batch: _Batch, error: BaseException) -> None:
        """Give the batch's rows back and mark its spans failed."""
        self._publisher.forget(batch.sent)
        _end(batch.spans, error)
        await batch.claim.give_back()

    async def run(self) -> None:
        """Relay forever: drain, then wait for a commit notification or the poll interval."""
        listener = asyncio.create_task(self._listen())
        measurer = asyncio.create_task(self._measure())
        backoff = 0.1
        try:
            while True:
                try:
                    await self.publish_pending()
                    backoff = 0.1
                except Exception:
                    log.warning("outbox relay could not publish; retrying", exc_info=True)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
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
