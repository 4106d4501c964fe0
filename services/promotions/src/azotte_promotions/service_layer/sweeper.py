"""The background sweep that releases reservations nobody confirmed or released within their TTL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from azotte_platform.waiting import wait_at_most
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.redemptions import release_expired

log = logging.getLogger(__name__)


class ReservationSweeper:
    """Every `interval_s` (or when a sandbox clock moves), releases timed-out reservations in batches."""

    def __init__(self, uow: Callable[[], PromotionsUnitOfWork], interval_s: float, batch: int):
        self._uow = uow
        self._interval_s = interval_s
        self._batch = batch
        self._wake = asyncio.Event()

    async def sweep(self) -> int:
        """Release every reservation past its expiry now; how many."""
        released = 0
        while True:
            count = await release_expired(self._uow, self._batch)
            released += count
            if count < self._batch:
                return released

    async def on_clock_change(self, tenant_id: str) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                released = await self.sweep()
                if released:
                    log.info("released %d timed-out reservations", released)
            except Exception:
                log.exception("reservation sweep failed")
            await wait_at_most(self._wake, self._interval_s)
