"""A plan as a subscription bills it: its interval, rank and trial from the catalog, its price in a storefront."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from azotte_lifecycle.domain.subscription import PlanTerms
from azotte_lifecycle.ports import Catalog
from azotte_platform.enums import Channel


@dataclass(frozen=True, slots=True)
class PlanQuote:
    """Plan terms priced for a storefront and channel, the plan's trial length, family and add-on flag, and
    the storefront's notice period for price increases."""

    terms: PlanTerms
    trial_days: int
    family: str = ""
    add_on: bool = False
    increase_notice_days: int = 0


async def quote(catalog: Catalog, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> PlanQuote:
    """Fetch a plan and its price together."""
    plan, price = await asyncio.gather(catalog.plan(plan_id), catalog.price(plan_id, storefront_id, channel, at))
    terms = PlanTerms(plan.plan_id, price.amount_minor, price.currency_code, plan.interval, plan.rank)
    return PlanQuote(terms, plan.trial_days, plan.family, plan.add_on, price.increase_notice_days)
