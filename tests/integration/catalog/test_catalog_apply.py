"""Catalog as code: apply a document atomically and idempotently, dry-run it, export it back."""

from __future__ import annotations

from typing import Any

import grpc
import sqlalchemy as sa
import yaml

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.common.v1 import channel_pb2
from azotte_platform.db.tables import outbox
from azotte_platform.events.envelope import stream_name
from tests.helpers import eventually
from tests.integration.catalog.catalog_support import (
    CatalogHarness,
    TenantStub,
    example,
    example_data,
    invalid_fields,
    rejected,
)


def apply_request(document: str | dict[str, Any], request_id: str = "", validate_only: bool = False) -> Any:
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    return pb.ApplyCatalogRequest(
        document=text, format=pb.DOCUMENT_FORMAT_YAML, validate_only=validate_only, request_id=request_id
    )


def changes_of(response: pb.ApplyCatalogResponse) -> dict[tuple[str, str], tuple[int, list[str]]]:
    return {(c.resource_type, c.resource_id): (c.change_type, list(c.changed_fields)) for c in response.changes}


async def event_count(catalog: CatalogHarness, tenant: TenantStub) -> int:
    """Every event the catalog recorded for the tenant: the outbox drains to the stream, which is counted."""

    async def drained() -> bool:
        async with catalog.runtime.engine.connect() as conn:
            return not await conn.scalar(sa.select(sa.func.count()).where(outbox.c.tenant_id == tenant.tenant_id))

    assert await eventually(drained)
    subjects = f"azotte.{tenant.tenant_id}.catalog.>"
    info = await catalog.runtime.js.stream_info(stream_name("catalog"), subjects_filter=subjects)
    return sum((info.state.subjects or {}).values())


async def test_the_ott_example_applies_and_resolves(tenant: TenantStub, catalog: CatalogHarness) -> None:
    response = await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "ott-1"))

    assert response.applied
    kinds = {c.change_type for c in response.changes}
    assert kinds == {pb.CHANGE_TYPE_CREATED}
    assert len([c for c in response.changes if c.resource_type == "price"]) == 13
    on_app_store = await tenant.ResolvePrice(
        pb.ResolvePriceRequest(plan_id="premium_monthly", storefront_id="us", channel=channel_pb2.CHANNEL_APP_STORE)
    )
    assert on_app_store.amount.amount_minor == 1999
    telecom = await tenant.ResolveChannelProduct(
        pb.ResolveChannelProductRequest(channel=channel_pb2.CHANNEL_TELECOM, external_product_id="DT-OTT-PREMIUM-M")
    )
    assert (telecom.plan.id, telecom.channel_mapping.storefront_id) == ("premium_monthly", "de")


async def test_applying_the_same_document_again_changes_nothing(tenant: TenantStub, catalog: CatalogHarness) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "first"))
    events_after_first = await event_count(catalog, tenant)

    again = await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "second"))

    assert {c.change_type for c in again.changes} == {pb.CHANGE_TYPE_UNCHANGED}
    assert await event_count(catalog, tenant) == events_after_first


async def test_a_dry_run_shows_the_diff_and_writes_nothing(tenant: TenantStub, catalog: CatalogHarness) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "base"))
    events_before = await event_count(catalog, tenant)
    exported_before = (await tenant.ExportCatalog(pb.ExportCatalogRequest())).document
    modified = example_data("ott-catalog.yaml")
    modified["plans"][0]["name"] = "Basic (ad-supported)"
    modified["prices"].append(
        {"plan": "basic_monthly", "storefront": "us", "amount_minor": 799, "effective_from": "2027-01-01T00:00:00Z"}
    )

    dry_run = await tenant.ApplyCatalog(apply_request(modified, validate_only=True))

    assert not dry_run.applied
    changes = changes_of(dry_run)
    assert changes[("plan", "basic_monthly")] == (pb.CHANGE_TYPE_UPDATED, ["name"])
    assert changes[("price", "basic_monthly.us.default.20270101T000000Z")] == (pb.CHANGE_TYPE_CREATED, [])
    assert changes[("plan", "premium_monthly")] == (pb.CHANGE_TYPE_UNCHANGED, [])
    assert (await tenant.GetPlan(pb.GetPlanRequest(id="basic_monthly"))).plan.display_name == "Basic"
    assert (await tenant.ExportCatalog(pb.ExportCatalogRequest())).document == exported_before
    assert await event_count(catalog, tenant) == events_before


async def test_a_bad_document_applies_nothing_and_names_every_field(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    document = example_data("ott-catalog.yaml")
    document["plans"][1]["features"].append({"key": "teleportation"})
    document["prices"].append({"plan": "basic_monthly", "storefront": "mars", "amount_minor": 100})
    document["prices"][0]["amount_minor"] = 6.99
    document["storefronts"][1]["currency"] = "EURO"
    document["features"].append(dict(document["features"][0]))

    fields = await invalid_fields(tenant.ApplyCatalog(apply_request(document, "bad")))

    assert {
        "plans[1].features[2].key",
        "prices[13].storefront",
        "prices[0].amount_minor",
        "storefronts[1].currency",
        "features[4].key",
    } <= set(fields)
    assert await event_count(catalog, tenant) == 0
    await rejected(tenant.GetPlan(pb.GetPlanRequest(id="basic_monthly")), grpc.StatusCode.NOT_FOUND)


async def test_a_document_failing_against_the_stored_catalog_applies_nothing(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "base"))
    events_before = await event_count(catalog, tenant)
    document = example_data("ott-catalog.yaml")
    document["plans"][0]["name"] = "Renamed"
    document["plans"][1]["interval"] = {"unit": "year"}

    fields = await invalid_fields(tenant.ApplyCatalog(apply_request(document, "half")))

    assert fields == ["plans[1].interval"]
    assert (await tenant.GetPlan(pb.GetPlanRequest(id="basic_monthly"))).plan.display_name == "Basic"
    assert await event_count(catalog, tenant) == events_before


async def test_an_export_applies_to_another_tenant_as_the_same_catalog(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "ott"))
    exported = (await tenant.ExportCatalog(pb.ExportCatalogRequest(format=pb.DOCUMENT_FORMAT_YAML))).document
    copy = catalog.tenant(f"{tenant.tenant_id}-copy")

    reapplied = await tenant.ApplyCatalog(apply_request(exported, "reapply"))
    await copy.ApplyCatalog(apply_request(exported, "copy"))

    assert {c.change_type for c in reapplied.changes} == {pb.CHANGE_TYPE_UNCHANGED}
    assert (await copy.ExportCatalog(pb.ExportCatalogRequest())).document == exported
    as_json = (await copy.ExportCatalog(pb.ExportCatalogRequest(format=pb.DOCUMENT_FORMAT_JSON))).document
    assert yaml.safe_load(as_json) == yaml.safe_load(exported)


async def test_a_repeated_request_id_returns_the_first_answer(tenant: TenantStub, catalog: CatalogHarness) -> None:
    first = await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "once"))
    events = await event_count(catalog, tenant)

    repeat = await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "once"))

    assert repeat == first
    assert await event_count(catalog, tenant) == events
    error = await rejected(
        tenant.ApplyCatalog(apply_request(example("ai-catalog.yaml"), "once")), grpc.StatusCode.ABORTED
    )
    assert error.reason == "REQUEST_ID_REUSED"
