"""Dropping the dedup ids of events received more than `DEDUP_RETENTION` ago, in batches, every interval.

NOTE: an event more than 35 days old is rejected whatever its id, so ids kept 36 days (by the base time, which
no sandbox clock is behind) cover every event that could still be accepted: nothing is ever counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from azotte_metering.domain.ingestion import LATE_LIMIT
from azotte_metering.ports import MeteringUnitOfWork
from azotte_platform.clock import Clock, shared_now

log = logging.getLogger(__name__)

DEDUP_RETENTION = LATE_LIMIT + timedelta(days=1)


async def forget_old_ids(uow: Callable[[], MeteringUnitOfWork], clock: Clock, batch: int) -> int:
    """Drop every dedup id past its retention now, `batch` per transaction; how many."""
    cutoff = shared_now(clock) - DEDUP_RETENTION
    forgotten = 0
    while True:
        async with uow() as unit:
            count = await unit.usage.forget_ids(cutoff, batch)
            await unit.commit()
        forgotten += count
        if count < batch:
            return forgotten


class DedupSweeper:
    """Every `interval_s`, drops the dedup ids past their retention."""

    def __init__(self, uow: Callable[[], MeteringUnitOfWork], clock: Clock, interval_s: float, batch: int):
        self._uow = uow
        self._clock = clock
        self._interval_s = interval_s
        self._batch = batch

    async def run_forever(self) -> None:
        while True:
            try:
                forgotten = await forget_old_ids(self._uow, self._clock, self._batch)
                if forgotten:
                    log.info("forgot %d dedup ids past their retention", forgotten)
            except Exception:
                log.exception("the dedup sweep failed")
            await asyncio.sleep(self._interval_s)
