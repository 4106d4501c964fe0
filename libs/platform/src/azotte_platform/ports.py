"""The ports every service's use cases share: a unit of work and its idempotency store.

A service's own `ports.py` extends `AbstractUnitOfWork` with its repositories; its adapters implement
it over PostgreSQL (`azotte_platform.db.unit_of_work.UnitOfWork`), its unit tests with fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from azotte_platform.clock import Clock
from azotte_platform.events.envelope import Event


class IdempotencyPort(Protocol):
    """Request ids stored with the work they guard (AIP-155)."""

    async def begin(self, tenant_id: str, operation: str, request_id: str, digest: str) -> bytes | None:
        """Claim the request id; the stored answer if this request was already served."""
        ...

    async def complete(self, tenant_id: str, operation: str, request_id: str, response: bytes) -> None:
        """Store the answer to return to repeats."""
        ...


class AbstractUnitOfWork(Protocol):
    """One transaction: `async with uow:` then `commit()`; events emitted are published only if it commits."""

    clock: Clock

    @property
    def idempotency(self) -> IdempotencyPort: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @property
    def recorded(self) -> tuple[Event, ...]:
        """The events this unit of work will publish if it commits."""
        ...

    def emit(self, tenant_id: str, *facts: object) -> None:
        """Publish the domain events `facts` of `tenant_id` if, and only if, this unit of work commits."""
        ...

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Call `callback` once this unit of work has committed (never if it does not)."""
        ...

    async def claim_event(self, consumer: str, event_id: str, tenant_id: str) -> bool:
        """Mark an incoming event handled by `consumer`; False if it already was."""
        ...

    async def commit(self) -> None:
        """Make the changes and the recorded events durable together."""
        ...
