"""One suite for the fault tests, with short PSP timeouts and a quick reconciler; every fault leaves it whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningSuite, started_suite

FAULT_ENV = {
    # A timed-out PSP call is given up after 2 s (not 10 s), charges left open by a crash are picked up by the
    # reconciler within seconds instead of half a minute, and a renewal whose charge errored (payments down)
    # is tried again after 3 s instead of 5 minutes.
    "AZOTTE_PSP_TIMEOUT_S": "2",
    "AZOTTE_RECONCILE_INTERVAL_S": "1",
    "AZOTTE_RECONCILE_AFTER_S": "3",
    "AZOTTE_SCHEDULER_UNSETTLED_DELAY_S": "3",
}


@pytest.fixture(scope="session")
async def fault_suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSuite]:
    async with started_suite(Path(tmp_path_factory.mktemp("faults")), extra_env=FAULT_ENV) as running:
        yield running
