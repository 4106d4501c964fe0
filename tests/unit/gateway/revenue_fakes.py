"""The revenue stream in memory: `ports.RevenueRepository` computed from the entries themselves, every time."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from azotte_gateway.domain.revenue import (
    Balances,
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
