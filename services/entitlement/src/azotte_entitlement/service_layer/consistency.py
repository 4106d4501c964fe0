"""Read-your-writes: hold an access answer until this replica's projection has applied a token's writes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from azotte_entitlement.domain.consistency import parse_token, token_of
from azotte_entitlement.domain.projection import CustomerRef
from azotte_entitlement.errors import ConsistencyNotReached
from azotte_entitlement.ports import EntitlementUnitOfWork

# The inbox consumer under which this service's own writes are recorded, so tokens can name them.
OWN_WRITES = "entitlement-writes"
# Which of these lifecycle events are committed as handled (by any replica, before any restart).
HandledEvents = Callable[[frozenset[str]], Awaitable[set[str]]]
# Reload one customer's part of the projection from the database; False when a local change raced it.
ReloadCustomer = Callable[[CustomerRef], Awaitable[bool]]


class ConsistencyGate:
    """Remembers the lifecycle events this replica applied, and waits (bounded) for a token's events.

    NOTE: the consumer marks an event applied after its commit has reached the projection. An event this
    replica never saw (another replica consumed it, or it was applied before a restart) is found in the
    inbox table; the customer is then reloaded from the database, which already holds its effect. The
    inbox is asked first `first_ask_seconds` into the wait: a token usually arrives just before its event
    (a checkout asks right after lifecycle's commit), which then reaches this replica without a query.
    A check without a token never comes here.
    """

    def __init__(
        self,
        handled: HandledEvents,
        reload: ReloadCustomer,
        *,
        wait_seconds: float = 2.0,
        poll_seconds: float = 0.25,
        first_ask_seconds: float = 0.05,
        capacity: int = 100_000,
    ):
        self._handled = handled
        self._reload = reload
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._first_ask = min(first_ask_seconds, poll_seconds)
        self._capacity = capacity
        self._applied: OrderedDict[str, None] = OrderedDict()
        self._last = ""
        self._changed = asyncio.Event()

    def applied(self, event_id: str) -> None:
        """The projection now reflects this lifecycle event."""
        self._remember(event_id)
        self._last = event_id
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def position(self) -> str:
        """The token of the state the projection reflects now (the last lifecycle event applied)."""
        return token_of(self._last) if self._last else ""

    async def reach(self, customer: CustomerRef, token: str) -> None:
        """Return once the projection reflects every write `token` names, for `customer`;
        CONSISTENCY_NOT_REACHED after the wait."""
        wanted = parse_token(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        ask_store_at = loop.time() + self._first_ask
        while True:
            missing = wanted - self._applied.keys()
            if not missing:
                return
            if loop.time() >= ask_store_at:
                # NOTE: at most one inbox query per poll interval, however many events wake the wait.
                ask_store_at = loop.time() + self._poll
                if await self._handled(missing) >= missing and await self._reload(customer):
                    # NOTE: the reload read their effect; the next checks naming them need no query.
                    for event_id in missing:
                        self._remember(event_id)
                    return
            left = deadline - loop.time()
            if left <= 0:
                raise ConsistencyNotReached(
                    f"consistency_token: access has not reached this token within {self._wait:g} s; retry"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, max(ask_store_at - loop.time(), 0.001)))

    def _remember(self, event_id: str) -> None:
        self._applied[event_id] = None
        self._applied.move_to_end(event_id)
        if len(self._applied) > self._capacity:
            self._applied.popitem(last=False)


async def name_write(uow: EntitlementUnitOfWork, gate: ConsistencyGate, tenant_id: str) -> str:
    """The consistency token of this unit of work's write ("" when it publishes nothing).

    NOTE: one event names the whole transaction. It is recorded in the inbox under `OWN_WRITES` in the same
    transaction, so any replica finds it committed and reloads the customer; this replica marks it applied
    after its own projection update (registered earlier, so it runs first).
    """
    if not uow.recorded:
        return ""
    event_id = uow.recorded[0].id
    await uow.claim_event(OWN_WRITES, event_id, tenant_id)
    uow.after_commit(lambda: gate.applied(event_id))
    return token_of(event_id)
