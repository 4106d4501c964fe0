"""Catalog as code: parse, diff against the current catalog, export and round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azotte_catalog.domain.catalog import Catalog
from azotte_catalog.domain.diff import CatalogDiff, Change, ResourceKind, diff_catalog
from azotte_catalog.domain.document import (
    DocumentFormat,
    export_document,
    load_document_text,
    normalize_document,
    parse_document,
)
from azotte_platform.errors import InvalidArgument

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def apply(current: Catalog, data: Any, now: Any = NOW) -> CatalogDiff:
    return diff_catalog(current, parse_document(data), now)


def changes(diff: CatalogDiff, change: Change) -> set[tuple[str, str]]:
    return {(str(e.kind), e.id) for e in diff.of(change)}


@pytest.mark.parametrize("name", ["ott-catalog.yaml", "ai-catalog.yaml"])
def test_example_documents_apply_and_reapply_unchanged(name: str) -> None:
    data = load_document_text((EXAMPLES / name).read_text(), DocumentFormat.YAML)
    first = apply(Catalog(), data)
    assert first.of(Change.CREATED) and not first.of(Change.UPDATED)
    again = apply(first.result, data, NOW + timedelta(days=3))
    assert {e.change for e in again.entries} == {Change.UNCHANGED}


def test_export_round_trips_to_the_normalized_document(doc: dict[str, Any]) -> None:
    for i, price in enumerate(doc["prices"]):
        price["effective_from"] = (NOW + timedelta(days=i + 1)).isoformat()
    catalog = apply(Catalog(), doc).result
    assert export_document(catalog) == normalize_document(doc)
    assert normalize_document(export_document(catalog)) == export_document(catalog)


def test_exported_document_survives_json_and_reapplies_unchanged(doc: dict[str, Any]) -> None:
    catalog = apply(Catalog(), doc).result
    text = json.dumps(export_document(catalog))
    again = apply(catalog, load_document_text(text, DocumentFormat.JSON), NOW + timedelta(days=1))
    assert {e.change for e in again.entries} == {Change.UNCHANGED}


def test_diff_reports_created_updated_and_removed_without_deleting(doc: dict[str, Any]) -> None:
    catalog = apply(Catalog(), doc).result
    doc["plans"][1]["name"] = "Premium HD"
    doc["plans"][1]["trial_days"] = 7
    removed_plan = doc["plans"].pop(0)
    doc["prices"] = [p for p in doc["prices"] if p["plan"] != removed_plan["id"]]
    doc["features"].append({"key": "uhd_streaming", "name": "UHD", "kind": "boolean"})
    diff = apply(catalog, doc, NOW + timedelta(days=1))
    assert changes(diff, Change.CREATED) == {("feature", "uhd_streaming")}
    [updated] = diff.of(Change.UPDATED)
    assert (updated.kind, updated.id, updated.fields) == (ResourceKind.PLAN, "premium", ("name", "trial_days"))
    removed = changes(diff, Change.REMOVED_FROM_DOCUMENT)
    assert ("plan", "basic") in removed and any(kind == "price" for kind, _ in removed)
    assert "basic" in diff.result.plan_map()


def test_scheduled_price_change_through_a_document(doc: dict[str, Any]) -> None:
    catalog = apply(Catalog(), doc).result
    change_at = NOW + timedelta(days=30)
    doc["prices"].append(
        {
            "plan": "premium",
            "storefront": "us",
            "amount_minor": 1399,
            "effective_from": change_at.isoformat(),
            "existing_subscribers": "at_next_renewal",
        }
    )
    diff = apply(catalog, doc, NOW + timedelta(days=1))
    [created] = diff.of(Change.CREATED)
    assert created.kind is ResourceKind.PRICE and created.id.endswith("20250331T120000Z")


def test_document_is_rejected_whole_when_any_change_is_illegal(doc: dict[str, Any]) -> None:
    catalog = apply(Catalog(), doc).result
    doc["features"].append({"key": "uhd_streaming", "name": "UHD", "kind": "boolean"})
    doc["storefronts"][0]["currency"] = "CAD"
    doc["plans"][0]["status"] = "draft"
    doc["prices"].append(
        {
            "plan": "basic",
            "storefront": "de",
            "amount_minor": 1,
            "effective_from": (NOW - timedelta(days=1)).isoformat(),
        }
    )
    doc["prices"][0]["amount_minor"] = 799
    with pytest.raises(InvalidArgument) as caught:
        apply(catalog, doc, NOW + timedelta(days=1))
    fields = {v.field for v in caught.value.violations}
    assert fields == {
        "storefronts[0].currency",
        "plans[0].status",
        "prices[4].effective_from",
        "prices[0].effective_from",
    }


def test_retiring_through_a_document_keeps_the_plan(doc: dict[str, Any]) -> None:
    catalog = apply(Catalog(), doc).result
    doc["plans"][0]["status"] = "retired"
    diff = apply(catalog, doc, NOW + timedelta(days=1))
    assert not diff.result.plan_map()["basic"].sellable
    assert diff.result.plan_map()["basic"].renewable


_names = st.text(alphabet="abcdefghij", min_size=1, max_size=8)


@settings(max_examples=50)
@given(
    plan_names=st.lists(_names, min_size=1, max_size=5, unique=True),
    amounts=st.lists(st.integers(min_value=0, max_value=10**9), min_size=5, max_size=5),
    rank_seed=st.integers(min_value=0, max_value=50),
    offsets=st.lists(st.integers(min_value=1, max_value=10**6), min_size=5, max_size=5),
)
def test_any_valid_document_round_trips(
    make_document: Callable[[], dict[str, Any]],
    plan_names: list[str],
    amounts: list[int],
    rank_seed: int,
    offsets: list[int],
) -> None:
    data = make_document()
    data["plans"] = [
        {"id": name, "name": name, "family": "f", "rank": rank_seed + i, "interval": {"unit": "week", "count": i + 1}}
        for i, name in enumerate(plan_names)
    ]
    data["prices"] = [
        {
            "plan": name,
            "storefront": "de",
            "amount_minor": amounts[i],
            "effective_from": (NOW + timedelta(minutes=offsets[i])).isoformat(),
        }
        for i, name in enumerate(plan_names)
    ]
    data["channel_mappings"] = []
    catalog = apply(Catalog(), data).result
    assert export_document(catalog) == normalize_document(data)


def test_a_storefronts_price_increase_notice_is_kept_exported_and_bounded(doc: dict[str, Any]) -> None:
    doc["storefronts"][0]["price_increase_notice_days"] = 30
    catalog = apply(Catalog(), doc).result
    assert catalog.storefronts[0].price_increase_notice_days == 30
    exported = {s["id"]: s for s in export_document(catalog)["storefronts"]}
    assert exported["us"]["price_increase_notice_days"] == 30
    assert "price_increase_notice_days" not in exported["de"]  # 0, the default, is left out
    doc["storefronts"][0]["price_increase_notice_days"] = 366
    with pytest.raises(InvalidArgument) as error:
        apply(Catalog(), doc)
    assert [v.field for v in error.value.violations] == ["storefronts[0].price_increase_notice_days"]


def test_a_storefront_asks_consent_to_a_rise_only_with_a_notice_period(doc: dict[str, Any]) -> None:
    doc["storefronts"][0]["price_increase_consent_required"] = True
    with pytest.raises(InvalidArgument) as error:
        apply(Catalog(), doc)
    assert [v.field for v in error.value.violations] == ["storefronts[0].price_increase_consent_required"]
    doc["storefronts"][0]["price_increase_notice_days"] = 30
    catalog = apply(Catalog(), doc).result
    assert catalog.storefront_map()["us"].price_increase_consent_required
    exported = {s["id"]: s for s in export_document(catalog)["storefronts"]}
    assert exported["us"]["price_increase_consent_required"] is True
