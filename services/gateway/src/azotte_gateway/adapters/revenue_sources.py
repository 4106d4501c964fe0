"""What revenue analytics reads outside its tables: catalog terms (cached briefly) and the streams to replay."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation

from nats.js.client import JetStreamContext

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte_gateway.domain.revenue import IntervalUnit
from azotte_gateway.ports import Peers, RecurringTerms
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.events.replay import replay_events
from azotte_platform.tax import TaxMode, TaxPolicy

_UNITS = {
    cat.INTERVAL_UNIT_DAY: IntervalUnit.DAY,
    cat.INTERVAL_UNIT_WEEK: IntervalUnit.WEEK,
    cat.INTERVAL_UNIT_MONTH: IntervalUnit.MONTH,
    cat.INTERVAL_UNIT_YEAR: IntervalUnit.YEAR,
}


def _tax(policy: cat.TaxPolicy) -> TaxPolicy:
    try:
        rate = Decimal(policy.rate or "0")
    except InvalidOperation:
        rate = Decimal(0)
    mode = TaxMode.INCLUSIVE if policy.mode == cat.TAX_MODE_INCLUSIVE else TaxMode.EXCLUSIVE
    return TaxPolicy(mode, rate)


class CatalogRecurringTerms:
    """Implements `ports.RevenueCatalog`: a plan's interval and a storefront's tax, kept `ttl_seconds`."""

    def __init__(self, peers: Peers, ttl_seconds: float = 60.0):
        self._peers = peers
        self._ttl = ttl_seconds
        self._known: dict[tuple[str, str, str], tuple[float, RecurringTerms]] = {}

    async def recurring_terms(self, tenant_id: str, plan_id: str, storefront_id: str) -> RecurringTerms:
        key = (tenant_id, plan_id, storefront_id)
        known = self._known.get(key)
        if known is not None and time.monotonic() - known[0] < self._ttl:
            return known[1]
        plan = (await self._peers.catalog.GetPlan(cat.GetPlanRequest(id=plan_id))).plan
        storefront = (await self._peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=storefront_id))).storefront
        interval = plan.billing_interval
        terms = RecurringTerms(
            _UNITS.get(interval.unit, IntervalUnit.MONTH), interval.count or 1, _tax(storefront.tax_policy)
        )
        self._known[key] = (time.monotonic(), terms)
        return terms


class JetStreamHistory:
    """Implements `ports.EventHistory` over the producers' JetStream streams."""

    def __init__(self, js: JetStreamContext):
        self._js = js

    def replay(self, producer: str, tenant_id: str) -> AsyncIterator[ReceivedEvent]:
        return replay_events(self._js, producer, tenant_id)
