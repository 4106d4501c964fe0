"""Use cases of storefronts, features, plans and mappings, on the in-memory fakes (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import pytest

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters import proto
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import FeatureGrant
from azotte_catalog.domain.price import ExistingSubscribers, PriceKey
from azotte_catalog.errors import (
    CatalogDocumentUnreadable,
    ChannelMappingAlreadyExists,
    PlanStatusTransitionNotAllowed,
    StorefrontAlreadyExists,
    StorefrontCurrencyFixed,
)
from azotte_catalog.ports import CatalogUnitOfWork
from azotte_catalog.service_layer import plans, resources
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.service_layer.prices import SchedulePrice, schedule_new_price
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.service_kit import Units
from azotte_platform.validation import field_names
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, hd_feature, premium_plan, us_storefront, write

TENANT = "acme"
START = datetime(2025, 6, 1, 12, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def uow() -> FakeCatalogUnitOfWork:
    return FakeCatalogUnitOfWork(FixedClock(START))


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
def catalogs(uow: FakeCatalogUnitOfWork, changes: list[str]) -> TenantCatalogs:
    return TenantCatalogs(lambda: uow, on_change=lambda: changes.append("changed"))


async def seed(uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs) -> None:
    await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront()))
    await write(uow, catalogs, TENANT, lambda w: resources.create_feature(w, hd_feature()))
    await write(uow, catalogs, TENANT, lambda w: plans.create_plan(w, premium_plan()))


async def test_a_committed_change_is_announced_and_drops_the_cached_view(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, changes: list[str]
) -> None:
    empty = await catalogs.view(TENANT)

    await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront()))

    assert uow.published_types() == ["storefront.created"]
    assert changes == ["changed"]
    view = await catalogs.view(TENANT)
    assert view is not empty
    assert view.storefront("us") == us_storefront()
    assert view.times_of("storefront", "us") == (START, START)


async def test_a_failed_change_commits_nothing_and_keeps_the_cached_view(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, changes: list[str]
) -> None:
    await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront()))
    cached = await catalogs.view(TENANT)
    published = uow.published_types()

    with pytest.raises(StorefrontAlreadyExists) as raised:
        await write(uow, catalogs, TENANT, lambda w: resources.create_storefront(w, us_storefront(name="Again")))

    assert raised.value.reason == "STOREFRONT_ALREADY_EXISTS"
    assert raised.value.metadata == {"field": "storefront.id"}
    assert uow.published_types() == published
    assert changes == ["changed"]
    assert await catalogs.view(TENANT) is cached


async def test_a_storefront_keeps_its_currency_once_priced(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs
) -> None:
    await seed(uow, catalogs)
    first_price = SchedulePrice(PriceKey("premium", "us"), 1299, None, ExistingSubscribers.GRANDFATHERED)
    await write(uow, catalogs, TENANT, lambda w: schedule_new_price(w, first_price))

    with pytest.raises(StorefrontCurrencyFixed):
        await write(uow, catalogs, TENANT, lambda w: resources.update_storefront(w, us_storefront(currency="EUR")))

    renamed = await write(uow, catalogs, TENANT, lambda w: resources.update_storefront(w, us_storefront(name="USA")))
    assert renamed.name == "USA"
    (event,) = [e for e in uow.published if e.type == "storefront.updated"]
    assert isinstance(event.payload, events_pb2.StorefrontUpdated)
    assert list(event.payload.changed_fields) == ["display_name"]


async def test_a_plan_update_announces_the_changed_fields_in_the_api_names(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs
) -> None:
    await seed(uow, catalogs)
    uow.published.clear()

    unchanged = await write(uow, catalogs, TENANT, lambda w: plans.update_plan(w, premium_plan()))
    await write(uow, catalogs, TENANT, lambda w: plans.update_plan(w, premium_plan(name="Premium+", trial_days=7)))

    assert unchanged == premium_plan()
    (event,) = uow.published
    assert isinstance(event.payload, events_pb2.PlanUpdated)
    assert (event.type, list(event.payload.changed_fields)) == ("plan.updated", ["display_name", "trial_days"])


async def test_a_plan_is_activated_then_retired_and_never_back(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs
) -> None:
    await seed(uow, catalogs)
    uow.published.clear()

    await write(uow, catalogs, TENANT, lambda w: plans.activate_plan(w, "premium"))
    await write(uow, catalogs, TENANT, lambda w: plans.retire_plan(w, "premium"))

    assert uow.published_types() == ["plan.updated", "plan.retired"]
    activated = uow.published[0].payload
    assert isinstance(activated, events_pb2.PlanUpdated)
    assert list(activated.changed_fields) == ["state"]
    with pytest.raises(PlanStatusTransitionNotAllowed):
        await write(uow, catalogs, TENANT, lambda w: plans.activate_plan(w, "premium"))


async def test_violations_name_domain_fields_and_the_servicer_renames_them(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs
) -> None:
    await seed(uow, catalogs)
    unknown_feature = premium_plan(id="gold", grants=(FeatureGrant("teleport"),))

    with pytest.raises(InvalidArgument) as in_domain_names:
        await write(uow, catalogs, TENANT, lambda w: plans.create_plan(w, unknown_feature))
    with pytest.raises(InvalidArgument) as in_api_names, field_names(proto.PLAN_FIELDS):
        await write(uow, catalogs, TENANT, lambda w: plans.create_plan(w, unknown_feature))

    assert [v.field for v in in_domain_names.value.violations] == ["plan.features[0].key"]
    assert [v.field for v in in_api_names.value.violations] == ["plan.feature_grants[0].feature_key"]
    assert in_api_names.value.message.startswith("plan.feature_grants[0].feature_key: unknown feature")


def test_renaming_fields_keeps_the_error_class_and_reason() -> None:
    with pytest.raises(CatalogDocumentUnreadable) as raised, field_names({"document": "text"}):
        raise CatalogDocumentUnreadable.field("document", "not valid yaml")

    assert raised.value.reason == "CATALOG_DOCUMENT_UNREADABLE"
    assert [v.field for v in raised.value.violations] == ["text"]


async def test_a_store_product_maps_to_one_plan(uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs) -> None:
    await seed(uow, catalogs)
    mapping = ChannelMapping(Channel.APP_STORE, "com.example.premium", "premium")

    await write(uow, catalogs, TENANT, lambda w: resources.create_channel_mapping(w, mapping))
    with pytest.raises(ChannelMappingAlreadyExists):
        await write(uow, catalogs, TENANT, lambda w: resources.create_channel_mapping(w, mapping))

    view = await catalogs.view(TENANT)
    assert view.resolve_channel_product(Channel.APP_STORE, "com.example.premium") == (mapping, premium_plan())


async def test_a_repeated_request_id_gets_the_first_answer_and_changes_nothing(
    uow: FakeCatalogUnitOfWork, catalogs: TenantCatalogs, changes: list[str]
) -> None:
    units: Units[CatalogUnitOfWork] = Units(lambda: uow)
    request = pb.CreateFeatureRequest(feature=proto.feature_to_pb(hd_feature()), request_id="r1")

    async def work(u: CatalogUnitOfWork, tenant: str) -> pb.CreateFeatureResponse:
        created = await resources.create_feature(await catalogs.open(u, tenant), hd_feature())
        return pb.CreateFeatureResponse(feature=proto.feature_to_pb(created))

    with tenant_scope(TENANT):
        first = await units.mutate(request, pb.CreateFeatureResponse, work)
        again = await units.mutate(request, pb.CreateFeatureResponse, work)

    assert again == first
    assert uow.published_types() == ["feature.created"]
    assert changes == ["changed"]
