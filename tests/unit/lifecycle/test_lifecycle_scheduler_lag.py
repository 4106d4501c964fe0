"""The scheduler reports how long its oldest due work has waited: growing while sweeps fail, zero once run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client import REGISTRY

from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from tests.helpers import eventually
from tests.unit.lifecycle.conftest import UseCases


def lag() -> float | None:
    return REGISTRY.get_sample_value("azotte_scheduler_due_work_lag_seconds")


async def test_due_work_a_failing_sweep_leaves_shows_as_lag_until_a_sweep_runs_it(use_cases: UseCases, monkeypatch):
    sub = await use_cases.subscribe(checkout_minor=999)
    renews_at = sub.renewal_time
    use_cases.clock.advance(renews_at - use_cases.clock.now() + timedelta(hours=2))
    settings = SchedulerSettings(parallel_batches=1, error_backoff_seconds=0.01, max_idle_seconds=0.05)
    scheduler = Scheduler(lambda: use_cases.uow, use_cases.catalog, use_cases.payments, use_cases.clock, settings)

    async def database_away(*_: object, **__: object) -> None:
        raise ConnectionError("the database is away")

    monkeypatch.setattr(scheduler, "sweep", database_away)
    running = asyncio.create_task(scheduler.run_forever())
    try:

        async def lagging() -> bool:
            return (lag() or 0) >= 2 * 3600

        await eventually(lagging, within=5)
        monkeypatch.undo()
        scheduler.wake()

        async def caught_up() -> bool:
            return lag() == 0

        await eventually(caught_up, within=5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert use_cases.stored(sub).renewal_time > renews_at  # the renewal ran
