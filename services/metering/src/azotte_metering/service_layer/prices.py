"""Usage prices: set per (storefront, plan, meter[, dimension values]) with their currency, read, removed."""

from __future__ import annotations

from collections.abc import Mapping

from azotte_metering.billing_ports import BillingUnitOfWork
from azotte_metering.domain.charges import PRICEABLE
from azotte_metering.domain.pricing import CURRENCY, UsagePrice
from azotte_metering.errors import MeterNotFound, MeterNotPriceable, UsagePriceNotFound
from azotte_platform.errors import InvalidArgument

MAX_PRICE_DIMENSIONS = 8


async def set_usage_price(uow: BillingUnitOfWork, tenant_id: str, price: UsagePrice) -> UsagePrice:
    """Create or replace the price of a meter's usage under a plan in a storefront."""
    for field, value in (
        ("storefront_id", price.storefront_id),
        ("plan_id", price.plan_id),
        ("meter_key", price.meter_key),
    ):
        if not value:
            raise InvalidArgument.field(f"price.{field}", "is required")
    if not CURRENCY.match(price.currency_code):
        raise InvalidArgument.field("price.currency_code", "must be an ISO 4217 code such as USD")
    if len(price.dimensions) > MAX_PRICE_DIMENSIONS:
        raise InvalidArgument.field("price.dimensions", f"at most {MAX_PRICE_DIMENSIONS} dimension values")
    aggregation = await uow.prices.meter_aggregation(tenant_id, price.meter_key)
    if aggregation is None:
        raise MeterNotFound(f"meter {price.meter_key!r} not found")
    if aggregation not in PRICEABLE:
        raise MeterNotPriceable(f"a {aggregation.upper()} meter cannot be priced over a period")
    # NOTE: one currency per plan and storefront, so a period's usage adds up to one charge.
    for other in await uow.prices.of_plan(tenant_id, price.storefront_id, price.plan_id):
        same_key = (other.meter_key, dict(other.dimensions)) == (price.meter_key, dict(price.dimensions))
        if not same_key and other.currency_code != price.currency_code:
            raise InvalidArgument.field(
                "price.currency_code", f"the plan's other usage prices in this storefront are in {other.currency_code}"
            )
    await uow.prices.put(tenant_id, price, uow.clock.now())
    return price


async def list_usage_prices(
    uow: BillingUnitOfWork, tenant_id: str, storefront_id: str, plan_id: str
) -> list[UsagePrice]:
    """A plan's usage prices in a storefront, by meter then dimension values."""
    if not storefront_id:
        raise InvalidArgument.field("storefront_id", "is required")
    if not plan_id:
        raise InvalidArgument.field("plan_id", "is required")
    prices = await uow.prices.of_plan(tenant_id, storefront_id, plan_id)
    return sorted(prices, key=lambda p: (p.meter_key, sorted(p.dimensions.items())))


async def delete_usage_price(
    uow: BillingUnitOfWork,
    tenant_id: str,
    storefront_id: str,
    plan_id: str,
    meter_key: str,
    dimensions: Mapping[str, str],
) -> None:
    """Remove a price (usage already rated keeps its amounts)."""
    if not await uow.prices.delete(tenant_id, storefront_id, plan_id, meter_key, dimensions):
        raise UsagePriceNotFound(
            f"no price of meter {meter_key!r} for plan {plan_id!r} in storefront {storefront_id!r}"
        )
