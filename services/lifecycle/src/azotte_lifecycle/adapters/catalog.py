"""What lifecycle asks the catalog: a plan's interval, rank and trial, and its price in a storefront."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_lifecycle.adapters.protobuf import channel_to_pb, ts
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import Channel
from azotte_lifecycle.domain.subscription import PlanTerms
from azotte_platform.context import TENANT_HEADER
from azotte_platform.errors import FailedPrecondition


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """The parts of a catalog plan the lifecycle bills by."""

    plan_id: str
    interval: BillingInterval
    rank: int
    trial_days: int


@dataclass(frozen=True, slots=True)
class Price:
    """A resolved price in minor units, and the tax rate a charge adds on top of it.

    `added_tax_rate` is the storefront's rate when its prices exclude tax, 0 when they include it.
    """

    amount_minor: int
    currency_code: str
    added_tax_rate: Decimal = Decimal(0)


class Catalog(Protocol):
    """The catalog service as lifecycle uses it."""

    async def plan(self, tenant_id: str, plan_id: str) -> PlanInfo: ...

    async def price(
        self, tenant_id: str, plan_id: str, storefront_id: str, channel: Channel, at: datetime
    ) -> Price: ...


@dataclass(frozen=True, slots=True)
class PlanQuote:
    """Plan terms priced for a storefront and channel, and the plan's trial length."""

    terms: PlanTerms
    trial_days: int


async def quote(
    catalog: Catalog, tenant_id: str, plan_id: str, storefront_id: str, channel: Channel, at: datetime
) -> PlanQuote:
    """Fetch a plan and its price together."""
    plan, price = await asyncio.gather(
        catalog.plan(tenant_id, plan_id), catalog.price(tenant_id, plan_id, storefront_id, channel, at)
    )
    terms = PlanTerms(plan.plan_id, price.amount_minor, price.currency_code, plan.interval, plan.rank)
    return PlanQuote(terms, plan.trial_days)


class GrpcCatalog:
    """Catalog over gRPC (`connect(settings.catalog_addr)`)."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)

    async def plan(self, tenant_id: str, plan_id: str) -> PlanInfo:
        response = await self._stub.GetPlan(catalog_pb2.GetPlanRequest(id=plan_id), metadata=_tenant(tenant_id))
        plan = response.plan
        unit_name = catalog_pb2.IntervalUnit.Name(plan.billing_interval.unit).removeprefix("INTERVAL_UNIT_")
        if unit_name not in IntervalUnit.__members__:
            raise FailedPrecondition(f"plan {plan_id} has no billing interval", reason="PLAN_NOT_BILLABLE")
        interval = BillingInterval(IntervalUnit[unit_name], plan.billing_interval.count or 1)
        return PlanInfo(plan.id, interval, plan.rank, plan.trial_days)

    async def price(self, tenant_id: str, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        request = catalog_pb2.ResolvePriceRequest(
            plan_id=plan_id, storefront_id=storefront_id, channel=channel_to_pb(channel), at_time=ts(at)
        )
        response = await self._stub.ResolvePrice(request, metadata=_tenant(tenant_id))
        tax = response.tax_policy
        added = Decimal(tax.rate or "0") if tax.mode == catalog_pb2.TAX_MODE_EXCLUSIVE else Decimal(0)
        return Price(response.amount.amount_minor, response.amount.currency_code, added)


def _tenant(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return ((TENANT_HEADER, tenant_id),)
