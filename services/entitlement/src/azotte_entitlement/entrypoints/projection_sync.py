"""Keeps this replica's access projection equal to the database, whichever replica made the change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from azotte_entitlement.domain.projection import AccessProjection, CustomerRef, CustomerState
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_platform.events.envelope import SUBJECT_HEADER, service_subjects, stream_name

log = logging.getLogger(__name__)
_APPLIED_HERE_CAPACITY = 100_000
"""The ids of this replica's own events remembered until their events arrive (they come within moments)."""


class ProjectionSync:
    """Loads the projection at start, then follows the service's own events on every replica, telling `changed`
    the customer each names.

    NOTE: the replica that commits a change applies it to its projection at once (and says so:
    `applied_here`); every other replica sees the change's event and reloads the customer it names from
    the database. Reloading, rather than replaying the payload, makes the outcome independent of the
    order in which events arrive: the last reload reads the last commit; a reload that raced with a
    local apply is discarded and repeated. A replica's own change was applied onto what its projection
    held; a change of another replica it had not seen yet reaches it by that change's event, whose reload
    reads both.
    """

    def __init__(
        self,
        uow_factory: Callable[[], EntitlementUnitOfWork],
        js: JetStreamContext,
        projection: AccessProjection,
        changed: Callable[[CustomerRef], None],
    ):
        self._uow = uow_factory
        self._js = js
        self._projection = projection
        self._changed = changed
        self._dirty: set[CustomerRef] = set()
        self._applied_here: OrderedDict[str, None] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._subscription: JetStreamContext.PushSubscription | None = None

    async def start(self) -> None:
        """Subscribe first (changes are buffered), then load every customer from the database."""
        self._subscription = await self._js.subscribe(
            service_subjects("entitlement"),
            stream=stream_name("entitlement"),
            cb=self._on_event,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )
        async with self._uow() as uow:
            states = await uow.access.load()
        for (tenant_id, customer_id), state in states.items():
            self._projection.replace_customer(tenant_id, customer_id, state)
        log.info("access projection loaded: %d customers", len(states))

    async def run(self) -> None:
        """Reload the customers named by events, in batches, until cancelled."""
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                dirty, self._dirty = self._dirty, set()
                try:
                    await self.reload(dirty)
                except Exception:
                    log.warning("could not reload %d customers; retrying", len(dirty), exc_info=True)
                    self._dirty |= dirty
                    await asyncio.sleep(0.5)
                    self._wakeup.set()
        finally:
            if self._subscription is not None:
                with contextlib.suppress(Exception):
                    await self._subscription.unsubscribe()

    async def reload(self, customers: set[CustomerRef]) -> None:
        """Replace these customers' part of the projection with their stored state."""
        if not customers:
            return
        revisions = {ref: self._projection.revision(*ref) for ref in customers}
        async with self._uow() as uow:
            states = await uow.access.load(customers)
        for ref, state in states.items():
            if self._projection.revision(*ref) != revisions[ref]:
                # NOTE: a local change landed while loading, so the loaded state may predate it: load again.
                self._dirty.add(ref)
                self._wakeup.set()
                continue
            self._projection.replace_customer(*ref, state)

    async def reload_customer(self, customer: CustomerRef) -> bool:
        """Replace one customer's part of the projection with their stored state now; False when a local
        change landed while loading (the loaded state may predate it)."""
        revision = self._projection.revision(*customer)
        async with self._uow() as uow:
            states = await uow.access.load({customer})
        if self._projection.revision(*customer) != revision:
            return False
        self._projection.replace_customer(*customer, states.get(customer, CustomerState()))
        return True

    def applied_here(self, event_ids: Iterable[str]) -> None:
        """This replica committed the events with these ids and applied their changes to its projection: their
        events need no reload here."""
        for event_id in event_ids:
            self._applied_here[event_id] = None
        while len(self._applied_here) > _APPLIED_HERE_CAPACITY:
            self._applied_here.popitem(last=False)

    async def _on_event(self, message: Msg) -> None:
        headers = message.headers or {}
        tenant_id, customer_id = headers.get("ce-tenantid", ""), headers.get(SUBJECT_HEADER, "")
        if tenant_id and customer_id:
            event_id = headers.get("ce-id", "")
            if event_id in self._applied_here:
                del self._applied_here[event_id]
            else:
                self._dirty.add((tenant_id, customer_id))
                self._wakeup.set()
            self._changed((tenant_id, customer_id))
