"""The revenue stream and its read models over PostgreSQL: every figure is a sum over `revenue_entries`."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.revenue_tables import (
    SERIES_MEASURES,
    exchange_rates,
    revenue_charge_series,
    revenue_customers,
    revenue_days,
    revenue_entries,
    revenue_subscriptions,
    revenue_usage,
)
from azotte_gateway.domain.revenue import (
    MEASURES,
    Balances,
    CampaignConversion,
    CampaignFigures,
    ChargeSeriesCounts,
    DayFigures,
    DeclineCount,
    EntryQuery,
    ExchangeRate,
    Movement,
    RevenueEntry,
    Slice,
    Standing,
    SubscriptionStanding,
    UsageFigures,
    VariantFigures,
    add_up,
    measures,
)
from azotte_platform.db.bulk import as_arrays, insert_unnested, replacing
from azotte_platform.paging import Page, PageRequest

e = revenue_entries.c
_CHARGES = ("payment.succeeded", "payment.failed")


def _sliced(table: sa.Table, tenant_id: str, where: Slice) -> list[sa.ColumnElement[bool]]:
    """The tenant's rows of `table` within the slice (every revenue table names its slice columns alike)."""
    c = table.c
    conditions: list[sa.ColumnElement[bool]] = [c.tenant_id == tenant_id]
    for name in ("storefront_id", "channel", "plan_id", "currency"):
        if value := getattr(where, name):
            conditions.append(c[name] == value)
    return conditions


def _slice_of(entry: RevenueEntry) -> Slice:
    return Slice(entry.storefront_id, entry.channel, entry.plan_id, entry.currency)


def _whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and last UTC midnights within [start, end]: whole days lie between them."""
    first = datetime.combine(start.astimezone(UTC).date(), time.min, UTC)
    if first < start:
        first += timedelta(days=1)
    return first, datetime.combine(end.astimezone(UTC).date(), time.min, UTC)


def _entry(row: Any) -> RevenueEntry:
    values = {name: getattr(row, name) for name in RevenueEntry.__dataclass_fields__ if name != "usage"}
    values["movement"] = Movement(row.movement)
    return RevenueEntry(**values)


def _standing_row(key: tuple[str, str], standing: SubscriptionStanding) -> dict[str, Any]:
    return {
        "tenant_id": key[0],
        "subscription_id": key[1],
        "standing": standing.standing.value,
        "mrr_minor": standing.mrr_minor,
        "ever_paid": standing.ever_paid,
        "in_dunning": standing.in_dunning,
    }


# NOTE: the statements run for every revenue event are built once: building one costs more than running it.
_HAS_ENTRY = sa.select(e.seq).where(e.tenant_id == sa.bindparam("tenant_id"), e.event_id == sa.bindparam("event_id"))
_RECORDED_AMONG = sa.select(e.event_id).where(
    e.tenant_id == sa.bindparam("tenant_id"), e.event_id == sa.any_(sa.bindparam("event_ids", type_=ARRAY(sa.Text)))
)
_ENTRY_COLUMNS = tuple(c.name for c in revenue_entries.c if c.name != "seq")
_ADD_ENTRIES = insert_unnested(revenue_entries, _ENTRY_COLUMNS)
# NOTE: an entry's columns, read field by field: `dataclasses.asdict` copies deeply, at fifteen times the cost.
_ENTRY_FIELDS = tuple(f.name for f in fields(RevenueEntry) if f.name not in ("seq", "usage"))
_ADD_USAGE = insert(revenue_usage)
_s = revenue_subscriptions.c
_STANDING = sa.select(_s.standing, _s.mrr_minor, _s.ever_paid, _s.in_dunning).where(
    _s.tenant_id == sa.bindparam("tenant_id"), _s.subscription_id == sa.bindparam("subscription_id")
)
_STANDING_COLUMNS = tuple(c.name for c in revenue_subscriptions.c)
_SAVE_STANDINGS = replacing(insert_unnested(revenue_subscriptions, _STANDING_COLUMNS))
_COUNT_PAYING = (
    insert(revenue_customers)
    .on_conflict_do_update(
        index_elements=["tenant_id", "customer_id"],
        set_={
            "paying_subscriptions": sa.func.greatest(
                revenue_customers.c.paying_subscriptions + sa.bindparam("delta", type_=sa.BigInteger), 0
            )
        },
    )
    .returning(revenue_customers.c.paying_subscriptions)
)
_series = revenue_charge_series.c
_START_SERIES = insert(revenue_charge_series).on_conflict_do_nothing().returning(_series.start_time)
_SERIES_SUCCEEDED = (
    sa.update(revenue_charge_series)
    .where(
        _series.tenant_id == sa.bindparam("tenant"),
        _series.series_key == sa.bindparam("series"),
        sa.not_(_series.succeeded),
    )
    .values(succeeded=True)
    .returning(_series.start_time, _series.currency, _series.storefront_id, _series.channel, _series.plan_id)
)
_DAY = insert(revenue_days)
_ADD_TO_DAY = _DAY.on_conflict_do_update(
    index_elements=["tenant_id", "day", "currency", "storefront_id", "channel", "plan_id"],
    set_={c.name: c + _DAY.excluded[c.name] for c in revenue_days.c if not c.primary_key},
)
"""Add counts to days: each row's key and the counts added (every count, 0 for none) are parameters."""


