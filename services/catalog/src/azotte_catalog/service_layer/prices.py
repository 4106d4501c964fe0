"""Scheduling a price version, and withdrawing one before it takes effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_catalog.domain.price import ExistingSubscribers, Price, PriceKey, schedule_price, versions_of
from azotte_catalog.domain.validation import Violations
from azotte_catalog.errors import PriceAlreadyEffective, PriceVersionNotFound

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


async def cancel_scheduled_price(w: CatalogWriter, price_id: str) -> Price:
    """Withdraw a price version that has not taken effect; one in effect (or past) is history and stays."""
    price = next((p for p in w.catalog.prices if p.id == price_id), None)
    if price is None:
        raise PriceVersionNotFound(f"price {price_id!r} not found")
    if price.effective_from <= w.now:
        raise PriceAlreadyEffective(
            f"price_id: price {price_id!r} took effect at {price.effective_from.isoformat()}; "
            "schedule a new version instead",
            metadata={"field": "price_id"},
        )
    await w.cancel_price(price)
    return price
