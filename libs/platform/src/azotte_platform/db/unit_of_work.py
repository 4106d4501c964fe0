"""A unit of work: one transaction that commits business changes and their outbox events together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from azotte_platform.clock import Clock, now_of
from azotte_platform.db.bulk import as_arrays, insert_unnested
from azotte_platform.db.tables import inbox, outbox
from azotte_platform.errors import DatabaseUnavailable
from azotte_platform.events.envelope import SUBJECT_HEADER, Event, subject_for, trace_headers
from azotte_platform.idempotency import IdempotencyStore

log = logging.getLogger("azotte.db")
OUTBOX_CHANNEL = "azotte_outbox"
_OUTBOX_COLUMNS = ("id", "tenant_id", "subject", "type", "source", "time", "data_schema", "data", "headers")
# NOTE: the rows and the relay's wake-up in one statement (the notification is delivered at commit).
_WRITE_OUTBOX = sa.select(sa.func.pg_notify(OUTBOX_CHANNEL, sa.bindparam("service", type_=sa.Text))).add_cte(
    insert_unnested(outbox, _OUTBOX_COLUMNS).cte("written")
)
_INBOX_COLUMNS = ("consumer", "event_id", "tenant_id")
_CLAIM_EVENT = insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
_CLAIM_EVENTS = insert_unnested(inbox, _INBOX_COLUMNS).on_conflict_do_nothing().returning(inbox.c.event_id)


ToEvent = Callable[[str, Any], Event]


class UnitOfWork:
    """Opens a transaction on enter; `commit()` writes recorded events to the outbox in it.

    Leaving the block without `commit()` rolls everything back. Services subclass it to expose
    their repositories over `self.connection`, and pass `to_event`, their translation of a domain
    event into the event published (`adapters/proto.py`), so use cases `emit` domain events.
    """

    def __init__(self, engine: AsyncEngine, service: str, clock: Clock, to_event: ToEvent | None = None):
        self._engine = engine
        self.service = service
        self.clock = clock
        self._to_event = to_event
        self._connection: AsyncConnection | None = None
        self._events: list[Event] = []
        self._after_commit: list[Callable[[], object]] = []

    @property
    def connection(self) -> AsyncConnection:
        assert self._connection is not None, "use the unit of work in an `async with` block"
        return self._connection

    @property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.connection)

    async def __aenter__(self) -> Self:
        try:
            self._connection = await self._engine.connect()
        except OSError as error:  # NOTE: the driver lets a refused or reset connect through unwrapped.
            raise DatabaseUnavailable("the database cannot be reached; retry") from error
        await self._connection.begin()
        self._events = []
        self._after_commit = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
            await connection.close()
        except Exception:
            # NOTE: on a connection the database dropped, rolling back fails too; the transaction is gone
            # either way, and the error that ended the block (if any) is the one to report.
            if exc is None:
                raise
            log.debug("rollback after %r failed", exc, exc_info=True)

    def record(self, *events: Event) -> None:
        """Publish `events` if, and only if, this unit of work commits."""
        self._events.extend(events)

    @property
    def recorded(self) -> tuple[Event, ...]:
        """The events this unit of work will publish if it commits (e.g. to name them in the answer)."""
        return tuple(self._events)

    def emit(self, tenant_id: str, *facts: object) -> None:
        """Publish the domain events `facts` of `tenant_id`, translated by the service, if this unit of work commits."""
        assert self._to_event is not None, f"{self.service}'s unit of work was built without its to_event"
        self.record(*(self._to_event(tenant_id, fact) for fact in facts))

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call `callback` once this unit of work has committed (never if it does not), e.g. to drop a cache."""
        self._after_commit.append(callback)

    async def claim_event(self, consumer: str, event_id: str, tenant_id: str) -> bool:
        """Mark an incoming event handled by `consumer`; False if it already was (a redelivery)."""
        result = await self.connection.execute(
            _CLAIM_EVENT, {"consumer": consumer, "event_id": event_id, "tenant_id": tenant_id}
        )
        return result.first() is not None

    async def claim_events(self, consumer: str, events: Iterable[tuple[str, str]]) -> set[str]:
        """Mark incoming events, (event id, tenant id) each, handled by `consumer` in one statement; the ids of
        those that were not yet (the others are redeliveries).

        NOTE: the rows go in in event id order, so two transactions claiming some of the same events lock
        their inbox rows in the same order.
        """
        rows = [
            {"consumer": consumer, "event_id": event_id, "tenant_id": tenant_id}
            for event_id, tenant_id in sorted(dict(events).items())
        ]
        if not rows:
            return set()
        claimed = await self.connection.execute(_CLAIM_EVENTS, as_arrays(rows, _INBOX_COLUMNS))
        return set(claimed.scalars())

    async def commit(self) -> None:
        """Write the outbox rows and commit the transaction."""
        if self._events:
            rows = self._outbox_rows(self._events)
            await self.connection.execute(_WRITE_OUTBOX, {**as_arrays(rows, _OUTBOX_COLUMNS), "service": self.service})
            self._events = []
        await self.connection.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def _outbox_rows(self, events: list[Event]) -> list[dict[str, object]]:
        # NOTE: one trace context for every event of the transaction, and one time per tenant (its own clock).
        trace = trace_headers()
        times = {tenant: now_of(self.clock, tenant) for tenant in {event.tenant_id for event in events}}
        return [
            {
                "id": event.id,
                "tenant_id": event.tenant_id,
                "subject": subject_for(self.service, event.tenant_id, event.type),
                "type": event.type,
                "source": f"azotte/{self.service}",
                "time": times[event.tenant_id],
                "data_schema": event.payload.DESCRIPTOR.full_name,
                "data": event.payload.SerializeToString(deterministic=True),
                "headers": {**trace, SUBJECT_HEADER: event.about} if event.about else trace,
            }
            for event in events
        ]