@dataclass
class PendingRevenue:
    """What a transaction added to the revenue stream and not yet wrote: its entries (with their usage lines) in
    order, the counts added to each day, added up per day row, and the subscriptions' standings it saved; and
    what it knows: which events are in the stream, and the standings it read or saved."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    # (tenant, event id) of the events the transaction recorded, and of those it asked about at once (`recall`).
    recorded: set[tuple[str, str]] = field(default_factory=set)
    checked: set[tuple[str, str]] = field(default_factory=set)
    usage: list[dict[str, Any]] = field(default_factory=list)
    days: dict[tuple[Any, ...], dict[str, int]] = field(default_factory=dict)
    standings: dict[tuple[str, str], SubscriptionStanding] = field(default_factory=dict)
    saved: set[tuple[str, str]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.entries or self.days or self.saved)


_DAY_KEY = ("tenant_id", "day", "currency", "storefront_id", "channel", "plan_id")
_DAY_COUNTS = tuple(c.name for c in revenue_days.c if not c.primary_key)

R = TypeVar("R")
P = ParamSpec("P")


def _flushed(
    read: Callable[Concatenate[PostgresRevenueRepository, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[PostgresRevenueRepository, P], Coroutine[Any, Any, R]]:
    """A read that sees what its transaction added: the pending writes go first."""

    async def flushed(self: PostgresRevenueRepository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        await self.flush()
        return await read(self, *args, **kwargs)

    return flushed


class PostgresRevenueRepository:
    """Implements `ports.RevenueRepository` over one connection.

    `locked` holds the tenants whose lock the transaction took: it holds them until it ends, so a tenant's
    lock is asked for once however many of its events the transaction applies. `pending` holds the entries
    and day counts added and not yet written: a transaction applying many events writes them with one statement
    per table, when it commits (`flush`) or before it reads them.
    """

    def __init__(
        self, connection: AsyncConnection, locked: set[str] | None = None, pending: PendingRevenue | None = None
    ):
        self._connection = connection
        self._locked = set() if locked is None else locked
        self._pending = PendingRevenue() if pending is None else pending

    async def flush(self) -> None:
        """Write what was added: the entries in the order added, then their usage lines and the days' counts."""
        pending = self._pending
        if not pending:
            return
        entries, usage, days, saved = pending.entries, pending.usage, pending.days, pending.saved
        pending.entries, pending.usage, pending.days, pending.saved = [], [], {}, set()
        if entries:
            await self._connection.execute(_ADD_ENTRIES, as_arrays(entries, _ENTRY_COLUMNS))
        if usage:
            await self._connection.execute(_ADD_USAGE, usage)
        if days:
            rows = [
                {**dict(zip(_DAY_KEY, key, strict=True)), **{name: added.get(name, 0) for name in _DAY_COUNTS}}
                for key, added in sorted(days.items())
            ]
            await self._connection.execute(_ADD_TO_DAY, rows)
        if saved:
            standings = [_standing_row(key, pending.standings[key]) for key in sorted(saved)]
            await self._connection.execute(_SAVE_STANDINGS, as_arrays(standings, _STANDING_COLUMNS))

    async def lock_tenant(self, tenant_id: str) -> None:
        if tenant_id in self._locked:
            return
        key = zlib.crc32(f"revenue:{tenant_id}".encode())
        await self._connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        self._locked.add(tenant_id)

    async def recall(self, tenant_id: str, event_ids: Collection[str]) -> None:
        found = await self._connection.execute(_RECORDED_AMONG, {"tenant_id": tenant_id, "event_ids": list(event_ids)})
        pending = self._pending
        pending.recorded.update((tenant_id, event_id) for event_id in found.scalars())
        pending.checked.update((tenant_id, event_id) for event_id in event_ids)

    async def has(self, tenant_id: str, event_id: str) -> bool:
        key = (tenant_id, event_id)
        if key in self._pending.recorded:
            return True
        if key in self._pending.checked:
            return False
        found = await self._connection.execute(_HAS_ENTRY, {"tenant_id": tenant_id, "event_id": event_id})
        return found.first() is not None

    async def add(self, tenant_id: str, entry: RevenueEntry) -> None:
        values = {name: getattr(entry, name) for name in _ENTRY_FIELDS}
        values["movement"] = entry.movement.value
        pending = self._pending
        pending.entries.append({"tenant_id": tenant_id, **values})
        pending.recorded.add((tenant_id, entry.event_id))
        where = _slice_of(entry)
        pending.usage.extend(
            {
                "tenant_id": tenant_id,
                "event_id": entry.event_id,
                "meter_key": line.meter_key,
                "occur_time": entry.occur_time,
                "currency": where.currency,
                "storefront_id": where.storefront_id,
                "channel": where.channel,
                "plan_id": where.plan_id,
                "quantity": line.quantity,
                "billed_minor": line.billed_minor,
                "credit_minor": line.credit_minor,
            }
            for line in entry.usage
        )
        added = dict(zip(MEASURES, measures(entry), strict=True))
        if any(added.values()):
            self._add_to_day(tenant_id, entry.occur_time, where, added)
        if entry.type in _CHARGES:
            await self._add_to_series(tenant_id, entry)

    def _add_to_day(self, tenant_id: str, when: datetime, where: Slice, added: dict[str, int]) -> None:
        day = when.astimezone(UTC).date()
        key = (tenant_id, day, where.currency, where.storefront_id, where.channel, where.plan_id)
        counts = self._pending.days.setdefault(key, {})
        for name, value in added.items():
            counts[name] = counts.get(name, 0) + value

    async def _add_to_series(self, tenant_id: str, entry: RevenueEntry) -> None:
        """A charge's series: its first charge says how it started, any success that it succeeded."""
        succeeded = entry.type == "payment.succeeded"
        key = (
            f"{entry.subscription_id}/{entry.period_key}"
            if entry.subscription_id and entry.period_key
            else entry.charge_id
        )
        where = _slice_of(entry)
        started = await self._connection.execute(
            _START_SERIES,
            {
                "tenant_id": tenant_id,
                "series_key": key,
                "start_time": entry.occur_time,
                "currency": where.currency,
                "storefront_id": where.storefront_id,
                "channel": where.channel,
                "plan_id": where.plan_id,
                "first_succeeded": succeeded,
                "succeeded": succeeded,
            },
        )
        if started.first() is not None:
            counts = {"series_started": 1, "series_first_succeeded": int(succeeded), "series_succeeded": int(succeeded)}
            self._add_to_day(tenant_id, entry.occur_time, where, {k: v for k, v in counts.items() if v})
            return
        if not succeeded:
            return
        recovered = (await self._connection.execute(_SERIES_SUCCEEDED, {"tenant": tenant_id, "series": key})).first()
        if recovered is not None:
            series_slice = Slice(recovered.storefront_id, recovered.channel, recovered.plan_id, recovered.currency)
            self._add_to_day(tenant_id, recovered.start_time, series_slice, {"series_succeeded": 1})

    async def standing(self, tenant_id: str, subscription_id: str) -> SubscriptionStanding:
        known = self._pending.standings.get((tenant_id, subscription_id))
        if known is not None:
            return known
        key = {"tenant_id": tenant_id, "subscription_id": subscription_id}
        row = (await self._connection.execute(_STANDING, key)).first()
        found = (
            SubscriptionStanding.unseen()
            if row is None
            else SubscriptionStanding(Standing(row.standing), row.mrr_minor, row.ever_paid, row.in_dunning)
        )
        self._pending.standings[(tenant_id, subscription_id)] = found
        return found

    async def save_standing(self, tenant_id: str, subscription_id: str, standing: SubscriptionStanding) -> None:
        self._pending.standings[(tenant_id, subscription_id)] = standing
        self._pending.saved.add((tenant_id, subscription_id))

    async def count_paying(self, tenant_id: str, customer_id: str, delta: int) -> int:
        """Add `delta` to the customer's paying subscriptions; +1 / -1 when the customer starts / stops paying."""
        if delta == 0:
            return 0
        after = (
            await self._connection.execute(
                _COUNT_PAYING,
                {
                    "tenant_id": tenant_id,
                    "customer_id": customer_id,
                    "paying_subscriptions": max(delta, 0),
                    "delta": delta,
                },
            )
        ).scalar_one()
        if delta > 0:
            return 1 if after == delta else 0
        return -1 if after == 0 else 0

    @_flushed
    async def count(self, tenant_id: str) -> int:
        return int(
            (await self._connection.execute(sa.select(sa.func.count()).where(e.tenant_id == tenant_id))).scalar_one()
        )

    @_flushed
    async def forget(self, tenant_id: str) -> None:
        for table in (
            revenue_entries,
            revenue_usage,
            revenue_days,
            revenue_charge_series,
            revenue_subscriptions,
            revenue_customers,
        ):
            await self._connection.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))
        pending = self._pending
        for known in (pending.recorded, pending.checked):
            known.difference_update([key for key in known if key[0] == tenant_id])
        for key in [key for key in pending.standings if key[0] == tenant_id]:
            del pending.standings[key]

    @_flushed
    async def balances(self, tenant_id: str, where: Slice, before: datetime) -> list[Balances]:
        first_day = datetime.combine(before.astimezone(UTC).date(), time.min, UTC)
        earlier = await self._day_sums(tenant_id, where, None, first_day)
        totals: dict[str, list[int]] = {}
        for figures in [*earlier, *await self._entry_sums(tenant_id, where, first_day, before)]:
            running = totals.setdefault(figures.currency, [0, 0, 0, 0])
            for index, value in enumerate(
                (
                    figures.movements.net,
                    figures.trial_delta,
                    figures.paying_delta,
                    figures.customers_gained - figures.customers_lost,
                )
            ):
                running[index] += value
        return [Balances(currency, *values) for currency, values in sorted(totals.items())]

    @_flushed
    async def days(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DayFigures]:
        """Whole days from the daily read model; the partial days at either end from their entries."""
        first_whole, last_whole = _whole_days(start, end)
        if last_whole <= first_whole:
            return await self._entry_sums(tenant_id, where, start, end)
        return add_up(
            (d.day, d.currency, d.values())
            for d in [
                *await self._entry_sums(tenant_id, where, start, first_whole),
                *await self._day_sums(tenant_id, where, first_whole, last_whole),
                *await self._entry_sums(tenant_id, where, last_whole, end),
            ]
        )

    async def _day_sums(self, tenant_id: str, where: Slice, start: datetime | None, end: datetime) -> list[DayFigures]:
        d = revenue_days.c
        conditions = [*_sliced(revenue_days, tenant_id, where), d.day < end.date()]
        if start is not None:
            conditions.append(d.day >= start.date())
        rows = await self._connection.execute(
            sa.select(d.day, d.currency, *(sa.func.sum(d[name]) for name in MEASURES))
            .where(*conditions)
            .group_by(d.day, d.currency)
            .order_by(d.day, d.currency)
        )
        return [DayFigures.of(r[0], r[1], [int(v) for v in r[2:]]) for r in rows]

    async def _entry_sums(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DayFigures]:
        if end <= start:
            return []
        rows = await self._connection.execute(
            sa.select(revenue_entries).where(
                *_sliced(revenue_entries, tenant_id, where), e.occur_time >= start, e.occur_time < end
            )
        )
        entries = [_entry(row) for row in rows]
        return add_up((x.occur_time.astimezone(UTC).date(), x.currency, measures(x)) for x in entries)

    @_flushed
    async def charge_series(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> ChargeSeriesCounts:
        """Whole days from the daily read model; the partial days at either end from the series themselves."""
        first_whole, last_whole = _whole_days(start, end)
        if last_whole <= first_whole:
            return await self._series_between(tenant_id, where, start, end)
        d = revenue_days.c
        whole = (
            await self._connection.execute(
                sa.select(*(sa.func.coalesce(sa.func.sum(d[name]), 0) for name in SERIES_MEASURES)).where(
                    *_sliced(revenue_days, tenant_id, where), d.day >= first_whole.date(), d.day < last_whole.date()
                )
            )
        ).one()
        counts = [
            ChargeSeriesCounts(*(int(v) for v in whole)),
            await self._series_between(tenant_id, where, start, first_whole),
            await self._series_between(tenant_id, where, last_whole, end),
        ]
        return ChargeSeriesCounts(
            sum(c.series for c in counts),
            sum(c.first_attempt_succeeded for c in counts),
            sum(c.succeeded for c in counts),
        )

    async def _series_between(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> ChargeSeriesCounts:
        if end <= start:
            return ChargeSeriesCounts(0, 0, 0)
        c = revenue_charge_series.c
        conditions = [*_sliced(revenue_charge_series, tenant_id, where), c.start_time >= start, c.start_time < end]
        row = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(), sa.func.count().filter(c.first_succeeded), sa.func.count().filter(c.succeeded)
                ).where(*conditions)
            )
        ).one()
        return ChargeSeriesCounts(int(row[0]), int(row[1]), int(row[2]))

    @_flushed
    async def declines(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[DeclineCount]:
        rows = await self._connection.execute(
            sa.select(e.decline_reason, e.psp, sa.func.count())
            .where(
                *_sliced(revenue_entries, tenant_id, where),
                e.type == "payment.failed",
                e.occur_time >= start,
                e.occur_time < end,
            )
            .group_by(e.decline_reason, e.psp)
            .order_by(sa.func.count().desc(), e.decline_reason, e.psp)
        )
        return [DeclineCount(r[0], r[1], int(r[2])) for r in rows]

    @_flushed
    async def campaigns(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[CampaignFigures]:
        charges = revenue_entries.alias("charges")
        redeemed = (
            sa.select(
                e.promotion_id,
                e.currency,
                sa.func.count().label("redemptions"),
                sa.func.sum(e.discount_minor).label("discount"),
                sa.func.coalesce(sa.func.sum(charges.c.net_minor), 0).label("revenue"),
            )
            .select_from(
                revenue_entries.outerjoin(
                    charges,
                    sa.and_(
                        charges.c.tenant_id == e.tenant_id,
                        charges.c.charge_id == e.charge_id,
                        charges.c.type == "payment.succeeded",
                    ),
                )
            )
            .where(
                *_sliced(revenue_entries, tenant_id, where),
                e.type == "promotion.redeemed",
                e.occur_time >= start,
                e.occur_time < end,
            )
            .group_by(e.promotion_id, e.currency)
            .order_by(e.promotion_id, e.currency)
        )
        rows = await self._connection.execute(redeemed)
        return [CampaignFigures(r[0], r[1], int(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in rows]

    @_flushed
    async def campaign_conversions(
        self, tenant_id: str, where: Slice, start: datetime, end: datetime
    ) -> list[CampaignConversion]:
        redeemed = revenue_entries.alias("redeemed")
        was_redeemed = (
            sa.select(redeemed.c.event_id)
            .where(
                redeemed.c.tenant_id == e.tenant_id,
                redeemed.c.customer_id == e.customer_id,
                redeemed.c.type == "promotion.redeemed",
                redeemed.c.promotion_id == e.promotion_id,
                redeemed.c.occur_time >= e.occur_time,
                redeemed.c.occur_time < end,
            )
            .exists()
        )
        rows = await self._connection.execute(
            sa.select(
                e.campaign_id,
                e.promotion_id,
                sa.func.count(),
                sa.func.count().filter(was_redeemed),
            )
            .where(
                *_sliced(revenue_entries, tenant_id, where),
                e.type == "campaign.offer_issued",
                e.occur_time >= start,
                e.occur_time < end,
            )
            .group_by(e.campaign_id, e.promotion_id)
            .order_by(e.campaign_id, e.promotion_id)
        )
        return [CampaignConversion(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    @_flushed
    async def experiment(
        self, tenant_id: str, experiment_id: str, start: datetime, end: datetime
    ) -> list[VariantFigures]:
        assigned = (
            sa.select(e.customer_id, e.variant_id, sa.func.min(e.occur_time).label("since"))
            .where(
                e.tenant_id == tenant_id,
                e.experiment_id == experiment_id,
                e.type == "experiment.assigned",
                e.occur_time >= start,
                e.occur_time < end,
            )
            .group_by(e.customer_id, e.variant_id)
            .cte("assigned")
        )
        later = revenue_entries.alias("later")
        after_assignment = sa.and_(
            later.c.tenant_id == tenant_id,
            later.c.customer_id == assigned.c.customer_id,
            later.c.occur_time >= assigned.c.since,
            later.c.occur_time < end,
        )
        started_paying = sa.select(later.c.event_id).where(after_assignment, later.c.customer_paying_delta > 0).exists()
        counts = await self._connection.execute(
            sa.select(assigned.c.variant_id, sa.func.count(), sa.func.count().filter(started_paying))
            .group_by(assigned.c.variant_id)
            .order_by(assigned.c.variant_id)
        )
        revenue = await self._connection.execute(
            sa.select(
                assigned.c.variant_id,
                later.c.currency,
                sa.func.sum(later.c.net_minor - later.c.refund_minor),
            )
            .select_from(assigned.join(later, after_assignment))
            .where(later.c.type.in_(("payment.succeeded", "payment.refunded")))
            .group_by(assigned.c.variant_id, later.c.currency)
        )
        earned: dict[str, dict[str, int]] = {}
        for variant_id, currency, amount in revenue:
            earned.setdefault(variant_id, {})[currency] = int(amount)
        return [VariantFigures(v, int(n), int(paying), earned.get(v, {})) for v, n, paying in counts]

    @_flushed
    async def usage(self, tenant_id: str, where: Slice, start: datetime, end: datetime) -> list[UsageFigures]:
        u = revenue_usage.c
        rows = await self._connection.execute(
            sa.select(
                u.meter_key,
                u.currency,
                sa.func.sum(u.quantity),
                sa.func.sum(u.billed_minor),
                sa.func.sum(u.credit_minor),
            )
            .where(*_sliced(revenue_usage, tenant_id, where), u.occur_time >= start, u.occur_time < end)
            .group_by(u.meter_key, u.currency)
            .order_by(u.meter_key, u.currency)
        )
        return [UsageFigures(r[0], r[1], Decimal(r[2]), int(r[3]), int(r[4])) for r in rows]

    @_flushed
    async def entries(self, tenant_id: str, query: EntryQuery, page: PageRequest) -> Page[RevenueEntry]:
        conditions = [e.tenant_id == tenant_id]
        for name, value in query.equal.items():
            conditions.append(revenue_entries.c[name] == value)
        if query.since is not None:
            conditions.append(e.occur_time >= query.since)
        if query.until is not None:
            conditions.append(e.occur_time < query.until)
        if (after := page.after_key()) is not None:
            conditions.append(e.seq > int(after))
        rows = await self._connection.execute(
            sa.select(revenue_entries).where(*conditions).order_by(e.seq).limit(page.limit)
        )
        return page.page([_entry(row) for row in rows], lambda entry: [entry.seq])

    async def rates(self, tenant_id: str, reporting_currency: str) -> list[ExchangeRate]:
        x = exchange_rates.c
        rows = await self._connection.execute(
            sa.select(x.currency, x.rate, x.effective_date)
            .where(x.tenant_id == tenant_id, x.reporting_currency == reporting_currency)
            .order_by(x.currency, x.effective_date)
        )
        return [ExchangeRate(r.currency, reporting_currency, r.rate, r.effective_date) for r in rows]

    async def put_rate(self, tenant_id: str, rate: ExchangeRate) -> None:
        statement = insert(exchange_rates).values(
            tenant_id=tenant_id,
            currency=rate.currency,
            reporting_currency=rate.reporting_currency,
            effective_date=rate.effective_date,
            rate=rate.rate,
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "currency", "reporting_currency", "effective_date"],
                set_={"rate": rate.rate},
            )
        )
