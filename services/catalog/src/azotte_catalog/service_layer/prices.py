"""Scheduling a price version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_catalog.domain.price import ExistingSubscribers, Price, PriceKey, schedule_price, versions_of
from azotte_catalog.domain.validation import Violations

from .writer import CatalogWriter


@dataclass(frozen=True)
class SchedulePrice:
    """A new version of a price; `effective_from` None means now (only for a key's first price)."""

    key: PriceKey
    amount_minor: int
    effective_from: datetime | None
    existing_subscribers: ExistingSubscribers


async def schedule_new_price(w: CatalogWriter, command: SchedulePrice) -> Price:
    """Add a price version; one scheduled ahead activates by itself at its effective time."""
    key = command.key
    v = Violations()
    if key.plan_id not in w.catalog.plan_map():
        v.add("plan_id", f"unknown plan {key.plan_id!r}")
    storefront = w.catalog.storefront_map().get(key.storefront_id)
    if storefront is None:
        v.add("storefront_id", f"unknown storefront {key.storefront_id!r}")
    v.raise_if_any("price")
    assert storefront is not None
    price = schedule_price(
        versions_of(w.catalog.prices, key),
        key,
        command.amount_minor,
        command.effective_from,
        command.existing_subscribers,
        storefront,
        w.now,
        "",
    )
    await w.add_price(price)
    return price
