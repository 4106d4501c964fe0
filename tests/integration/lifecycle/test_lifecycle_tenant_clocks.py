"""Sandbox time is per tenant: one tenant advancing its clock a month renews only its own subscriptions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.adapters import proto
from azotte_lifecycle.adapters.unit_of_work import PostgresLifecycleUnitOfWork
from azotte_platform.clock import tenant_times
from tests.integration.lifecycle.conftest import T0, Service
from tests.integration.lifecycle.test_lifecycle_year import get, subscribe

MONTH = timedelta(days=31)


async def test_two_sandbox_tenants_one_advances_a_month_only_its_subscriptions_renew(service: Service) -> None:
    acme, globex = service, replace(service, metadata=(("x-azotte-tenant", "globex"),))
    acme_subs = [await subscribe(acme, "basic") for _ in range(2)]
    globex_subs = [await subscribe(globex, "basic") for _ in range(2)]

    service.clock.advance(MONTH, "acme")
    result = await service.lifecycle.scheduler.sweep()

    assert (result.processed, result.remaining) == (2, 0)
    assert [(await get(acme, s.id)).period_index for s in acme_subs] == [2, 2]
    assert [(await get(globex, s.id)).period_index for s in globex_subs] == [1, 1]
    assert set(service.payments.tenant_of.values()) == {"acme"}  # only acme was charged
    renewed = await acme.stub.GetSubscription(
        pb.GetSubscriptionRequest(subscription_id=acme_subs[0].id), metadata=acme.metadata
    )
    assert renewed.subscription.current_period_start_time.ToDatetime().date() == (T0 + MONTH).date()

    # the scheduler waits for globex's own due time (not busy: acme's clock is not globex's)
    async with PostgresLifecycleUnitOfWork(service.runtime.engine, "lifecycle", service.clock, proto.to_event) as uow:
        wait = await uow.subscriptions.next_due_in(tenant_times(service.clock))
    assert wait is not None and timedelta(days=27) < wait <= MONTH

    service.clock.advance(MONTH, "globex")  # globex catches up on its own clock
    assert (await service.lifecycle.scheduler.sweep()).processed == 2
    assert [(await get(globex, s.id)).period_index for s in globex_subs] == [2, 2]
    assert [(await get(acme, s.id)).period_index for s in acme_subs] == [2, 2]
