"""Catalog as code: apply a whole document in one transaction, or only compute what it would change."""

from __future__ import annotations

from azotte_catalog.domain.catalog import Catalog, CatalogDocument
from azotte_catalog.domain.diff import CatalogDiff, Change, DiffEntry, ResourceKind, diff_catalog
from azotte_catalog.domain.events import (
    CatalogApplied,
    ChannelMappingCreated,
    ChannelMappingUpdated,
    FeatureCreated,
    FeatureUpdated,
    PlanCreated,
    PlanRetired,
    PlanUpdated,
    StorefrontCreated,
    StorefrontUpdated,
)
from azotte_catalog.domain.plan import PlanStatus
from azotte_catalog.ports import CatalogUnitOfWork

from .writer import CatalogWriter, changed_fields


async def preview_document(uow: CatalogUnitOfWork, tenant_id: str, document: CatalogDocument) -> CatalogDiff:
    """What applying the document would change in the tenant's catalog as stored now; writes nothing."""
    stored = await uow.catalog.load(tenant_id)
    return diff_catalog(stored.catalog, document, uow.clock.now())


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
    w.publish(CatalogApplied(diff.entries, w.now))
    return diff


class _Index:
    """The resulting catalog's resources by kind and id."""

    def __init__(self, catalog: Catalog):
        self.storefronts = catalog.storefront_map()
        self.features = catalog.feature_map()
        self.plans = catalog.plan_map()
        self.prices = {p.id: p for p in catalog.prices}
        self.mappings = {m.id: m for m in catalog.mappings}
        self.default_locale = catalog.default_locale


async def _write(w: CatalogWriter, entry: DiffEntry, result: _Index, before: Catalog) -> None:
    created = entry.change is Change.CREATED
    if entry.kind is ResourceKind.STOREFRONT:
        storefront = result.storefronts[entry.id]
        times = await w.save_storefront(storefront)
        if created:
            w.publish(StorefrontCreated(storefront, times))
        else:
            changes = changed_fields(before.storefront_map()[entry.id], storefront)
            w.publish(StorefrontUpdated(storefront, times, changes))
    elif entry.kind is ResourceKind.FEATURE:
        feature = result.features[entry.id]
        await w.save_feature(feature)
        if created:
            w.publish(FeatureCreated(feature))
        else:
            w.publish(FeatureUpdated(feature, changed_fields(before.feature_map()[entry.id], feature)))
    elif entry.kind is ResourceKind.PLAN:
        await _write_plan(w, entry, result, before)
    elif entry.kind is ResourceKind.PRICE:
        await w.add_price(result.prices[entry.id])
    elif entry.kind is ResourceKind.CATALOG:
        await w.save_default_locale(result.default_locale)
    else:
        mapping = result.mappings[entry.id]
        await w.save_mapping(mapping)
        if created:
            w.publish(ChannelMappingCreated(mapping))
        else:
            old = next(m for m in before.mappings if m.id == entry.id)
            w.publish(ChannelMappingUpdated(mapping, changed_fields(old, mapping)))


async def _write_plan(w: CatalogWriter, entry: DiffEntry, result: _Index, before: Catalog) -> None:
    plan = result.plans[entry.id]
    times = await w.save_plan(plan)
    if entry.change is Change.CREATED:
        w.publish(PlanCreated(plan, times))
        return
    old = before.plan_map()[entry.id]
    changes = changed_fields(old, plan)
    retired = plan.status is PlanStatus.RETIRED and old.status is not PlanStatus.RETIRED
    if retired:
        # NOTE: retiring stops new sales only; subscribers keep renewing on the plan.
        w.publish(PlanRetired(plan.id, w.now))
        changes = tuple(name for name in changes if name != "status")
    if changes:
        w.publish(PlanUpdated(plan, times, changes))
