"""The catalog's lists: AIP-160 filters, AIP-132 order and page tokens bound to both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte_catalog.domain.catalog import Catalog
from azotte_catalog.domain.diff import diff_catalog
from azotte_catalog.domain.document import parse_document
from azotte_catalog.domain.feature import FeatureKind, ResetPeriod
from azotte_catalog.domain.plan import BillingInterval, IntervalUnit, PlanStatus
from azotte_catalog.domain.price import ExistingSubscribers, PriceKey, schedule_price, versions_of
from azotte_catalog.entrypoints.servicer import STOREFRONT_MASK, merge_update
from azotte_catalog.errors import FeatureKindFixed, PlanIntervalFixed
from azotte_catalog.service_layer import lists, plans, resources
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_platform.clock import FixedClock
from azotte_platform.errors import InvalidArgument
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, hd_feature, premium_plan, write

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def no_times(kind: str, resource_id: str) -> None:
    return None


@pytest.fixture
def catalog(make_document: Callable[[], dict[str, Any]]) -> Catalog:
    result = diff_catalog(Catalog(), parse_document(make_document()), NOW).result
    # a price change scheduled a month ahead, next to the four prices in effect now
    key = PriceKey("basic", "us")
    ahead = schedule_price(
        versions_of(result.prices, key),
        key,
        799,
        NOW + timedelta(days=30),
        ExistingSubscribers.AT_NEXT_RENEWAL,
        result.storefront_map()["us"],
        NOW,
    )
    return Catalog(result.storefronts, result.features, result.plans, (*result.prices, ahead), result.mappings)


def test_plans_filter_on_state_and_rank_and_order_by_rank(catalog: Catalog) -> None:
    shape = lists.plans(no_times)
    page = shape.page(pb.ListPlansRequest(filter="state = active AND rank >= 20"), catalog.plans)
    assert [p.id for p in page.items] == ["premium"]
    page = shape.page(pb.ListPlansRequest(filter="state = PLAN_STATE_ACTIVE", order_by="rank desc"), catalog.plans)
    assert [p.id for p in page.items] == ["premium", "basic"]
    assert shape.page(pb.ListPlansRequest(filter="state = draft"), catalog.plans).items == []


def test_pages_follow_the_order_and_tokens_are_bound_to_filter_and_order(catalog: Catalog) -> None:
    shape = lists.plans(no_times)
    first = shape.page(pb.ListPlansRequest(page_size=1, order_by="rank desc"), catalog.plans)
    assert [p.id for p in first.items] == ["premium"] and first.next_page_token
    second = shape.page(
        pb.ListPlansRequest(page_size=1, order_by="rank desc", page_token=first.next_page_token), catalog.plans
    )
    assert [p.id for p in second.items] == ["basic"] and not second.next_page_token
    for other in (pb.ListPlansRequest(order_by="rank"), pb.ListPlansRequest(order_by="rank desc", filter="rank > 1")):
        other.page_token = first.next_page_token
        with pytest.raises(InvalidArgument) as refused:
            shape.page(other, catalog.plans)
        assert refused.value.violations[0].field == "page_token"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListPlansRequest(filter="price = 3"), "filter"),
        (pb.ListPlansRequest(filter="family > ott"), "filter"),
        (pb.ListPlansRequest(filter="state = sold"), "filter"),
        (pb.ListPlansRequest(filter="rank = high"), "filter"),
        (pb.ListPlansRequest(filter="add_on = maybe"), "filter"),
        (pb.ListPlansRequest(order_by="price"), "order_by"),
        (pb.ListPlansRequest(order_by="rank sideways"), "order_by"),
    ],
)
def test_a_bad_filter_or_order_names_its_field(catalog: Catalog, request_: pb.ListPlansRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        lists.plans(no_times).page(request_, catalog.plans)
    assert refused.value.violations[0].field == field


def test_scheduled_prices_are_the_ones_not_yet_in_effect(catalog: Catalog) -> None:
    shape = lists.prices(NOW)
    scheduled = shape.page(pb.ListPricesRequest(filter="scheduled = true"), catalog.prices)
    assert [(p.key.plan_id, p.amount_minor) for p in scheduled.items] == [("basic", 799)]
    later = shape.page(
        pb.ListPricesRequest(filter='effective_time > "2026-03-15T00:00:00Z"', order_by="effective_time desc"),
        catalog.prices,
    )
    assert [p.amount_minor for p in later.items] == [799]
    app_store = shape.page(pb.ListPricesRequest(filter="channel = app_store"), catalog.prices)
    assert [p.amount_minor for p in app_store.items] == [1499]
    with pytest.raises(InvalidArgument, match="filter"):
        shape.page(pb.ListPricesRequest(filter="effective_time > yesterday"), catalog.prices)


def test_storefronts_features_and_mappings_filter_on_their_fields(catalog: Catalog) -> None:
    sells_on_app_store = lists.storefronts(no_times).page(
        pb.ListStorefrontsRequest(filter="channel = app_store"), catalog.storefronts
    )
    assert [s.id for s in sells_on_app_store.items] == ["us"]
    euro = lists.storefronts(no_times).page(
        pb.ListStorefrontsRequest(filter="currency_code = eur"), catalog.storefronts
    )
    assert [s.id for s in euro.items] == ["de"]
    quotas = lists.features().page(pb.ListFeaturesRequest(filter="kind = quota"), catalog.features)
    assert [f.key for f in quotas.items] == ["ai_tokens"]
    mapped = lists.channel_mappings().page(pb.ListChannelMappingsRequest(filter="plan_id = premium"), catalog.mappings)
    assert [m.external_product_id for m in mapped.items] == ["com.example.premium"]


def test_a_forged_page_token_is_refused_not_crashed(catalog: Catalog) -> None:
    from azotte_platform.paging import encode_page_token

    shape = lists.plans(no_times)
    forged = encode_page_token([1, 2], ("plans", "", (), "rank"))
    with pytest.raises(InvalidArgument) as refused:
        shape.page(pb.ListPlansRequest(order_by="rank", page_token=forged), catalog.plans)
    assert refused.value.violations[0].field == "page_token"


# --- one-by-one changes refuse what the document refuses, naming the field ---------------------------


async def test_fixed_kind_and_interval_name_their_fields() -> None:
    uow = FakeCatalogUnitOfWork(FixedClock(NOW))
    catalogs = TenantCatalogs(lambda: uow)
    await write(uow, catalogs, "acme", lambda w: resources.create_feature(w, hd_feature()))
    await write(uow, catalogs, "acme", lambda w: plans.create_plan(w, premium_plan(status=PlanStatus.ACTIVE)))
    quota = replace(hd_feature(), kind=FeatureKind.QUOTA, unit="streams", reset_period=ResetPeriod.MONTH)
    with pytest.raises(FeatureKindFixed) as kind:
        await write(uow, catalogs, "acme", lambda w: resources.update_feature(w, quota))
    assert kind.value.metadata["field"] == "feature.kind"
    yearly = premium_plan(status=PlanStatus.ACTIVE, interval=BillingInterval(IntervalUnit.YEAR))
    with pytest.raises(PlanIntervalFixed) as interval:
        await write(uow, catalogs, "acme", lambda w: plans.update_plan(w, yearly))
    assert interval.value.metadata["field"] == "plan.billing_interval"


@pytest.mark.parametrize("path", ["display_name.x", "tax_policy.bogus", "locales.first"])
def test_an_update_mask_naming_no_field_is_invalid(path: str) -> None:
    from google.protobuf.field_mask_pb2 import FieldMask

    with pytest.raises(InvalidArgument) as refused:
        merge_update(pb.Storefront(id="us"), pb.Storefront(), FieldMask(paths=[path]), STOREFRONT_MASK)
    assert refused.value.violations[0].field == "update_mask"
