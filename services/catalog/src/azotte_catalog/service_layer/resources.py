"""Use cases of storefronts, features and channel product mappings."""

from __future__ import annotations

from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters.proto import (
    FEATURE_FIELDS,
    MAPPING_FIELDS,
    STOREFRONT_FIELDS,
    feature_to_proto,
    mapping_to_proto,
    storefront_to_proto,
)
from azotte_catalog.domain.feature import Feature, validate_feature
from azotte_catalog.domain.mapping import ChannelMapping, validate_mapping, validate_mapping_refs
from azotte_catalog.domain.storefront import Storefront, validate_storefront
from azotte_platform.errors import AlreadyExists, FailedPrecondition

from .writer import CatalogWriter, changed_fields, raise_invalid


def _already_exists(kind: str, field: str, value: str) -> AlreadyExists:
    return AlreadyExists(
        f"{field}: {kind} {value!r} already exists",
        reason=f"{kind.upper()}_ALREADY_EXISTS",
        metadata={"field": field},
    )


async def create_storefront(w: CatalogWriter, storefront: Storefront) -> Storefront:
    """Add a storefront."""
    raise_invalid(validate_storefront(storefront, "storefront"), "storefront", STOREFRONT_FIELDS)
    if storefront.id in w.catalog.storefront_map():
        raise _already_exists("storefront", "storefront.id", storefront.id)
    times = await w.save_storefront(storefront)
    w.record("storefront.created", events_pb2.StorefrontCreated(storefront=storefront_to_proto(storefront, times)))
    return storefront


async def update_storefront(w: CatalogWriter, storefront: Storefront) -> Storefront:
    """Change a storefront; its currency is fixed once it has prices."""
    before = w.storefront(storefront.id)
    raise_invalid(validate_storefront(storefront, "storefront"), "storefront", STOREFRONT_FIELDS)
    if before.currency != storefront.currency and any(p.key.storefront_id == before.id for p in w.catalog.prices):
        raise FailedPrecondition(
            f"storefront {before.id!r} has prices in {before.currency}; its currency cannot change",
            reason="STOREFRONT_CURRENCY_FIXED",
        )
    changes = changed_fields(before, storefront, STOREFRONT_FIELDS)
    if not changes:
        return before
    times = await w.save_storefront(storefront)
    w.record(
        "storefront.updated",
        events_pb2.StorefrontUpdated(storefront=storefront_to_proto(storefront, times), changed_fields=changes),
    )
    return storefront


async def create_feature(w: CatalogWriter, feature: Feature) -> Feature:
    """Add a feature."""
    raise_invalid(validate_feature(feature, "feature"), "feature", FEATURE_FIELDS)
    if feature.key in w.catalog.feature_map():
        raise _already_exists("feature", "feature.key", feature.key)
    await w.save_feature(feature)
    w.record("feature.created", events_pb2.FeatureCreated(feature=feature_to_proto(feature)))
    return feature


async def update_feature(w: CatalogWriter, feature: Feature) -> Feature:
    """Change a feature's name, unit or reset period; its kind is fixed."""
    before = w.feature(feature.key)
    raise_invalid(validate_feature(feature, "feature"), "feature", FEATURE_FIELDS)
    if before.kind != feature.kind:
        # NOTE: grants already issued depend on the kind; a new kind needs a new key.
        raise FailedPrecondition(
            f"feature {before.key!r} is {before.kind}; its kind cannot change", reason="FEATURE_KIND_FIXED"
        )
    changes = changed_fields(before, feature, FEATURE_FIELDS)
    if not changes:
        return before
    await w.save_feature(feature)
    w.record("feature.updated", events_pb2.FeatureUpdated(feature=feature_to_proto(feature), changed_fields=changes))
    return feature


async def create_channel_mapping(w: CatalogWriter, mapping: ChannelMapping) -> ChannelMapping:
    """Map a store's product id to a plan."""
    path = "channel_mapping"
    v = validate_mapping(mapping, path)
    v.extend(validate_mapping_refs(mapping, w.catalog.plan_map(), w.catalog.storefront_map(), path))
    raise_invalid(v, "channel mapping", MAPPING_FIELDS)
    if any(m.id == mapping.id for m in w.catalog.mappings):
        raise _already_exists("channel_mapping", "channel_mapping.external_product_id", mapping.id)
    await w.save_mapping(mapping)
    w.record("channel_mapping.created", events_pb2.ChannelMappingCreated(channel_mapping=mapping_to_proto(mapping)))
    return mapping
