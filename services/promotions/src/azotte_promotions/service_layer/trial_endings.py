"""Trials about to end: kept from lifecycle's trial events until they convert or expire, and swept so that each
trial-ending campaign judges each trial once, `days_before_trial_end` days before its end (by its tenant's now)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from azotte_platform import context
from azotte_platform.clock import tenant_times
from azotte_platform.waiting import wait_at_most
from azotte_promotions.domain.campaigns import TrialEnding
from azotte_promotions.ports import PromotionsUnitOfWork, TrialExtensions
from azotte_promotions.service_layer.campaigns import react

log = logging.getLogger(__name__)


async def note(uow: PromotionsUnitOfWork, ending: TrialEnding) -> None:
    """A trial started or was extended: campaigns await its (new) end."""
    await uow.campaigns.note_trial_ending(ending)


async def forget(uow: PromotionsUnitOfWork, tenant: str, subscription_id: str) -> None:
    """The trial converted or expired: its end is past."""
    await uow.campaigns.forget_trial_ending(tenant, subscription_id)


async def remind_due(uow_factory: Callable[[], PromotionsUnitOfWork], trials: TrialExtensions, limit: int) -> int:
    """Let every trial-ending campaign due for a trial judge it (an offer or not); how many trials were judged."""
    async with uow_factory() as uow:
        due = await uow.campaigns.due_trial_endings(tenant_times(uow.clock), limit)
        for ending, campaign_ids in due:
            # NOTE: each trial in its own tenant, on its own clock (lifecycle is called in that tenant).
            with context.tenant_scope(ending.tenant_id):
                moment = ending.moment(uow.clock.now())
                await react(uow, ending.tenant_id, moment, trials, only=campaign_ids)
            await uow.campaigns.judged_trial_ending(ending.tenant_id, ending.subscription_id, campaign_ids)
        await uow.commit()
        return len(due)


class TrialEndingSweeper:
    """Every `interval_s` (or when a sandbox clock moves), lets due trial-ending campaigns judge their trials."""

    def __init__(self, uow: Callable[[], PromotionsUnitOfWork], trials: TrialExtensions, interval_s: float, batch: int):
        self._uow = uow
        self._trials = trials
        self._interval_s = interval_s
        self._batch = batch
        self._wake = asyncio.Event()

    async def sweep(self) -> int:
        """Judge every due trial now; how many."""
        judged = 0
        while True:
            count = await remind_due(self._uow, self._trials, self._batch)
            judged += count
            if count < self._batch:
                return judged

    async def on_clock_change(self, tenant_id: str) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("trial-ending sweep failed")
            await wait_at_most(self._wake, self._interval_s)
