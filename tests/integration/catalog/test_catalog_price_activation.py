"""A price scheduled ahead activates by itself once the clock passes it, exactly once across replicas."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import events_pb2
from azotte_platform.clock import now_of
from azotte_platform.db.tables import outbox
from tests.helpers import eventually
from tests.integration.catalog.catalog_support import CatalogHarness, TenantStub, seed, start_catalog, stream_events


def stamp(value: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(value)
    return result


async def activations(catalog: CatalogHarness, tenant: TenantStub) -> dict[str, int]:
    """How many price.activated events each price id has on the stream, once the outbox is drained."""
    async with catalog.runtime.engine.connect() as conn:
        pending = await conn.scalar(sa.select(sa.func.count()).where(outbox.c.tenant_id == tenant.tenant_id))
    assert pending == 0, "events still waiting in the outbox"
    counts: dict[str, int] = {}
    for event in await stream_events(catalog.runtime, tenant.tenant_id, "price.activated"):
        price_id = event.payload(events_pb2.PriceActivated).price.id
        counts[price_id] = counts.get(price_id, 0) + 1
    return counts


async def resolve(tenant: TenantStub, started: datetime | None = None) -> int:
    request = pb.ResolvePriceRequest(plan_id="premium", storefront_id="us")
    if started is not None:
        request.subscription_start_time.CopyFrom(stamp(started))
    answer: pb.ResolvePriceResponse = await tenant.ResolvePrice(request)
    return answer.amount.amount_minor


async def test_a_grandfathered_price_change_activates_when_the_clock_passes_it(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    await seed(tenant)
    (first_price,) = (await tenant.ListPrices(pb.ListPricesRequest(plan_id="premium"))).prices
    old_subscriber_start = catalog.clock.now()
    takes_effect = old_subscriber_start + timedelta(hours=1)
    scheduled = await tenant.SchedulePrice(
        pb.SchedulePriceRequest(
            plan_id="premium",
            storefront_id="us",
            amount_minor=1499,
            effective_time=stamp(takes_effect),
            existing_subscribers=pb.EXISTING_SUBSCRIBERS_GRANDFATHERED,
            request_id="raise",
        )
    )
    new_price = scheduled.price.id
    assert await resolve(tenant) == 1299
    now_sold = pb.ResolvePriceRequest(plan_id="premium", storefront_id="us")
    assert (await tenant.ResolvePrice(now_sold)).next_change_time.ToDatetime(tzinfo=UTC) == takes_effect

    catalog.clock.advance(timedelta(hours=2))
    catalog.service.activator.wake()

    async def activated_once() -> bool:
        return (await activations(catalog, tenant)).get(new_price) == 1

    await eventually(activated_once)
    event = next(
        e
        for e in await stream_events(catalog.runtime, tenant.tenant_id, "price.activated")
        if e.payload(events_pb2.PriceActivated).price.id == new_price
    )
    assert event.payload(events_pb2.PriceActivated).previous_price_id == first_price.id
    assert await resolve(tenant) == 1499
    assert not (await tenant.ResolvePrice(now_sold)).HasField("next_change_time")  # no later version scheduled
    assert await resolve(tenant, started=old_subscriber_start) == 1299
    assert await resolve(tenant, started=takes_effect + timedelta(minutes=5)) == 1499

    assert await catalog.service.activator.work_due() == 0
    assert (await activations(catalog, tenant))[new_price] == 1


async def test_an_at_next_renewal_change_reaches_existing_subscribers(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    await seed(tenant)
    subscriber_start = catalog.clock.now()
    await tenant.SchedulePrice(
        pb.SchedulePriceRequest(
            plan_id="premium",
            storefront_id="us",
            amount_minor=1599,
            effective_time=stamp(subscriber_start + timedelta(days=1)),
            existing_subscribers=pb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
            request_id="raise-all",
        )
    )
    assert await resolve(tenant, started=subscriber_start) == 1299

    catalog.clock.advance(timedelta(days=2))
    await catalog.service.activator.work_due()

    assert await resolve(tenant, started=subscriber_start) == 1599
    assert await resolve(tenant) == 1599


async def test_replicas_activating_side_by_side_announce_each_price_once(
    tenant: TenantStub,
    catalog: CatalogHarness,
    servers: Any,
) -> None:
    await seed(tenant)
    now = catalog.clock.now()
    scheduled = []
    for minute in range(1, 31):
        answer = await tenant.SchedulePrice(
            pb.SchedulePriceRequest(
                plan_id="premium",
                storefront_id="us",
                amount_minor=1300 + minute,
                effective_time=stamp(now + timedelta(minutes=minute)),
                request_id=f"step-{minute}",
            )
        )
        scheduled.append(answer.price.id)
    other = await start_catalog(catalog.database_url, servers.nats_url, catalog.clock)
    try:
        catalog.clock.advance(timedelta(hours=1))
        for _ in range(3):
            await asyncio.gather(catalog.service.activator.work_due(), other.service.activator.work_due())

        async def all_announced() -> dict[str, int]:
            counts = await activations(catalog, tenant)
            assert all(price_id in counts for price_id in scheduled)
            return counts

        counts = await eventually(all_announced)
        assert {counts[price_id] for price_id in scheduled} == {1}
        assert await resolve(tenant) == 1330
    finally:
        await other.stop()


async def test_a_scheduled_price_activates_by_its_own_tenants_clock_only(catalog: CatalogHarness) -> None:
    ahead, behind = (catalog.tenant(f"t{uuid.uuid4().hex[:10]}") for _ in range(2))
    scheduled: dict[str, str] = {}
    for tenant in (ahead, behind):
        await seed(tenant)
        takes_effect = now_of(catalog.clock, tenant.tenant_id) + timedelta(hours=1)
        request = pb.SchedulePriceRequest(
            plan_id="premium", storefront_id="us", amount_minor=1499, effective_time=stamp(takes_effect), request_id="r"
        )
        scheduled[tenant.tenant_id] = (await tenant.SchedulePrice(request)).price.id

    catalog.clock.advance(timedelta(hours=2), ahead.tenant_id)  # one sandbox tenant moves its clock
    assert await catalog.service.activator.work_due() == 1

    async def announced(tenant: TenantStub) -> bool:
        return (await activations(catalog, tenant)).get(scheduled[tenant.tenant_id]) == 1

    await eventually(lambda: announced(ahead))
    assert await resolve(ahead) == 1499
    assert scheduled[behind.tenant_id] not in await activations(catalog, behind)  # its time did not move
    assert await resolve(behind) == 1299
    [event] = [
        e
        for e in await stream_events(catalog.runtime, ahead.tenant_id, "price.activated")
        if e.payload(events_pb2.PriceActivated).price.id == scheduled[ahead.tenant_id]
    ]
    assert event.time >= now_of(catalog.clock, ahead.tenant_id) - timedelta(minutes=1)  # stamped on its own clock

    catalog.clock.advance(timedelta(hours=2), behind.tenant_id)
    assert await catalog.service.activator.work_due() == 1
    await eventually(lambda: announced(behind))
