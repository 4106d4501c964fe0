"""The price activation loop: announces each scheduled price once, when its tenant's clock passes its time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from azotte_catalog.domain.events import PriceActivated
from azotte_catalog.ports import CatalogUnitOfWork
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)
# NOTE: a due price locked by another replica is left to it; look again shortly after.
MIN_WAIT_SECONDS = 0.1


class PriceActivator:
    """Records `price.activated` for every price whose effective time has passed, exactly once.

    NOTE: a price is claimed with FOR UPDATE SKIP LOCKED and marked activated in the same
    transaction as its outbox event, so replicas running this loop side by side never double-emit.
    """

    def __init__(
        self,
        uow_factory: Callable[[], CatalogUnitOfWork],
        clock: Clock,
        *,
        batch_size: int = 100,
        max_idle_seconds: float = 60.0,
        retry_seconds: float = 5.0,
    ):
        self._uow_factory = uow_factory
        self._clock = clock
        self._batch_size = batch_size
        self._max_idle = max_idle_seconds
        self._retry = retry_seconds
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Look for due prices now (the clock moved, or a price was scheduled)."""
        self._wakeup.set()

    async def on_clock_change(self, tenant_id: str) -> None:
        """Listener for sandbox clock advances: look for prices now due (the sweep covers every tenant)."""
        self.wake()

    async def activate_due(self) -> int:
        """Activate every price due by its tenant's now; return how many were activated."""
        total = 0
        while True:
            async with self._uow_factory() as uow:
                times = tenant_times(self._clock)
                due = await uow.catalog.claim_due_prices(times, self._batch_size)
                for item in due:
                    previous = await uow.catalog.previous_version(item.tenant_id, item.price)
                    await uow.catalog.mark_activated(item.tenant_id, item.price.id, times.of(item.tenant_id))
                    uow.emit(item.tenant_id, PriceActivated(item.price, previous))
                await uow.commit()
            total += len(due)
            if len(due) < self._batch_size:
                return total

    async def seconds_until_next(self) -> float:
        """How long the loop may sleep: until the next pending price, at most the idle bound."""
        async with self._uow_factory() as uow:
            upcoming = await uow.catalog.next_activation_in(tenant_times(self._clock))
        if upcoming is None:
            return self._max_idle
        return min(max(upcoming.total_seconds(), MIN_WAIT_SECONDS), self._max_idle)

    async def run(self) -> None:
        """Activate due prices, then wait for the next one, a clock move or a new price; forever."""
        while True:
            self._wakeup.clear()
            try:
                activated = await self.activate_due()
                if activated:
                    log.info("activated %d price(s)", activated)
                delay = await self.seconds_until_next()
            except Exception:
                log.warning("price activation failed; retrying", exc_info=True)
                delay = self._retry
            await wait_at_most(self._wakeup, delay)
