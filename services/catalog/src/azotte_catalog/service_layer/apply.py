"""Catalog as code: apply a whole document in one transaction, or only compute what it would change."""

from __future__ import annotations

from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters.proto import (
    FEATURE_FIELDS,
    PLAN_FIELDS,
    STOREFRONT_FIELDS,
    change_to_proto,
    feature_to_proto,
    mapping_to_proto,
    plan_to_proto,
    storefront_to_proto,
    timestamp,
)
from azotte_catalog.domain.catalog import Catalog, CatalogDocument
from azotte_catalog.domain.diff import CatalogDiff, Change, DiffEntry, ResourceKind, diff_catalog
from azotte_catalog.domain.plan import PlanStatus

from .writer import CatalogWriter, changed_fields


async def apply_document(w: CatalogWriter, document: CatalogDocument) -> CatalogDiff:
    """Write every created or updated resource of the document, with an event each; all or nothing."""
    diff = diff_catalog(w.catalog, document, w.now)
    if not diff.writes_anything:
        # NOTE: re-applying the same document is a no-op: no writes, no events.
        return diff
    result = _Index(diff.result)
    for entry in diff.entries:
        if entry.change in (Change.CREATED, Change.UPDATED):
            await _write(w, entry, result, w.catalog)
    w.record(
        "catalog.applied",
        events_pb2.CatalogApplied(
            changes=[change_to_proto(e) for e in diff.entries],
            created_count=len(diff.of(Change.CREATED)),
            updated_count=len(diff.of(Change.UPDATED)),
            removed_from_document_count=len(diff.of(Change.REMOVED_FROM_DOCUMENT)),
            apply_time=timestamp(w.now),
        ),
    )
    return diff


class _Index:
    """The resulting catalog's resources by kind and id."""

    def __init__(self, catalog: Catalog):
        self.storefronts = catalog.storefront_map()
        self.features = catalog.feature_map()
        self.plans = catalog.plan_map()
        self.prices = {p.id: p for p in catalog.prices}
        self.mappings = {m.id: m for m in catalog.mappings}


async def _write(w: CatalogWriter, entry: DiffEntry, result: _Index, before: Catalog) -> None:
    created = entry.change is Change.CREATED
    if entry.kind is ResourceKind.STOREFRONT:
        storefront = result.storefronts[entry.id]
        times = await w.save_storefront(storefront)
        message = storefront_to_proto(storefront, times)
        if created:
            w.record("storefront.created", events_pb2.StorefrontCreated(storefront=message))
        else:
            changes = changed_fields(before.storefront_map()[entry.id], storefront, STOREFRONT_FIELDS)
            w.record("storefront.updated", events_pb2.StorefrontUpdated(storefront=message, changed_fields=changes))
    elif entry.kind is ResourceKind.FEATURE:
        feature = result.features[entry.id]
        await w.save_feature(feature)
        if created:
            w.record("feature.created", events_pb2.FeatureCreated(feature=feature_to_proto(feature)))
        else:
            changes = changed_fields(before.feature_map()[entry.id], feature, FEATURE_FIELDS)
            w.record(
                "feature.updated", events_pb2.FeatureUpdated(feature=feature_to_proto(feature), changed_fields=changes)
            )
    elif entry.kind is ResourceKind.PLAN:
        await _write_plan(w, entry, result, before)
    elif entry.kind is ResourceKind.PRICE:
        await w.add_price(result.prices[entry.id])
    else:
        mapping = result.mappings[entry.id]
        await w.save_mapping(mapping)
        mapping_message = mapping_to_proto(mapping)
        if created:
            w.record("channel_mapping.created", events_pb2.ChannelMappingCreated(channel_mapping=mapping_message))
        else:
            old = next(m for m in before.mappings if m.id == entry.id)
            changes = changed_fields(old, mapping, {})
            w.record(
                "channel_mapping.updated",
                events_pb2.ChannelMappingUpdated(channel_mapping=mapping_message, changed_fields=changes),
            )


async def _write_plan(w: CatalogWriter, entry: DiffEntry, result: _Index, before: Catalog) -> None:
    plan = result.plans[entry.id]
    times = await w.save_plan(plan)
    message = plan_to_proto(plan, times)
    if entry.change is Change.CREATED:
        w.record("plan.created", events_pb2.PlanCreated(plan=message))
        return
    old = before.plan_map()[entry.id]
    changes = changed_fields(old, plan, PLAN_FIELDS)
    retired = plan.status is PlanStatus.RETIRED and old.status is not PlanStatus.RETIRED
    if retired:
        # NOTE: retiring stops new sales only; subscribers keep renewing on the plan.
        w.record("plan.retired", events_pb2.PlanRetired(plan_id=plan.id, retire_time=timestamp(w.now)))
        changes = [name for name in changes if name != "state"]
    if changes:
        w.record("plan.updated", events_pb2.PlanUpdated(plan=message, changed_fields=changes))
