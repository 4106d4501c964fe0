"""A scheduler killed mid-batch, after charging but before committing, never charges or renews twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from azotte.common.v1 import subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from tests.helpers import eventually
from tests.integration.lifecycle.conftest import Service
from tests.integration.lifecycle.test_lifecycle_year import get, subscribe


async def test_a_sweep_cancelled_after_charges_renews_each_subscription_once(service: Service) -> None:
    svc = service
    subs = [await subscribe(svc, "basic") for _ in range(30)]
    svc.clock.advance(timedelta(days=31))
    svc.payments.gate = asyncio.Event()  # charges happen, answers are held back: the batch cannot commit
    crashed = asyncio.create_task(svc.lifecycle.scheduler.sweep())

    async def all_charged() -> bool:
        return len(svc.payments.charged) == len(subs)

    await eventually(all_charged)
    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert [(await get(svc, s.id)).period_index for s in subs] == [1] * len(subs)

    svc.payments.gate = None
    result = await svc.lifecycle.scheduler.sweep()
    assert (result.processed, result.remaining) == (len(subs), 0)
    for s in subs:
        sub = await get(svc, s.id)
        assert (sub.state, sub.period_index) == (subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE, 2)
        history = await svc.stub.ListSubscriptionHistory(
            pb.ListSubscriptionHistoryRequest(subscription_id=s.id), metadata=svc.metadata
        )
        assert [e.event_type for e in history.entries].count("subscription.renewed") == 1
    assert set(svc.payments.charged.values()) == {1}  # every key charged once...
    assert set(svc.payments.calls.values()) == {2}  # ...though asked twice
