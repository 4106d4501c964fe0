"""Background workers that do what is due by each tenant's clock, then sleep until the next thing comes due."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import timedelta

from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)
# NOTE: work that is due but claimed by another replica is left to it; look again shortly after.
MIN_WAIT_SECONDS = 0.1


class DueWorker(ABC):
    """Runs `work_due`, then sleeps until `next_due_in` (at most `max_idle_seconds`), a `wake()` or a sandbox clock
    move; after a failure it tries again in `retry_seconds`. Replicas run it side by side: `work_due` claims its work
    (e.g. `FOR UPDATE SKIP LOCKED`) so each item is done once."""

    def __init__(self, *, max_idle_seconds: float, retry_seconds: float):
        self._max_idle = max_idle_seconds
        self._retry = retry_seconds
        self._wakeup = asyncio.Event()

    @abstractmethod
    async def work_due(self) -> int:
        """Do everything due now; how many items were done (or attempted)."""

    @abstractmethod
    async def next_due_in(self) -> timedelta | None:
        """How long until the next item comes due; None when nothing is pending."""

    def wake(self) -> None:
        """Look for due work now (some was added, or a clock moved)."""
        self._wakeup.set()

    async def on_clock_change(self, tenant_id: str) -> None:
        """Listener for sandbox clock advances: the tenant's work may be due now (the sweep covers every tenant)."""
        self.wake()

    async def seconds_until_next(self) -> float:
        """How long the worker may sleep: until the next pending item, at most the idle bound."""
        upcoming = await self.next_due_in()
        if upcoming is None:
            return self._max_idle
        return min(max(upcoming.total_seconds(), MIN_WAIT_SECONDS), self._max_idle)

    async def run(self) -> None:
        """Do what is due, then wait for the next item, a wake-up or a clock move; forever."""
        while True:
            self._wakeup.clear()
            try:
                await self.work_due()
                delay = await self.seconds_until_next()
            except Exception:
                log.warning("%s failed; retrying", type(self).__name__, exc_info=True)
                delay = self._retry
            await wait_at_most(self._wakeup, delay)
