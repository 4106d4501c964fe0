"""The scheduler of due work: claims due subscriptions, charges renewals, applies the results.

A batch is one tenant's due work, done in that tenant (`context.tenant_scope`): payments is asked in it,
and its time is that tenant's own (sandbox clocks are per tenant: a subscription is due by its tenant's now).
Safe with several replicas: a batch is claimed with `FOR UPDATE SKIP LOCKED` and held until its
commit. Safe across crashes: a crash before the commit rolls the batch back, and its renewals are
charged again under the same (subscription, period, attempt) key, which payments answers with
the first result, so nobody is charged twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte_lifecycle.domain.dunning import RenewalCharge, WorkKind
from azotte_lifecycle.domain.policy import LifecyclePolicy, TrialEndBehavior
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import LifecycleUnitOfWork, Payments, RenewalChargeRequest
from azotte_lifecycle.service_layer.subscriptions import save
from azotte_platform import context
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Work items run by a sweep, and items still due after it."""

    processed: int
    remaining: int


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """Batch size, batches run at once, how long unsettled work waits, and the longest idle sleep."""

    batch_size: int = 400
    parallel_batches: int = 2
    unsettled_delay: timedelta = timedelta(minutes=5)
    max_idle_seconds: float = 30.0
    error_backoff_seconds: float = 1.0


class Scheduler:
    """Runs due work in batches; `run_forever` sleeps until the next due time or a wake-up."""

    def __init__(
        self,
        uow_factory: Callable[[], LifecycleUnitOfWork],
        payments: Payments,
        clock: Clock,
        settings: SchedulerSettings | None = None,
    ):
        self._uow = uow_factory
        self._payments = payments
        self._clock = clock
        self._settings = settings or SchedulerSettings()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Make the background loop sweep now (clock moved, operator asked)."""
        self._wake.set()

    async def on_clock_change(self, tenant_id: str) -> None:
        """Listener for sandbox clock advances: sweep for work now due (the sweep covers every tenant)."""
        self.wake()

    async def sweep(self, tenant_id: str | None = None, limit: int = 0) -> SweepResult:
        """Run due work batch after batch until nothing is due (or `limit` items ran).

        `parallel_batches` batches run at once, so one batch's own work overlaps another's payments.
        """
        claimed = processed = 0

        async def work_off() -> None:
            nonlocal claimed, processed
            while limit <= 0 or claimed < limit:
                size = self._settings.batch_size if limit <= 0 else min(self._settings.batch_size, limit - claimed)
                claimed += size
                ran = await self.run_batch(size, tenant_id)
                claimed -= size - ran
                processed += ran
                if ran == 0:
                    return

        await asyncio.gather(*(work_off() for _ in range(self._settings.parallel_batches)))
        async with self._uow() as uow:
            remaining = await uow.subscriptions.count_due(tenant_times(self._clock), tenant_id)
        return SweepResult(processed, remaining)

    async def run_batch(self, size: int, tenant_id: str | None = None) -> int:
        """Claim up to `size` subscriptions of one tenant due by its now, settle them concurrently and commit once."""
        async with self._uow() as uow:
            subs = await uow.subscriptions.claim_due(tenant_times(self._clock), size, tenant_id)
            if not subs:
                return 0
            tenant = subs[0].tenant_id
            # NOTE: a batch holds one tenant's due work (claim_due): done in that tenant, on its clock.
            with context.tenant_scope(tenant):
                now = self._clock.now()
                policy = await uow.policies.get(tenant)
                settled = await self._settle(subs, [policy.for_plan(s.plan_id) for s in subs], now)
                await save(uow, *(s for s, ok in zip(subs, settled, strict=True) if ok))
                unsettled = [s for s, ok in zip(subs, settled, strict=True) if not ok]
                await uow.subscriptions.defer(unsettled, now + self._settings.unsettled_delay)
                await uow.commit()
            return len(subs)

    async def run_forever(self) -> None:
        """Sweep, then sleep until the next due time (by each tenant's now), a clock change or a wake-up."""
        while True:
            self._wake.clear()
            delay = self._settings.max_idle_seconds
            try:
                await self.sweep()
                async with self._uow() as uow:
                    due_in = await uow.subscriptions.next_due_in(tenant_times(self._clock))
                if due_in is not None:
                    delay = min(max(due_in.total_seconds(), 0.0), delay)
            except Exception:
                log.exception("due work sweep failed")
                delay = self._settings.error_backoff_seconds
            await wait_at_most(self._wake, delay)

    async def _settle(self, subs: list[Subscription], policies: list[LifecyclePolicy], now: datetime) -> list[bool]:
        """Do the subscriptions' due work, their renewals charged in one go; False leaves one unsettled."""
        prepared = await asyncio.gather(*(self._prepare(s, p, now) for s, p in zip(subs, policies, strict=True)))
        charges = [(index, step) for index, step in enumerate(prepared) if isinstance(step, RenewalCharge)]
        outcomes = await self._payments.charge_renewals([RenewalChargeRequest(subs[i], c) for i, c in charges])
        settled = [step is True for step in prepared]
        for (index, charge), outcome in zip(charges, outcomes, strict=True):
            if outcome is None:
                continue
            try:
                subs[index].apply_charge_result(charge, outcome, now, policies[index])
                settled[index] = True
            except Exception:
                log.exception("renewal result of subscription %s failed", subs[index].id)
        return settled

    async def _prepare(self, sub: Subscription, policy: LifecyclePolicy, now: datetime) -> bool | RenewalCharge:
        """Do the due work that charges nothing; the charge due otherwise (False: failed, retried later)."""
        work = sub.next_due_work()
        if work is None or not work.is_due(now):
            return True
        try:
            if not work.kind.charges:
                sub.apply_due_work(work, now, policy)
                return True
            if work.kind is WorkKind.TRIAL_END and await self._trial_expires(sub, policy):
                sub.end_trial_without_payment_method(now)
                return True
            return sub.renewal_charge()
        except Exception:
            log.exception("due %s of subscription %s failed", work.kind, sub.id)
            return False

    async def _trial_expires(self, sub: Subscription, policy: LifecyclePolicy) -> bool:
        if policy.trial_end_behavior is TrialEndBehavior.CONVERT:
            return False
        has_method = await self._payments.has_payment_method(sub.customer_id)
        return not policy.trial_end_charges(has_method)
