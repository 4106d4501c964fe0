"""Scheduling, activating and applying prices and documents, on the in-memory fakes (no database)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters import proto
from azotte_catalog.domain.document import parse_document
from azotte_catalog.domain.plan import PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, PriceKey
from azotte_catalog.service_layer import plans, resources
from azotte_catalog.service_layer.activation import PriceActivator
from azotte_catalog.service_layer.apply import apply_document, preview_document
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.service_layer.prices import SchedulePrice, schedule_new_price
from azotte_platform.clock import FixedClock
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.validation import field_names
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, hd_feature, premium_plan, us_storefront, write

TENANT = "acme"
START = datetime(2025, 6, 1, 12, tzinfo=UTC)
GRANDFATHERED = ExistingSubscribers.GRANDFATHERED


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow(clock: FixedClock) -> FakeCatalogUnitOfWork:
    return FakeCatalogUnitOfWork(clock)


@pytest.fixture
def catalogs(uow: FakeCatalogUnitOfWork) -> TenantCatalogs:
    return TenantCatalogs(lambda: uow)


async def schedule(uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, command: SchedulePrice) -> str:
    price = await write(uow, catalogs, TENANT, lambda w: schedule_new_price(w, command))
    return price.id


@pytest.fixture
async def sold(uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs) -> str:
    """An active premium plan in the US storefront with its first price, effective at once; its id."""
    await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront()))
    await write(uow, catalogs, TENANT, lambda w: resources.create_feature(w, hd_feature()))
    await write(uow, catalogs, TENANT, lambda w: plans.create_plan(w, premium_plan(status=PlanStatus.ACTIVE)))
    return await schedule(uow, catalogs, SchedulePrice(PriceKey("premium", "us"), 1299, None, GRANDFATHERED))


async def test_a_first_price_is_activated_as_it_is_scheduled(
    uow: FakeCatalogUnitOfWork, clock: FixedClock, sold: str
) -> None:
    assert uow.published_types()[-2:] == ["price.scheduled", "price.activated"]
    activated = uow.published[-1].payload
    assert isinstance(activated, events_pb2.PriceActivated)
    assert (activated.price.id, activated.previous_price_id) == (sold, "")
    assert await PriceActivator(lambda: uow, clock).work_due() == 0


async def test_a_change_scheduled_ahead_is_activated_once_when_its_time_comes(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, clock: FixedClock, sold: str
) -> None:
    takes_effect = START + timedelta(hours=1)
    uow.published.clear()
    raised = await schedule(uow, catalogs, SchedulePrice(PriceKey("premium", "us"), 1499, takes_effect, GRANDFATHERED))
    activator = PriceActivator(lambda: uow, clock, max_idle_seconds=7200)

    assert uow.published_types() == ["price.scheduled"]
    assert await activator.work_due() == 0
    assert await activator.seconds_until_next() == 3600

    clock.advance(timedelta(hours=2))
    assert await activator.work_due() == 1
    assert await activator.work_due() == 0

    assert uow.published_types() == ["price.scheduled", "price.activated"]
    activated = uow.published[1].payload
    assert isinstance(activated, events_pb2.PriceActivated)
    assert (activated.price.id, activated.previous_price_id) == (raised, sold)
    view = await catalogs.view(TENANT)
    assert view.resolve_price("premium", "us", Channel.WEB, clock.now()).amount_minor == 1499
    assert view.resolve_price("premium", "us", Channel.WEB, clock.now(), START).amount_minor == 1299


async def test_a_price_change_must_be_scheduled_ahead(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, sold: str
) -> None:
    now_again = SchedulePrice(PriceKey("premium", "us"), 1499, None, GRANDFATHERED)
    uow.published.clear()

    with pytest.raises(InvalidArgument) as raised, field_names(proto.PRICE_FIELDS):
        await schedule(uow, catalogs, now_again)

    assert [v.field for v in raised.value.violations] == ["effective_time"]
    assert uow.published == []


async def test_a_document_applies_once_and_a_preview_writes_nothing(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, make_document: Callable[[], dict[str, Any]]
) -> None:
    document = parse_document(make_document())
    async with uow:
        preview = await preview_document(uow, TENANT, document)

    applied = await write(uow, catalogs, TENANT, lambda w: apply_document(w, document))
    again = await write(uow, catalogs, TENANT, lambda w: apply_document(w, document))

    assert preview.entries == applied.entries
    assert Counter(uow.published_types()) == {
        "storefront.created": 2,
        "feature.created": 2,
        "plan.created": 2,
        "price.scheduled": 4,
        "price.activated": 4,
        "channel_mapping.created": 1,
        "catalog.applied": 1,
    }
    summary = uow.published[-1].payload
    assert isinstance(summary, events_pb2.CatalogApplied)
    assert (summary.created_count, summary.updated_count) == (11, 0)
    assert not again.writes_anything
