"""A replica killed in the middle of a spike: a suite with two lifecycle and two entitlement replicas and a
gateway of two workers takes a baseline, then a spike of checkouts and access checks, and one lifecycle replica
is SIGKILLed halfway through the spike and started again. Every checkout answered has exactly one subscription
and one charge, a retry of it answers the same subscription, and every buyer is entitled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from azotte_stack.processes import free_port
from azotte_stack.suite import Suite
from tests.perf.bench_premiere import Phase, premiere
from tests.perf.perf_suite import UNLIMITED
from tests.stack import running

# NOTE: what a spike may cost while a replica is down: the same request id retried after these.
RETRIED = {f"checkout {kind}" for kind in ("409", "502", "503", "504", "ReadError", "RemoteProtocolError")}


@pytest.fixture(scope="module")
async def replicated(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    suite = Suite(
        root=Path(tmp_path_factory.mktemp("premiere")),
        gateway_grpc_port=free_port(),
        gateway_rest_port=free_port(),
        fast_storage=True,
        extra_env=UNLIMITED,
        replicas={"entitlement": 2, "lifecycle": 2},
        gateway_workers=2,
        start_timeout=300,
    )
    async with running(suite):
        yield suite


async def test_a_lifecycle_replica_killed_mid_spike_loses_and_doubles_nothing(replicated: Suite) -> None:
    phases = [Phase("baseline", 4, 0.5, 10), Phase("spike", 10, 4, 100)]
    phases, findings = await premiere(replicated, phases, kill=True)
    assert findings == {}
    spike = phases[1]
    assert len(spike.checkouts) == 40
    assert len(spike.lags) == len(spike.checkouts)  # every buyer entitled
    assert set(spike.errors) <= RETRIED, spike.errors
    assert len(spike.access) == 1000
