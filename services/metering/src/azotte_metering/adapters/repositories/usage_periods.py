"""Usage accounts, periods, per-period totals and adjustments (`billing_ports.UsageRepository`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_metering.adapters.repositories.meters import PostgresMeterRepository
from azotte_metering.adapters.repositories.usage import read_rollups
from azotte_metering.adapters.tables import (
    meters,
    usage_accounts,
    usage_adjustments,
    usage_bills,
    usage_events,
    usage_period_totals,
    usage_periods,
)
from azotte_metering.domain.charges import (
    Adjustment,
    ChargeLine,
    Period,
    UsageAccount,
    UsageBill,
    UsageCharges,
    UsageTotal,
    dimensions_key,
)
from azotte_metering.domain.meters import Meter, parse_path, read_path
from azotte_metering.domain.usage import Rollup, Span
from azotte_platform.db.bulk import as_arrays, replacing, unnested

T = TypeVar("T")
_A = usage_accounts.c
_TEXTS = ARRAY(sa.Text)
_P = usage_periods.c
# NOTE: the statements of every usage event's rating are built once: building one costs more than running it.
_ACCOUNT = sa.select(usage_accounts).where(
    _A.tenant_id == sa.bindparam("tenant_id"), _A.customer_id == sa.bindparam("customer_id")
)
_ACCOUNTS = sa.select(usage_accounts).where(
    _A.tenant_id == sa.bindparam("tenant_id"), _A.customer_id == sa.any_(sa.bindparam("customer_ids", type_=_TEXTS))
)
_PUT_ACCOUNT = replacing(insert(usage_accounts))
_OPENED = unnested([_P.customer_id, _P.period_start, _P.period_end])
_LOCK_PERIODS = (
    insert(usage_periods)
    .from_select(
        ["tenant_id", "customer_id", "period_start", "period_end", "credited_minor"],
        sa.select(
            sa.bindparam("tenant_id", type_=sa.Text),
            _OPENED.c.customer_id,
            _OPENED.c.period_start,
            _OPENED.c.period_end,
            sa.literal(0, sa.BigInteger),
        ).order_by(_OPENED.c.customer_id, _OPENED.c.period_start),
    )
    .on_conflict_do_update(
        index_elements=[_P.tenant_id, _P.customer_id, _P.period_start], set_={"credited_minor": _P.credited_minor}
    )
)
"""NOTE: one statement creates the periods not recorded yet and locks every one, by (customer, start) — the one
order every transaction locks periods in; a conflict's no-op update locks the row as `SELECT ... FOR UPDATE`
would."""
_CREDITS = unnested([_P.customer_id, _P.period_start, _P.credited_minor])
_ADD_CREDITED = (
    sa.update(usage_periods)
    .where(
        _P.tenant_id == sa.bindparam("of_tenant"),
        _P.customer_id == _CREDITS.c.customer_id,
        _P.period_start == _CREDITS.c.period_start,
    )
    .values(credited_minor=_P.credited_minor + _CREDITS.c.credited_minor)
)
_T = usage_period_totals.c
_J = usage_adjustments.c


def _of_periods(table: sa.Table) -> sa.Select[Any]:
    """The rows of `table` in one period of each customer (parameters: `_period_keys`)."""
    keys = unnested([table.c.customer_id, table.c.period_start], "k")
    return (
        sa.select(table)
        .join(keys, sa.and_(table.c.customer_id == keys.c.customer_id, table.c.period_start == keys.c.period_start))
        .where(table.c.tenant_id == sa.bindparam("tenant_id"))
    )


_TOTAL_COLUMNS = [column.name for column in usage_period_totals.c if column.name != "tenant_id"]
_TOTALS = unnested(
    # NOTE: the dimension values travel as JSON text: an array of jsonb would cost the driver a conversion each.
    sa.column(name, sa.Text) if name == "dimensions" else usage_period_totals.c[name]
    for name in _TOTAL_COLUMNS
)
_TOTAL_ROWS = insert(usage_period_totals).from_select(
    ["tenant_id", *_TOTAL_COLUMNS],
    sa.select(
        sa.bindparam("tenant_id", type_=sa.Text),
        *(sa.cast(_TOTALS.c[name], JSONB) if name == "dimensions" else _TOTALS.c[name] for name in _TOTAL_COLUMNS),
    ),
)
_PUT_TOTALS = _TOTAL_ROWS.on_conflict_do_update(
    index_elements=[_T.tenant_id, _T.customer_id, _T.period_start, _T.meter_key, _T.dimensions_key],
    set_={
        name: _TOTAL_ROWS.excluded[name]
        for name in ("dimensions", "quantity", "event_count", "latest_time", "currency_code", "rated_minor")
    },
)
_TOTALS_OF = _of_periods(usage_period_totals).order_by(_T.customer_id, _T.meter_key, _T.dimensions_key)
_ADJUSTMENTS_OF = _of_periods(usage_adjustments).order_by(_J.customer_id, _J.usage_time, _J.adjustment_id)
_B = usage_bills.c


class PostgresUsagePeriodRepository:
    """`billing_ports.UsageRepository`."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def account(self, tenant_id: str, customer_id: str) -> UsageAccount | None:
        row = (await self._conn.execute(_ACCOUNT, {"tenant_id": tenant_id, "customer_id": customer_id})).first()
        return None if row is None else _account(row)

    async def accounts(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, UsageAccount]:
        rows = await self._conn.execute(_ACCOUNTS, {"tenant_id": tenant_id, "customer_ids": list(customer_ids)})
        return {row.customer_id: _account(row) for row in rows}

    async def put_account(self, tenant_id: str, account: UsageAccount, now: datetime) -> None:
        await self._conn.execute(
            _PUT_ACCOUNT,
            {
                "tenant_id": tenant_id,
                "customer_id": account.customer_id,
                "subscription_id": account.subscription_id,
                "storefront_id": account.storefront_id,
                "plan_id": account.plan_id,
                "currency_code": account.currency_code,
                "period_start": account.period.start,
                "period_end": account.period.end,
                "updated_at": now,
            },
        )

    async def lock_periods(self, tenant_id: str, periods: Sequence[tuple[str, Period]]) -> None:
        rows = [{"customer_id": c, "period_start": p.start, "period_end": p.end} for c, p in dict.fromkeys(periods)]
        await self._conn.execute(
            _LOCK_PERIODS, {"tenant_id": tenant_id, **as_arrays(rows, ["customer_id", "period_start", "period_end"])}
        )

    async def credited(self, tenant_id: str, customer_id: str, period: Period) -> int:
        row = (
            await self._conn.execute(sa.select(_P.credited_minor).where(*_period(tenant_id, customer_id, period)))
        ).first()
        return 0 if row is None else int(row.credited_minor)

    async def add_credited(self, tenant_id: str, credits: Sequence[tuple[str, Period, int]]) -> None:
        if not credits:
            return
        rows = [{"customer_id": c, "period_start": p.start, "credited_minor": amount} for c, p, amount in credits]
        await self._conn.execute(
            _ADD_CREDITED,
            {"of_tenant": tenant_id, **as_arrays(rows, ["customer_id", "period_start", "credited_minor"])},
        )

    async def close_period(self, tenant_id: str, customer_id: str, period: Period, now: datetime) -> None:
        await self._conn.execute(
            sa.update(usage_periods)
            .where(*_period(tenant_id, customer_id, period), _P.closed_at.is_(None))
            .values(closed_at=now)
        )

    async def period_containing(self, tenant_id: str, customer_id: str, at: datetime) -> Period | None:
        row = (
            await self._conn.execute(
                sa.select(_P.period_start, _P.period_end)
                .where(_P.tenant_id == tenant_id, _P.customer_id == customer_id, _P.period_start <= at)
                .order_by(_P.period_start.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else Period(row.period_start, row.period_end)

    async def put_totals(self, tenant_id: str, totals: Sequence[tuple[str, Period, UsageTotal]]) -> None:
        if not totals:
            return
        rows = [
            {
                "customer_id": customer_id,
                "period_start": period.start,
                "meter_key": total.meter_key,
                "dimensions_key": dimensions_key(total.dimensions),
                "dimensions": json.dumps(dict(total.dimensions)),
                "quantity": total.quantity,
                "event_count": total.event_count,
                "latest_time": total.latest_time,
                "currency_code": total.currency_code,
                "rated_minor": total.rated_minor,
            }
            for customer_id, period, total in totals
        ]
        await self._conn.execute(_PUT_TOTALS, {"tenant_id": tenant_id, **as_arrays(rows, _TOTAL_COLUMNS)})

    async def quota_meters(self, tenant_id: str) -> list[Meter]:
        return await PostgresMeterRepository(self._conn).with_quota_features(tenant_id)

    async def totals(self, tenant_id: str, customer_id: str, period: Period) -> list[UsageTotal]:
        return (await self.totals_of(tenant_id, {customer_id: period})).get(customer_id, [])

    async def totals_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[UsageTotal]]:
        return _by_customer(await self._conn.execute(_TOTALS_OF, _period_keys(tenant_id, periods)), _total)

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        return await read_rollups(self._conn, tenant_id, customer_id, meter_key, spans)

    async def transactions(
        self, tenant_id: str, customer_id: str, meter_key: str, since: datetime, until: datetime | None
    ) -> list[tuple[Mapping[str, str], Decimal]]:
        meter = (
            await self._conn.execute(
                sa.select(meters.c.event_type, meters.c.value_path, meters.c.dimensions).where(
                    meters.c.tenant_id == tenant_id, meters.c.key == meter_key
                )
            )
        ).first()
        if meter is None or not meter.value_path:
            return []
        select = sa.select(sa.cast(usage_events.c.data, sa.Text).label("data")).where(
            usage_events.c.tenant_id == tenant_id,
            usage_events.c.subject == customer_id,
            usage_events.c.type == meter.event_type,
            usage_events.c.time >= since,
        )
        if until is not None:
            select = select.where(usage_events.c.time < until)
        value = parse_path(meter.value_path, "value_path")
        dimensions = [(name.removeprefix("$."), parse_path(name, "dimensions")) for name in meter.dimensions]
        found: list[tuple[Mapping[str, str], Decimal]] = []
        for row in await self._conn.execute(select):
            data = json.loads(row.data, parse_float=Decimal)
            amount = read_path(data, value)
            if isinstance(amount, int | Decimal) and not isinstance(amount, bool):
                found.append((_dimension_values(data, dimensions), Decimal(amount)))
        return found

    async def add_adjustment(self, tenant_id: str, customer_id: str, period: Period, adjustment: Adjustment) -> None:
        await self._conn.execute(
            insert(usage_adjustments)
            .values(
                tenant_id=tenant_id,
                adjustment_id=adjustment.adjustment_id,
                customer_id=customer_id,
                period_start=period.start,
                usage_time=adjustment.usage_time,
                meter_key=adjustment.meter_key,
                dimensions=dict(adjustment.dimensions),
                quantity=adjustment.quantity,
                currency_code=adjustment.currency_code,
                amount_minor=adjustment.amount_minor,
                created_at=sa.func.now(),
            )
            .on_conflict_do_nothing()
        )

    async def adjustments(self, tenant_id: str, customer_id: str, period: Period) -> list[Adjustment]:
        return (await self.adjustments_of(tenant_id, {customer_id: period})).get(customer_id, [])

    async def adjustments_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[Adjustment]]:
        return _by_customer(await self._conn.execute(_ADJUSTMENTS_OF, _period_keys(tenant_id, periods)), _adjustment)

    async def bill(self, tenant_id: str, subscription_id: str, period_start: datetime) -> UsageBill | None:
        row = (
            await self._conn.execute(
                sa.select(usage_bills).where(
                    _B.tenant_id == tenant_id, _B.subscription_id == subscription_id, _B.period_start == period_start
                )
            )
        ).first()
        if row is None:
            return None
        charges = UsageCharges(
            row.customer_id,
            Period(row.billed_period_start, row.billed_period_end),
            row.currency_code,
            tuple(_line_from_json(line) for line in row.lines),
            tuple(_adjustment_from_json(adjustment) for adjustment in row.adjustments),
            row.credited_minor,
            row.subscription_id,
        )
        return UsageBill(row.subscription_id, charges, row.billed_at)

    async def put_bill(self, tenant_id: str, period_start: datetime, bill: UsageBill) -> None:
        charges = bill.charges
        await self._conn.execute(
            insert(usage_bills).values(
                tenant_id=tenant_id,
                subscription_id=bill.subscription_id,
                period_start=period_start,
                customer_id=charges.customer_id,
                billed_period_start=charges.period.start,
                billed_period_end=charges.period.end,
                currency_code=charges.currency_code,
                lines=[_line_to_json(line) for line in charges.lines],
                adjustments=[_adjustment_to_json(adjustment) for adjustment in charges.adjustments],
                credited_minor=charges.credited_minor,
                billed_at=bill.billed_at,
            )
        )


def _line_to_json(line: ChargeLine) -> dict[str, Any]:
    return {
        "meter_key": line.meter_key,
        "dimensions": dict(line.dimensions),
        "quantity": str(line.quantity),
        "included_units": str(line.included_units),
        "billable_units": str(line.billable_units),
        "currency_code": line.currency_code,
        "amount_minor": line.amount_minor,
        "model": line.model,
    }


def _line_from_json(line: Mapping[str, Any]) -> ChargeLine:
    return ChargeLine(
        line["meter_key"],
        line["dimensions"],
        Decimal(line["quantity"]),
        Decimal(line["included_units"]),
        Decimal(line["billable_units"]),
        line["currency_code"],
        int(line["amount_minor"]),
        line["model"],
    )


def _adjustment_to_json(adjustment: Adjustment) -> dict[str, Any]:
    return {
        "adjustment_id": adjustment.adjustment_id,
        "usage_time": adjustment.usage_time.isoformat(),
        "meter_key": adjustment.meter_key,
        "dimensions": dict(adjustment.dimensions),
        "quantity": str(adjustment.quantity),
        "currency_code": adjustment.currency_code,
        "amount_minor": adjustment.amount_minor,
    }


def _adjustment_from_json(adjustment: Mapping[str, Any]) -> Adjustment:
    return Adjustment(
        adjustment["adjustment_id"],
        datetime.fromisoformat(adjustment["usage_time"]),
        adjustment["meter_key"],
        adjustment["dimensions"],
        Decimal(adjustment["quantity"]),
        adjustment["currency_code"],
        int(adjustment["amount_minor"]),
    )


def _dimension_values(data: Mapping[str, object], paths: list[tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """An event's dimension values as ingestion groups them (missing ones left out)."""
    values = {}
    for name, segments in paths:
        value = read_path(data, segments)
        if isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, Decimal):
            values[name] = format(value, "f")
        elif isinstance(value, str | int) and value != "":
            values[name] = str(value)
    return values


def _period(tenant_id: str, customer_id: str, period: Period) -> list[sa.ColumnElement[bool]]:
    return [_P.tenant_id == tenant_id, _P.customer_id == customer_id, _P.period_start == period.start]


def _period_keys(tenant_id: str, periods: Mapping[str, Period]) -> dict[str, Any]:
    """The parameters of `_of_periods`."""
    rows = [{"customer_id": customer, "period_start": period.start} for customer, period in periods.items()]
    return {"tenant_id": tenant_id, **as_arrays(rows, ["customer_id", "period_start"])}


def _by_customer(rows: Iterable[Any], convert: Callable[[Any], T]) -> dict[str, list[T]]:
    """Rows converted, by their customer (in row order)."""
    found: dict[str, list[T]] = {}
    for row in rows:
        found.setdefault(row.customer_id, []).append(convert(row))
    return found


def _account(row: Any) -> UsageAccount:
    return UsageAccount(
        row.customer_id,
        row.subscription_id,
        row.storefront_id,
        row.plan_id,
        row.currency_code,
        Period(row.period_start, row.period_end),
    )


def _adjustment(row: Any) -> Adjustment:
    return Adjustment(
        row.adjustment_id,
        row.usage_time,
        row.meter_key,
        row.dimensions,
        row.quantity,
        row.currency_code,
        row.amount_minor,
    )


def _total(row: Any) -> UsageTotal:
    return UsageTotal(
        row.meter_key,
        row.dimensions,
        row.quantity,
        row.event_count,
        row.latest_time,
        row.currency_code,
        row.rated_minor,
    )
