"""The price activation loop: announces each scheduled price once, when its tenant's clock passes its time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from azotte_catalog.domain.events import PriceActivated
from azotte_catalog.ports import CatalogUnitOfWork
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.due_work import DueWorker

log = logging.getLogger(__name__)


class PriceActivator(DueWorker):
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
        super().__init__(max_idle_seconds=max_idle_seconds, retry_seconds=retry_seconds)
        self._uow_factory = uow_factory
        self._clock = clock
        self._batch_size = batch_size

    async def work_due(self) -> int:
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
                if total:
                    log.info("activated %d price(s)", total)
                return total

    async def next_due_in(self) -> timedelta | None:
        async with self._uow_factory() as uow:
            return await uow.catalog.next_activation_in(tenant_times(self._clock))
