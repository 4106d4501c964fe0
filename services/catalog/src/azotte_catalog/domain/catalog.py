"""A tenant's whole catalog, as it is (Catalog) and as a document wants it (CatalogDocument)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from .feature import Feature, validate_feature
from .mapping import ChannelMapping, validate_mapping, validate_mapping_refs
from .plan import Plan, validate_plan, validate_plan_refs
from .price import MAX_AMOUNT_MINOR, ExistingSubscribers, Price, PriceKey
from .storefront import Storefront, validate_storefront
from .texts import DEFAULT_LOCALE, check_locale
from .validation import Violations, check_aware, join

_T = TypeVar("_T")
Times = tuple[datetime, datetime]
"""When a resource was created and last updated."""


@dataclass(frozen=True)
class PriceEntry:
    """A price in a document; `effective_from` None means "the key's first price, effective now"."""

    key: PriceKey
    amount_minor: int
    effective_from: datetime | None = None
    existing_subscribers: ExistingSubscribers = ExistingSubscribers.GRANDFATHERED


@dataclass(frozen=True)
class Catalog:
    """Everything a tenant sells, as stored (price history included)."""

    storefronts: tuple[Storefront, ...] = ()
    features: tuple[Feature, ...] = ()
    plans: tuple[Plan, ...] = ()
    prices: tuple[Price, ...] = ()
    mappings: tuple[ChannelMapping, ...] = ()
    default_locale: str = DEFAULT_LOCALE
    """The locale of the resources' own names: the last step of every text fallback."""

    def storefront_map(self) -> dict[str, Storefront]:
        """Storefronts by id."""
        return {s.id: s for s in self.storefronts}

    def feature_map(self) -> dict[str, Feature]:
        """Features by key."""
        return {f.key: f for f in self.features}

    def plan_map(self) -> dict[str, Plan]:
        """Plans by id."""
        return {p.id: p for p in self.plans}


@dataclass(frozen=True)
class StoredCatalog:
    """A tenant's catalog with each resource's times, keyed by (kind, id): ("plan", "premium")."""

    catalog: Catalog
    times: Mapping[tuple[str, str], Times] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogDocument:
    """A declarative catalog: the state a tenant wants; applying it never deletes."""

    storefronts: tuple[Storefront, ...] = ()
    features: tuple[Feature, ...] = ()
    plans: tuple[Plan, ...] = ()
    prices: tuple[PriceEntry, ...] = ()
    mappings: tuple[ChannelMapping, ...] = ()
    default_locale: str = DEFAULT_LOCALE


def validate_document(doc: CatalogDocument) -> Violations:
    """Every violation of a document: each object, duplicate ids, and references inside the document."""
    v = Violations()
    check_locale(v, "default_locale", doc.default_locale)
    storefronts = _unique(v, "storefronts", [s.id for s in doc.storefronts], "id", doc.storefronts)
    features = _unique(v, "features", [f.key for f in doc.features], "key", doc.features)
    plans = _unique(v, "plans", [p.id for p in doc.plans], "id", doc.plans)
    _unique(v, "channel_mappings", [m.id for m in doc.mappings], "external_product_id", doc.mappings)
    for i, sf in enumerate(doc.storefronts):
        v.extend(validate_storefront(sf, join("storefronts", i)))
    for i, feature in enumerate(doc.features):
        v.extend(validate_feature(feature, join("features", i)))
    for i, plan in enumerate(doc.plans):
        v.extend(validate_plan(plan, join("plans", i)))
        v.extend(validate_plan_refs(plan, features, plans, join("plans", i)))
    for i, mapping in enumerate(doc.mappings):
        v.extend(validate_mapping(mapping, join("channel_mappings", i)))
        v.extend(validate_mapping_refs(mapping, plans, storefronts, join("channel_mappings", i)))
    _validate_price_entries(v, doc.prices, plans, storefronts)
    return v


def _unique(v: Violations, section: str, ids: list[str], field: str, items: tuple[_T, ...]) -> dict[str, _T]:
    seen: dict[str, _T] = {}
    for i, (item_id, item) in enumerate(zip(ids, items, strict=True)):
        if item_id in seen:
            v.add(join(join(section, i), field), f"duplicate {item_id!r}")
        else:
            seen[item_id] = item
    return seen


def _validate_price_entries(
    v: Violations,
    entries: tuple[PriceEntry, ...],
    plans: Mapping[str, Plan],
    storefronts: Mapping[str, Storefront],
) -> None:
    seen: set[tuple[PriceKey, datetime | None]] = set()
    for i, entry in enumerate(entries):
        path = join("prices", i)
        if entry.key.plan_id not in plans:
            v.add(join(path, "plan"), f"unknown plan {entry.key.plan_id!r}")
        storefront = storefronts.get(entry.key.storefront_id)
        if storefront is None:
            v.add(join(path, "storefront"), f"unknown storefront {entry.key.storefront_id!r}")
        elif entry.key.channel is not None and not storefront.sells_on(entry.key.channel):
            v.add(
                join(path, "channel"),
                f"channel {entry.key.channel} is not enabled in storefront {storefront.id!r}",
            )
        if not 0 <= entry.amount_minor <= MAX_AMOUNT_MINOR:
            v.add(join(path, "amount_minor"), "must be a whole number of minor units >= 0")
        if entry.effective_from is not None:
            check_aware(v, join(path, "effective_from"), entry.effective_from)
        if (entry.key, entry.effective_from) in seen:
            what = "omits effective_from" if entry.effective_from is None else "has this effective_from"
            v.add(join(path, "effective_from"), f"overlap: another price of {entry.key} {what}")
        seen.add((entry.key, entry.effective_from))
