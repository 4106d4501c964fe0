"""The revenue stream in memory: `ports.RevenueRepository` computed from the entries themselves, every time."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from azotte_gateway.domain.revenue import (
    Balances,
    CampaignConversion,
    CampaignFigures,
    ChargeSeriesCounts,
    DayFigures,
    DeclineCount,
    EntryQuery,
    ExchangeRate,
    IntervalUnit,
    RevenueEntry,
    Slice,
    SubscriptionStanding,
    UsageFigures,
    VariantFigures,
    add_up,
    measures,
)
from azotte_gateway.ports import RecurringTerms
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.paging import Page, PageRequest
from azotte_platform.tax import TaxPolicy


@dataclass
class RevenueData:
    """What the revenue tables hold, per tenant."""

    entries: dict[str, list[RevenueEntry]] = field(default_factory=dict)
    standings: dict[tuple[str, str], SubscriptionStanding] = field(default_factory=dict)
    paying: Counter[tuple[str, str]] = field(default_factory=Counter)
    rates: dict[tuple[str, str], list[ExchangeRate]] = field(default_factory=dict)

    def copy(self) -> RevenueData:
        return copy.deepcopy(self)


EVERYTHING = Slice()


def _within(entry: RevenueEntry, where: Slice) -> bool:
    return all(not (want := getattr(where, name)) or getattr(entry, name) == want for name in vars(where))


class FakeRevenueRepository:
    """Implements `ports.RevenueRepository` over `RevenueData`."""

    def __init__(self, data: RevenueData):
        self._data = data

    def _of(self, tenant_id: str, where: Slice = EVERYTHING) -> list[RevenueEntry]:
        return [e for e in self._data.entries.get(tenant_id, []) if _within(e, where)]

    async def lock_tenant(self, tenant_id: str) -> None:
        return None

    async def recall(self, tenant_id: str, event_ids: Collection[str]) -> None:
        return None  # NOTE: `has` reads the entries themselves.

    async def has(self, tenant_id: str, event_id: str) -> bool:
        return any(e.event_id == event_id for e in self._of(tenant_id))

    async def add(self, tenant_id: str, entry: RevenueEntry) -> None:
        stream = self._data.entries.setdefault(tenant_id, [])
        stream.append(replace(entry, seq=len(stream) + 1))

    async def standing(self, tenant_id: str, subscription_id: str) -> SubscriptionStanding:
        return self._data.standings.get((tenant_id, subscription_id), SubscriptionStanding.unseen())

    async def save_standing(self, tenant_id: str, subscription_id: str, standing: SubscriptionStanding) -> None:
        self._data.standings[tenant_id, subscription_id] = standing

    async def count_paying(self, tenant_id: str, customer_id: str, delta: int) -> int:
        before = self._data.paying[tenant_id, customer_id]
        after = self._data.paying[tenant_id, customer_id] = max(before + delta, 0)
        return int(after > 0) - int(before > 0)

    async def count(self, tenant_id: str) -> int:
        return len(self._of(tenant_id))

    async def forget(self, tenant_id: str) -> None:
        self._data.entries.pop(tenant_id, None)
        self._data.standings = {k: v for k, v in self._data.standings.items() if k[0] != tenant_id}
        self._data.paying = Counter({k: v for k, v in self._data.paying.items() if k[0] != tenant_id})

    async def balances(self, tenant_id: str, where: Slice, before: datetime) -> list[Balances]:
        days = await self.days(tenant_id, where, datetime.min.replace(tzinfo=UTC), before)
        totals: dict[str, Balances] = {}
        for d in days:
            b = totals.get(d.currency, Balances(d.currency))
            totals[d.currency] = Balances(
                d.currency,
                b.mrr_minor + d.movements.net,
                b.trials + d.trial_delta,
                b.paying_subscriptions + d.paying_delta,
                b.paying_customers + d.customers_gained - d.customers_lost,
            )
        return [totals[c] for c in sorted(totals)]

    async def days(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DayFigures]:
        inside = [e for e in self._of(tenant_id, where) if start <= e.occur_time < end]
        return add_up((e.occur_time.astimezone(UTC).date(), e.currency, measures(e)) for e in inside)

    async def charge_series(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> ChargeSeriesCounts:
        series: dict[str, list[RevenueEntry]] = {}
        for e in self._of(tenant_id, where):
            if e.type in ("payment.succeeded", "payment.failed"):
                key = f"{e.subscription_id}/{e.period_key}" if e.subscription_id and e.period_key else e.charge_id
                series.setdefault(key, []).append(e)
        started = [charges for charges in series.values() if start <= charges[0].occur_time < end]
        return ChargeSeriesCounts(
            len(started),
            sum(charges[0].type == "payment.succeeded" for charges in started),
            sum(any(c.type == "payment.succeeded" for c in charges) for charges in started),
        )

    async def declines(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DeclineCount]:
        counted = Counter(
            (e.decline_reason, e.psp)
            for e in self._of(tenant_id, where)
            if e.type == "payment.failed" and start <= e.occur_time < end
        )
        return [DeclineCount(r, p, n) for (r, p), n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]

    async def campaigns(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[CampaignFigures]:
        paid = {e.charge_id: e.net_minor for e in self._of(tenant_id) if e.type == "payment.succeeded"}
        rows: dict[tuple[str, str], CampaignFigures] = {}
        for e in self._of(tenant_id, where):
            if e.type == "promotion.redeemed" and start <= e.occur_time < end:
                r = rows.get((e.promotion_id, e.currency), CampaignFigures(e.promotion_id, e.currency, 0, 0, 0))
                rows[e.promotion_id, e.currency] = CampaignFigures(
                    r.promotion_id,
                    r.currency,
                    r.redemptions + 1,
                    r.discount_minor + e.discount_minor,
                    r.revenue_minor + paid.get(e.charge_id, 0),
                )
        return [rows[k] for k in sorted(rows)]

    async def campaign_conversions(
        self, tenant_id: str, where: Slice, start: datetime, end: datetime
    ) -> list[CampaignConversion]:
        redeemed = [e for e in self._of(tenant_id) if e.type == "promotion.redeemed" and e.occur_time < end]
        counted: dict[tuple[str, str], tuple[int, int]] = {}
        for offer in self._of(tenant_id, where):
            if offer.type == "campaign.offer_issued" and start <= offer.occur_time < end:
                used = any(
                    r.customer_id == offer.customer_id
                    and r.promotion_id == offer.promotion_id
                    and r.occur_time >= offer.occur_time
                    for r in redeemed
                )
                issued, taken = counted.get((offer.campaign_id, offer.promotion_id), (0, 0))
                counted[offer.campaign_id, offer.promotion_id] = (issued + 1, taken + used)
        return [CampaignConversion(c, p, *counted[c, p]) for c, p in sorted(counted)]

    async def experiment(
        self, tenant_id: str, experiment_id: str, start: datetime, end: datetime
    ) -> list[VariantFigures]:
        since: dict[tuple[str, str], datetime] = {}
        for e in self._of(tenant_id):
            if e.type == "experiment.assigned" and e.experiment_id == experiment_id and start <= e.occur_time < end:
                key = (e.variant_id, e.customer_id)
                since[key] = min(since.get(key, e.occur_time), e.occur_time)
        figures: dict[str, VariantFigures] = {}
        for (variant_id, customer_id), first in sorted(since.items()):
            later = [e for e in self._of(tenant_id) if e.customer_id == customer_id and first <= e.occur_time < end]
            was = figures.get(variant_id, VariantFigures(variant_id, 0, 0, {}))
            revenue = dict(was.revenue_minor)
            for e in later:
                if e.type in ("payment.succeeded", "payment.refunded"):
                    revenue[e.currency] = revenue.get(e.currency, 0) + e.net_minor - e.refund_minor
            paying = any(e.customer_paying_delta > 0 for e in later)
            figures[variant_id] = VariantFigures(variant_id, was.assigned + 1, was.converted + paying, revenue)
        return [figures[v] for v in sorted(figures)]

    async def usage(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[UsageFigures]:
        sums: dict[tuple[str, str], UsageFigures] = {}
        for e in self._of(tenant_id, where):
            if not start <= e.occur_time < end:
                continue
            for line in e.usage:
                was = sums.get((line.meter_key, e.currency), UsageFigures(line.meter_key, e.currency, Decimal(0), 0, 0))
                sums[line.meter_key, e.currency] = UsageFigures(
                    line.meter_key,
                    e.currency,
                    was.quantity + line.quantity,
                    was.billed_minor + line.billed_minor,
                    was.credit_minor + line.credit_minor,
                )
        return [sums[k] for k in sorted(sums)]

    async def entries(self, tenant_id: str, query: EntryQuery, page: PageRequest) -> Page[RevenueEntry]:
        after = page.after_key()
        found = [
            e
            for e in self._of(tenant_id)
            if all(getattr(e, name) == value for name, value in query.equal.items())
            and (query.since is None or e.occur_time >= query.since)
            and (query.until is None or e.occur_time < query.until)
            and (after is None or e.seq > int(after))
        ]
        return page.page(found[: page.limit], lambda e: [e.seq])

    async def rates(self, tenant_id: str, reporting_currency: str) -> list[ExchangeRate]:
        return sorted(
            self._data.rates.get((tenant_id, reporting_currency), []), key=lambda r: (r.currency, r.effective_date)
        )

    async def put_rate(self, tenant_id: str, rate: ExchangeRate) -> None:
        stored = self._data.rates.setdefault((tenant_id, rate.reporting_currency), [])
        stored[:] = [r for r in stored if (r.currency, r.effective_date) != (rate.currency, rate.effective_date)]
        stored.append(rate)


class FixedTerms:
    """Implements `ports.RevenueCatalog`: every plan monthly, unless named in `yearly`; tax per storefront."""

    def __init__(self, taxes: dict[str, TaxPolicy] | None = None, yearly: tuple[str, ...] = ()):
        self._taxes = taxes or {}
        self._yearly = yearly

    async def recurring_terms(self, tenant_id: str, plan_id: str, storefront_id: str) -> RecurringTerms:
        unit = IntervalUnit.YEAR if plan_id in self._yearly else IntervalUnit.MONTH
        return RecurringTerms(unit, 1, self._taxes.get(storefront_id, TaxPolicy.none()))


class FakeHistory:
    """Implements `ports.EventHistory`: the events each producer published, per tenant, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, ReceivedEvent]] = []

    async def replay(self, producer: str, tenant_id: str) -> AsyncIterator[ReceivedEvent]:
        for source, event in list(self.published):
            if source == producer and event.tenant_id == tenant_id:
                yield event
