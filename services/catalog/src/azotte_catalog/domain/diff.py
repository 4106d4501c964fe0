"""The difference between a tenant's catalog and a desired document, checked before anything is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from azotte_platform.errors import FieldViolation

from .branding import Branding
from .catalog import Catalog, CatalogDocument, PriceEntry
from .coverage import text_warnings
from .plan import PlanStatus, can_transition
from .price import Price, check_price, schedule_price, versions_of
from .validation import Violations, join


class ResourceKind(StrEnum):
    """The kinds of catalog resources a document holds."""

    STOREFRONT = "storefront"
    FEATURE = "feature"
    PLAN = "plan"
    PRICE = "price"
    CHANNEL_MAPPING = "channel_mapping"
    CATALOG = "catalog"
    """The catalog's own settings (its default locale)."""


class Change(StrEnum):
    """What applying a document does to one resource."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED_FROM_DOCUMENT = "removed_from_document"


@dataclass(frozen=True)
class DiffEntry:
    """One resource's change; `fields` names what an update changes."""

    kind: ResourceKind
    id: str
    change: Change
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogDiff:
    """Every change of an apply, and the catalog it results in."""

    entries: tuple[DiffEntry, ...]
    result: Catalog
    warnings: tuple[FieldViolation, ...] = ()
    """What the document leaves to fallbacks: a storefront locale without a text of a resource it shows."""

    def of(self, change: Change) -> list[DiffEntry]:
        """The entries with this change."""
        return [e for e in self.entries if e.change is change]

    @property
    def writes_anything(self) -> bool:
        """Whether applying creates or updates anything."""
        return any(e.change in (Change.CREATED, Change.UPDATED) for e in self.entries)


_T = TypeVar("_T")


def diff_catalog(current: Catalog, desired: CatalogDocument, now: datetime) -> CatalogDiff:
    """What applying a parsed document at `now` does, or InvalidArgument naming every blocking field."""
    # NOTE: applying never deletes: what the document leaves out is only reported as
    # removed_from_document, because live subscriptions, store mappings and price history may still
    # point at it (retire a plan with status: retired instead).
    v = Violations()
    entries: list[DiffEntry] = []
    storefronts = _diff(entries, ResourceKind.STOREFRONT, current.storefronts, desired.storefronts, lambda s: s.id)
    features = _diff(entries, ResourceKind.FEATURE, current.features, desired.features, lambda f: f.key)
    plans = _diff(entries, ResourceKind.PLAN, current.plans, desired.plans, lambda p: p.id)
    mappings = _diff(entries, ResourceKind.CHANNEL_MAPPING, current.mappings, desired.mappings, lambda m: m.id)
    _check_updates(v, current, desired)
    prices = _diff_prices(v, entries, current, desired, now)
    v.raise_if_any("catalog document")
    if desired.default_locale != current.default_locale:
        entries.append(DiffEntry(ResourceKind.CATALOG, "catalog", Change.UPDATED, ("default_locale",)))
    result = Catalog(storefronts, features, plans, prices, mappings, desired.default_locale)
    return CatalogDiff(tuple(entries), result, text_warnings(desired))


def _diff(
    entries: list[DiffEntry],
    kind: ResourceKind,
    current: Sequence[_T],
    desired: Sequence[_T],
    ident: Callable[[_T], str],
) -> tuple[_T, ...]:
    existing = {ident(item): item for item in current}
    wanted = {ident(item) for item in desired}
    for item in desired:
        before = existing.get(ident(item))
        if before is None:
            entries.append(DiffEntry(kind, ident(item), Change.CREATED))
        elif before == item:
            entries.append(DiffEntry(kind, ident(item), Change.UNCHANGED))
        else:
            entries.append(DiffEntry(kind, ident(item), Change.UPDATED, _changed_fields(before, item)))
    kept = [item for item in current if ident(item) not in wanted]
    entries.extend(DiffEntry(kind, ident(item), Change.REMOVED_FROM_DOCUMENT) for item in kept)
    return (*desired, *kept)


