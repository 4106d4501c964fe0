"""In-memory stand-ins for the platform's ports, for use-case tests that run without PostgreSQL.

A service's fake unit of work subclasses `FakeUnitOfWork` and adds its fake repositories
(cosmicpython's pattern): `committed` tells whether the use case committed, `events` what it published.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import ToEvent
from azotte_platform.errors import RequestIdReused
from azotte_platform.events.envelope import Event
from azotte_platform.idempotency import REUSED_MESSAGE
from azotte_platform.request_ids import require_request_id


class InMemoryIdempotency:
    """Request ids and their answers, kept across units of work of one test."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], tuple[str, bytes | None]] = {}

    async def begin(self, tenant_id: str, operation: str, request_id: str, digest: str) -> bytes | None:
        require_request_id(request_id)
        key = (tenant_id, operation, request_id)
        if key not in self.answers:
            self.answers[key] = (digest, None)
            return None
        stored_digest, answer = self.answers[key]
        if stored_digest != digest:
            raise RequestIdReused(REUSED_MESSAGE)
        return answer or b""

    async def complete(self, tenant_id: str, operation: str, request_id: str, response: bytes) -> None:
        key = (tenant_id, operation, request_id)
        self.answers[key] = (self.answers[key][0], response)


class FakeUnitOfWork:
    """A unit of work over memory: events emitted are published on commit, dropped otherwise.

    `to_event` is the service's own translation of its domain events (its `adapters/proto.py`), so
    `published` holds what the outbox would.
    """

    def __init__(self, clock: Clock, idempotency: InMemoryIdempotency | None = None, to_event: ToEvent | None = None):
        self.clock = clock
        self._idempotency = idempotency or InMemoryIdempotency()
        self._to_event = to_event
        self.committed = False
        self.published: list[Event] = []
        self.handled: set[tuple[str, str]] = set()
        self._pending: list[Event] = []
        self._after_commit: list[Callable[[], object]] = []

    @property
    def idempotency(self) -> InMemoryIdempotency:
        return self._idempotency

    async def __aenter__(self) -> Self:
        self.committed = False
        self._pending = []
        self._after_commit = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pending = []
        self._after_commit = []

    @property
    def recorded(self) -> tuple[Event, ...]:
        return tuple(self._pending)

    def emit(self, tenant_id: str, *facts: object) -> None:
        assert self._to_event is not None, "pass the service's to_event to the fake unit of work"
        self._pending.extend(self._to_event(tenant_id, fact) for fact in facts)

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after_commit.append(callback)

    async def claim_event(self, consumer: str, event_id: str, tenant_id: str) -> bool:
        if (consumer, event_id) in self.handled:
            return False
        self.handled.add((consumer, event_id))
        return True

    async def commit(self) -> None:
        self.published.extend(self._pending)
        self._pending = []
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def published_types(self) -> list[str]:
        """The types of the events published so far, in order."""
        return [event.type for event in self.published]
