"""Withdrawing a price version scheduled ahead, on the in-memory fakes (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte.catalog.v1 import events_pb2
from azotte_catalog.domain.plan import PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, PriceKey
from azotte_catalog.errors import PriceAlreadyEffective, PriceVersionNotFound
from azotte_catalog.service_layer import plans, resources
from azotte_catalog.service_layer.activation import PriceActivator
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.service_layer.prices import SchedulePrice, cancel_scheduled_price, schedule_new_price
from azotte_platform.clock import FixedClock
from azotte_platform.enums import Channel
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, hd_feature, premium_plan, us_storefront, write

TENANT = "acme"
START = datetime(2025, 6, 1, 12, tzinfo=UTC)
KEY = PriceKey("premium", "us")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow(clock: FixedClock) -> FakeCatalogUnitOfWork:
    return FakeCatalogUnitOfWork(clock)


@pytest.fixture
def catalogs(uow: FakeCatalogUnitOfWork) -> TenantCatalogs:
    return TenantCatalogs(lambda: uow)


@pytest.fixture
async def prices(uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs) -> tuple[str, str]:
    """A premium plan's first price (in effect) and a change scheduled 30 days ahead: their ids."""
    await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront()))
    await write(uow, catalogs, TENANT, lambda w: resources.create_feature(w, hd_feature()))
    await write(uow, catalogs, TENANT, lambda w: plans.create_plan(w, premium_plan(status=PlanStatus.ACTIVE)))
    grandfathered = ExistingSubscribers.GRANDFATHERED
    first = await write(
        uow, catalogs, TENANT, lambda w: schedule_new_price(w, SchedulePrice(KEY, 1299, None, grandfathered))
    )
    ahead = SchedulePrice(KEY, 1499, START + timedelta(days=30), grandfathered)
    change = await write(uow, catalogs, TENANT, lambda w: schedule_new_price(w, ahead))
    return first.id, change.id


async def test_a_change_not_yet_in_effect_is_withdrawn_and_never_activated(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, clock: FixedClock, prices: tuple[str, str]
) -> None:
    first, change = prices
    cancelled = await write(uow, catalogs, TENANT, lambda w: cancel_scheduled_price(w, change))
    assert cancelled.amount_minor == 1499
    assert uow.published_types()[-1] == "price.cancelled"
    event = uow.published[-1].payload
    assert isinstance(event, events_pb2.PriceCancelled) and event.price.id == change
    view = await catalogs.view(TENANT)
    assert [p.id for p in view.catalog.prices] == [first]
    clock.advance(timedelta(days=31))
    assert await PriceActivator(lambda: uow, clock).work_due() == 0
    assert view.resolve_price("premium", "us", Channel.WEB, clock.now()).amount_minor == 1299


async def test_a_price_in_effect_is_history_and_an_unknown_one_is_not_found(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, prices: tuple[str, str]
) -> None:
    first, _ = prices
    with pytest.raises(PriceAlreadyEffective) as effective:
        await write(uow, catalogs, TENANT, lambda w: cancel_scheduled_price(w, first))
    assert effective.value.metadata["field"] == "price_id"
    with pytest.raises(PriceVersionNotFound):
        await write(uow, catalogs, TENANT, lambda w: cancel_scheduled_price(w, "premium.us.default.20990101T000000Z"))
    assert len((await catalogs.view(TENANT)).catalog.prices) == 2