def _changed_fields(before: Any, after: Any) -> tuple[str, ...]:
    """The fields an update changes; texts by locale (`texts.de`) and branding by field (`branding.logo_url`)."""
    changed: list[str] = []
    for name in (f.name for f in fields(before)):
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        if name == "texts":
            old_texts, new_texts = dict(old), dict(new)
            tags = sorted(old_texts.keys() | new_texts.keys())
            changed.extend(f"texts.{tag}" for tag in tags if old_texts.get(tag) != new_texts.get(tag))
        elif isinstance(old, Branding):
            changed.extend(f"branding.{f.name}" for f in fields(old) if getattr(old, f.name) != getattr(new, f.name))
        else:
            changed.append(name)
    return tuple(changed)


def _check_updates(v: Violations, current: Catalog, desired: CatalogDocument) -> None:
    priced_storefronts = {p.key.storefront_id for p in current.prices}
    old_storefronts = current.storefront_map()
    for i, sf in enumerate(desired.storefronts):
        before = old_storefronts.get(sf.id)
        if before and before.currency != sf.currency and sf.id in priced_storefronts:
            v.add(
                join(join("storefronts", i), "currency"),
                f"cannot change from {before.currency} to {sf.currency}: storefront {sf.id!r} has prices",
            )
    old_features = current.feature_map()
    for i, feature in enumerate(desired.features):
        was = old_features.get(feature.key)
        if was and was.kind != feature.kind:
            # NOTE: grants already issued depend on the kind; a new kind needs a new key.
            v.add(join(join("features", i), "kind"), f"cannot change from {was.kind} to {feature.kind}")
    old_plans = current.plan_map()
    for i, plan in enumerate(desired.plans):
        old = old_plans.get(plan.id)
        if old is None:
            continue
        if not can_transition(old.status, plan.status):
            v.add(join(join("plans", i), "status"), f"plan is {old.status}; it cannot become {plan.status}")
        if old.status is not PlanStatus.DRAFT and old.interval != plan.interval:
            # NOTE: subscribers renew on the plan's interval; a sold plan keeps it (create a new plan).
            v.add(join(join("plans", i), "interval"), f"cannot change once the plan has been {old.status}")


def _diff_prices(
    v: Violations, entries: list[DiffEntry], current: Catalog, desired: CatalogDocument, now: datetime
) -> tuple[Price, ...]:
    storefronts = {s.id: s for s in desired.storefronts}
    history = list(current.prices)
    matched: set[str] = set()
    # NOTE: entries without effective_from go first: each stands for its key's first price.
    order = sorted(range(len(desired.prices)), key=lambda i: desired.prices[i].effective_from is not None)
    for i in order:
        entry, path = desired.prices[i], join("prices", i)
        existing = _existing_version(history, entry)
        if existing is not None:
            if existing.id not in matched and _same_terms(existing, entry):
                matched.add(existing.id)
                entries.append(DiffEntry(ResourceKind.PRICE, existing.id, Change.UNCHANGED))
            else:
                v.add(
                    join(path, "effective_from"),
                    f"overlaps price {existing.id!r}: price versions are history and cannot change; "
                    "schedule a new version with a later effective_from",
                )
            continue
        storefront = storefronts.get(entry.key.storefront_id)
        if storefront is None:
            v.add(join(path, "storefront"), f"unknown storefront {entry.key.storefront_id!r}")
            continue
        key_history = versions_of(history, entry.key)
        violations = check_price(
            key_history, entry.key, entry.amount_minor, entry.effective_from, storefront, now, path
        )
        if violations:
            v.extend(violations)
            continue
        price = schedule_price(
            key_history,
            entry.key,
            entry.amount_minor,
            entry.effective_from,
            entry.existing_subscribers,
            storefront,
            now,
            path,
        )
        history.append(price)
        matched.add(price.id)
        entries.append(DiffEntry(ResourceKind.PRICE, price.id, Change.CREATED))
    entries.extend(
        DiffEntry(ResourceKind.PRICE, p.id, Change.REMOVED_FROM_DOCUMENT) for p in current.prices if p.id not in matched
    )
    return tuple(history)


def _existing_version(history: Sequence[Price], entry: PriceEntry) -> Price | None:
    versions = versions_of(history, entry.key)
    if entry.effective_from is None:
        # NOTE: "effective now" in a re-applied document means the first price the key ever had.
        return versions[0] if versions else None
    return next((p for p in versions if p.effective_from == entry.effective_from), None)


def _same_terms(price: Price, entry: PriceEntry) -> bool:
    return price.amount_minor == entry.amount_minor and price.existing_subscribers is entry.existing_subscribers
