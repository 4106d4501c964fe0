"""The scheduler charges one tenant's due work per batch, in that tenant; tenants go in order of earliest due work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.ports import RenewalChargeRequest
from tests.integration.lifecycle.conftest import Service
from tests.integration.lifecycle.test_lifecycle_year import get, subscribe


async def test_a_batch_holds_one_tenant_and_the_earliest_due_tenant_goes_first(service: Service) -> None:
    acme, globex = service, replace(service, metadata=(("x-azotte-tenant", "globex"),))
    globex_subs = [await subscribe(globex, "basic") for _ in range(3)]
    service.clock.advance(timedelta(hours=1))
    acme_subs = [await subscribe(acme, "basic") for _ in range(2)]
    service.clock.advance(timedelta(days=31))

    batches: list[set[str]] = []
    charge_renewals = service.payments.charge_renewals

    async def recorded(requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        batches.append({request.subscription.tenant_id for request in requests})
        return await charge_renewals(requests)

    service.payments.charge_renewals = recorded  # type: ignore[method-assign]
    scheduler = service.lifecycle.scheduler
    assert await scheduler.run_batch(10) == 3
    assert [(await get(globex, s.id)).period_index for s in globex_subs] == [2, 2, 2]
    assert [(await get(acme, s.id)).period_index for s in acme_subs] == [1, 1]
    assert await scheduler.run_batch(10) == 2
    assert [(await get(acme, s.id)).period_index for s in acme_subs] == [2, 2]
    assert await scheduler.run_batch(10) == 0
    assert batches == [{"globex"}, {"acme"}]
    renewals = {
        f"lifecycle:renewal:{s.id}:2:0": tenant
        for tenant, subs in (("globex", globex_subs), ("acme", acme_subs))
        for s in subs
    }
    assert service.payments.tenant_of == renewals  # each charged in its own tenant
