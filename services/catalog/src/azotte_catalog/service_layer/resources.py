"""Use cases of storefronts, features and channel product mappings."""

from __future__ import annotations

from azotte_catalog.domain.events import (
    ChannelMappingCreated,
    FeatureCreated,
    FeatureUpdated,
    StorefrontCreated,
    StorefrontUpdated,
)
from azotte_catalog.domain.feature import Feature, validate_feature
from azotte_catalog.domain.mapping import ChannelMapping, validate_mapping, validate_mapping_refs
from azotte_catalog.domain.storefront import Storefront, validate_storefront
from azotte_catalog.errors import (
    ChannelMappingAlreadyExists,
    FeatureAlreadyExists,
    FeatureKindFixed,
    StorefrontAlreadyExists,
    StorefrontCurrencyFixed,
)

from .writer import CatalogWriter, changed_fields


async def create_storefront(w: CatalogWriter, storefront: Storefront) -> Storefront:
    """Add a storefront."""
    validate_storefront(storefront, "storefront").raise_if_any("storefront")
    if storefront.id in w.catalog.storefront_map():
        raise StorefrontAlreadyExists(
            f"storefront.id: storefront {storefront.id!r} already exists", metadata={"field": "storefront.id"}
        )
    times = await w.save_storefront(storefront)
    w.publish(StorefrontCreated(storefront, times))
    return storefront


async def update_storefront(w: CatalogWriter, storefront: Storefront) -> Storefront:
    """Change a storefront; its currency is fixed once it has prices."""
    before = w.storefront(storefront.id)
    validate_storefront(storefront, "storefront").raise_if_any("storefront")
    if before.currency != storefront.currency and any(p.key.storefront_id == before.id for p in w.catalog.prices):
        raise StorefrontCurrencyFixed(
            f"storefront.currency_code: storefront {before.id!r} has prices in {before.currency}; "
            "its currency cannot change",
            metadata={"field": "storefront.currency_code"},
        )
    changes = changed_fields(before, storefront)
    if not changes:
        return before
    times = await w.save_storefront(storefront)
    w.publish(StorefrontUpdated(storefront, times, changes))
    return storefront


async def create_feature(w: CatalogWriter, feature: Feature) -> Feature:
    """Add a feature."""
    validate_feature(feature, "feature").raise_if_any("feature")
    if feature.key in w.catalog.feature_map():
        raise FeatureAlreadyExists(
            f"feature.key: feature {feature.key!r} already exists", metadata={"field": "feature.key"}
        )
    await w.save_feature(feature)
    w.publish(FeatureCreated(feature))
    return feature


async def update_feature(w: CatalogWriter, feature: Feature) -> Feature:
    """Change a feature's name, unit or reset period; its kind is fixed."""
    before = w.feature(feature.key)
    validate_feature(feature, "feature").raise_if_any("feature")
    if before.kind != feature.kind:
        # NOTE: grants already issued depend on the kind; a new kind needs a new key.
        raise FeatureKindFixed(
            f"feature.kind: feature {before.key!r} is {before.kind}; its kind cannot change",
            metadata={"field": "feature.kind"},
        )
    changes = changed_fields(before, feature)
    if not changes:
        return before
    await w.save_feature(feature)
    w.publish(FeatureUpdated(feature, changes))
    return feature


async def create_channel_mapping(w: CatalogWriter, mapping: ChannelMapping) -> ChannelMapping:
    """Map a store's product id to a plan."""
    path = "channel_mapping"
    v = validate_mapping(mapping, path)
    v.extend(validate_mapping_refs(mapping, w.catalog.plan_map(), w.catalog.storefront_map(), path))
    v.raise_if_any("channel mapping")
    if any(m.id == mapping.id for m in w.catalog.mappings):
        field = "channel_mapping.external_product_id"
        raise ChannelMappingAlreadyExists(
            f"{field}: channel_mapping {mapping.id!r} already exists", metadata={"field": field}
        )
    await w.save_mapping(mapping)
    w.publish(ChannelMappingCreated(mapping))
    return mapping
