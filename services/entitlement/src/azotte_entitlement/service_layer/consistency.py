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
    Then it is asked every `poll_seconds`, and at once whenever another replica's change to the customer
    reaches this one (`changed_elsewhere`): the change that event made is usually what the check waits for.
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
        # Per customer with checks waiting: how many wait, and how many changes elsewhere have reached it.
        self._waiting: dict[CustomerRef, int] = {}
        self._changes: dict[CustomerRef, int] = {}

    def applied(self, event_id: str) -> None:
        """The projection now reflects this lifecycle event."""
        self._remember(event_id)
        self._last = event_id
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def changed_elsewhere(self, customer: CustomerRef) -> None:
        """A change to `customer`'s access committed by any replica reached this one: its checks ask the store now."""
        if customer in self._waiting:
            self._changes[customer] += 1
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    def position(self) -> str:
        """The token of the state the projection reflects now (the last lifecycle event applied)."""
        return token_of(self._last) if self._last else ""

    async def reach(self, customer: CustomerRef, token: str) -> None:
        """Return once the projection reflects every write `token` names, for `customer`;
        CONSISTENCY_NOT_REACHED after the wait."""
        wanted = parse_token(token)
        if not wanted - self._applied.keys():
            return
        self._waiting[customer] = self._waiting.get(customer, 0) + 1
        self._changes.setdefault(customer, 0)
        try:
            await self._wait_for(customer, wanted)
        finally:
            self._waiting[customer] -= 1
            if not self._waiting[customer]:
                del self._waiting[customer], self._changes[customer]

    async def _wait_for(self, customer: CustomerRef, wanted: frozenset[str]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        scheduled = loop.time() + self._first_ask  # the next regular inbox query
        changes = self._changes[customer]
        ask_now = False
        while True:
            missing = wanted - self._applied.keys()
            if not missing:
                return
            if self._changes[customer] != changes:
                changes, ask_now = self._changes[customer], True
            if ask_now or loop.time() >= scheduled:
                # NOTE: one inbox query per poll interval and one per change elsewhere to the customer, however
                # many events wake the wait.
                if not ask_now:
                    scheduled = loop.time() + self._poll
                ask_now = False
                if await self._handled(missing) >= missing:
                    if await self._reload(customer):
                        # NOTE: the reload read their effect; the next checks naming them need no query.
                        for event_id in missing:
                            self._remember(event_id)
                        return
                    ask_now = True  # a change landed while loading (the sync's own reload): load again
            left = deadline - loop.time()
            if left <= 0:
                raise ConsistencyNotReached(
                    f"consistency_token: access has not reached this token within {self._wait:g} s; retry"
                )
            if not ask_now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=min(left, max(scheduled - loop.time(), 0.001)))

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
