"""Subscriptions stored as a JSONB aggregate plus the columns queries and the scheduler need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.repositories import queries
from azotte_lifecycle.adapters.repositories.contracts import features_from_json, features_to_json
from azotte_lifecycle.adapters.tables import price_changes, subscription_history, subscription_identities, subscriptions
from azotte_lifecycle.domain.customer import ChannelIdentity
from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.events import (
    Cause,
    EventType,
    HistoryEntry,
    PendingPlanChange,
    PendingPriceChange,
    PriceChangeOutcome,
    PriceChangeRecord,
)
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.price_changes import PriceChangeRow, row_of
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import HistoryQuery, SubscriptionQuery
from azotte_platform import context
from azotte_platform.clock import TenantTimes
from azotte_platform.db.bulk import as_arrays, insert_unnested, update_unnested
from azotte_platform.db.tenant_time import own_now
from azotte_platform.enums import Channel, SubscriptionState


class PostgresSubscriptionRepository:
    """`ports.SubscriptionRepository` over the `subscriptions`, history and identity tables."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, sub: Subscription, now: datetime) -> None:
        await self._conn.execute(
            _ADD, {**_row(sub, now), "created_at": now, "initial_charge_id": sub.initial_charge_id or None}
        )
        sub.created_at = now
        await self._write_history([sub])
        await self._write_price_changes([sub], now)

    async def save_many(self, subs: Sequence[Subscription], now: datetime) -> None:
        if not subs:
            return
        rows = [_row(s, now) for s in subs]
        await self._conn.execute(_UPDATE_SUBSCRIPTIONS, as_arrays(rows, (*_KEY, *_UPDATED)))
        await self._write_history(subs)
        await self._write_price_changes(subs, now)

    async def price_changes(self, tenant_id: str, storefront_id: str = "", plan_id: str = "") -> list[PriceChangeRow]:
        c = price_changes.c
        select = sa.select(price_changes).where(c.tenant_id == tenant_id)
        if storefront_id:
            select = select.where(c.storefront_id == storefront_id)
        if plan_id:
            select = select.where(c.plan_id == plan_id)
        return [
            PriceChangeRow(
                r.storefront_id,
                r.plan_id,
                r.price_effective_at,
                r.cohort,
                r.currency_code,
                r.old_amount_minor,
                r.new_amount_minor,
                PriceChangeOutcome(r.outcome),
                r.consented_at is not None,
                r.declined_at is not None,
            )
            for r in await self._conn.execute(select)
        ]

    async def _write_price_changes(self, subs: Iterable[Subscription], now: datetime) -> None:
        """Upsert each subscriber's price change as it stands (one row per subscription and renewal)."""
        rows = {}
        for sub in subs:
            for record in sub.price_records:
                rows[(sub.tenant_id, sub.id, record.change.effective_at)] = _price_change_row(sub, record, now)
            sub.price_records.clear()
        if rows:
            statement = insert(price_changes).values(list(rows.values()))
            kept = ("tenant_id", "subscription_id", "effective_at")
            updated = {n: statement.excluded[n] for n in _PRICE_CHANGE_COLUMNS if n not in kept}
            await self._conn.execute(statement.on_conflict_do_update(index_elements=list(kept), set_=updated))

    async def get(self, tenant_id: str, subscription_id: str, *, for_update: bool = False) -> Subscription | None:
        query = _GET_LOCKED if for_update else _GET
        row = (await self._conn.execute(query, {"tenant": tenant_id, "subscription": subscription_id})).first()
        return None if row is None else _load(row)

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Subscription]:
        rows = await self._conn.execute(_OF_CUSTOMER, {"tenant": tenant_id, "customer": customer_id})
        return [_load(row) for row in rows]

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: SubscriptionQuery,
        after: Sequence[str] | None = None,
    ) -> list[Subscription]:
        c = subscriptions.c
        column = c.current_period_end if query.order_by == "current_period_end" else c.created_at
        select = sa.select(*_LOADED).where(c.tenant_id == tenant_id).limit(limit)
        select = select.order_by(column.desc(), c.id.desc()) if query.descending else select.order_by(column, c.id)
        if after is not None:
            last = datetime.fromisoformat(after[0])
            select = select.where(queries.after(column, c.id, last, after[1], descending=query.descending))
        if query.customer_id:
            select = select.where(c.customer_id == query.customer_id)
        if query.plan_id:
            select = select.where(c.plan_id == query.plan_id)
        if query.states:
            select = select.where(c.state.in_([state.value for state in query.states]))
        if query.not_states:
            select = select.where(c.state.not_in([state.value for state in query.not_states]))
        select = select.where(
            *queries.bounds(c.created_at, query.created), *queries.bounds(c.current_period_end, query.period_end)
        )
        return [_load(row) for row in await self._conn.execute(select)]

    async def history(
        self,
        tenant_id: str,
        subscription_id: str,
        limit: int,
        after_seq: int | None,
        query: HistoryQuery,
    ) -> list[tuple[int, HistoryEntry]]:
        h = subscription_history.c
        select = (
            sa.select(subscription_history)
            .where(h.tenant_id == tenant_id, h.subscription_id == subscription_id)
            .order_by(h.seq.desc() if query.descending else h.seq)
            .limit(limit)
        )
        if after_seq is not None:
            select = select.where(h.seq < after_seq if query.descending else h.seq > after_seq)
        if query.event_type:
            select = select.where(h.event_type == query.event_type)
        if query.cause:
            select = select.where(h.cause == query.cause)
        select = select.where(*queries.bounds(h.occurred_at, query.occurred))
        return [
            (
                r.seq,
                HistoryEntry(
                    r.occurred_at,
                    EventType(r.event_type),
                    None if r.from_state is None else SubscriptionState(r.from_state),
                    SubscriptionState(r.to_state),
                    Cause(r.cause),
                    r.cause_ref,
                    r.actor,
                ),
            )
            for r in await self._conn.execute(select)
        ]

    async def claim_due(self, times: TenantTimes, limit: int, tenant_id: str | None = None) -> list[Subscription]:
        """Rows locked elsewhere are skipped (`FOR UPDATE SKIP LOCKED`); each tenant's rows are due by its own now."""
        c = subscriptions.c
        if tenant_id is None:
            # NOTE: `next_due_at <= latest` keeps the due index's range scan; the tenant's own now filters after it.
            earliest = sa.select(c.tenant_id).where(c.next_due_at <= times.latest, _due_by_own_now(times))
            earliest = earliest.order_by(c.next_due_at).limit(1).with_for_update(skip_locked=True)
            first = (await self._conn.execute(earliest)).first()
            if first is None:
                return []
            tenant_id = str(first.tenant_id)
        due = (
            sa.select(*_LOADED)
            .where(c.tenant_id == tenant_id, c.next_due_at <= times.of(tenant_id))
            .order_by(c.next_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_load(row) for row in await self._conn.execute(due)]

    async def defer(self, subs: Iterable[Subscription], until: datetime) -> None:
        c = subscriptions.c
        keys = [{"k_tenant": s.tenant_id, "k_id": s.id, "until": until} for s in subs]
        if keys:
            await self._conn.execute(
                sa.update(subscriptions)
                .where(c.tenant_id == sa.bindparam("k_tenant"), c.id == sa.bindparam("k_id"))
                .values(next_due_at=sa.bindparam("until")),
                keys,
            )

    async def count_due(self, times: TenantTimes, tenant_id: str | None = None) -> int:
        c = subscriptions.c
        query = sa.select(sa.func.count()).select_from(subscriptions)
        if tenant_id is not None:
            query = query.where(c.tenant_id == tenant_id, c.next_due_at <= times.of(tenant_id))
        else:
            query = query.where(c.next_due_at <= times.latest, _due_by_own_now(times))
        return int(await self._conn.scalar(query) or 0)

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        c = subscriptions.c
        if not times.offsets:
            due: datetime | None = await self._conn.scalar(sa.select(sa.func.min(c.next_due_at)))
            return None if due is None else due - times.base
        # NOTE: the earliest of: the tenants on the base time, and each tenant whose clock moved (by its own now).
        on_base = sa.select(sa.func.min(c.next_due_at) - _at(times.base)).where(c.tenant_id.not_in(list(times.offsets)))
        moved = [
            sa.select(sa.func.min(c.next_due_at) - _at(times.of(t))).where(c.tenant_id == t).scalar_subquery()
            for t in times.offsets
        ]
        wait: timedelta | None = await self._conn.scalar(sa.select(sa.func.least(on_base.scalar_subquery(), *moved)))
        return wait

    async def link_identity(self, tenant_id: str, identity: ChannelIdentity, subscription_id: str) -> None:
        await self._conn.execute(
            insert(subscription_identities)
            .values(
                tenant_id=tenant_id,
                kind=identity.kind.value,
                issuer=identity.issuer,
                value=identity.value,
                subscription_id=subscription_id,
            )
            .on_conflict_do_update(
                index_elements=["tenant_id", "kind", "issuer", "value"], set_={"subscription_id": subscription_id}
            )
        )

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
        c = subscription_identities.c
        return await self._conn.scalar(
            sa.select(c.subscription_id).where(
                c.tenant_id == tenant_id,
                c.kind == identity.kind.value,
                c.issuer == identity.issuer,
                c.value == identity.value,
            )
        )

    async def _write_history(self, subs: Iterable[Subscription]) -> None:
        # NOTE: the actor is the principal of the call being served (the gateway forwards its caller's
        # key); scheduled work and consumers run outside any call, as "system".
        actor = context.current().principal or "system"
        rows = [
            {
                "tenant_id": s.tenant_id,
                "subscription_id": s.id,
                "occurred_at": e.occurred_at,
                "event_type": e.event_type.value,
                "from_state": None if e.from_state is None else e.from_state.value,
                "to_state": e.to_state.value,
                "cause": e.cause.value,
                "cause_ref": e.cause_ref,
                "actor": actor,
            }
            for s in subs
            for e in s.history
        ]
        for s in subs:
            s.history.clear()
        if rows:
            await self._conn.execute(_INSERT_HISTORY, as_arrays(rows, _HISTORY_COLUMNS))


def _price_change_row(sub: Subscription, record: PriceChangeRecord, now: datetime) -> dict[str, Any]:
    change, row = record.change, row_of(sub, record)
    return {
        "tenant_id": sub.tenant_id,
        "subscription_id": sub.id,
        "effective_at": change.effective_at,
        "storefront_id": row.storefront_id,
        "plan_id": row.plan_id,
        "price_effective_at": row.price_effective_at,
        "cohort": row.cohort,
        "currency_code": row.currency_code,
        "old_amount_minor": row.old_amount_minor,
        "new_amount_minor": row.new_amount_minor,
        "noticed_at": change.noticed_at,
        "consented_at": change.consented_at,
        "declined_at": change.declined_at,
        "outcome": row.outcome.value,
        "updated_at": now,
    }


def _due_by_own_now(times: TenantTimes) -> sa.ColumnElement[bool]:
    """Due by the row's tenant's own now (the base time for tenants whose clock never moved)."""
    c = subscriptions.c
    return c.next_due_at <= own_now(times, c.tenant_id)


_TS = sa.DateTime(timezone=True)


def _at(when: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(when, _TS)


def _load(row: Any) -> Subscription:
    sub = subscription_from_json(row.aggregate)
    sub.initial_charge_id = row.initial_charge_id or ""
    sub.created_at = row.created_at
    return sub


def _row(sub: Subscription, now: datetime) -> dict[str, Any]:
    work = sub.next_due_work()
    return {
        "tenant_id": sub.tenant_id,
        "id": sub.id,
        "customer_id": sub.customer_id,
        "plan_id": sub.plan_id,
        "state": sub.state.value,
        "billing_origin": sub.billing_origin.value,
        "current_period_end": sub.current_period_end,
        "updated_at": now,
        "next_due_at": None if work is None else work.due_at,
        "due_kind": None if work is None else work.kind.value,
        "aggregate": subscription_to_json(sub),
    }


_LOADED = (
    subscriptions.c.id,
    subscriptions.c.aggregate,
    subscriptions.c.created_at,
    subscriptions.c.initial_charge_id,
)
_UPDATED = (
    "customer_id",
    "plan_id",
    "state",
    "billing_origin",
    "current_period_end",
    "updated_at",
    "next_due_at",
    "due_kind",
    "aggregate",
)
_KEY = ("tenant_id", "id")
_UPDATE_SUBSCRIPTIONS = update_unnested(subscriptions, _KEY, _UPDATED)
_s = subscriptions.c
# NOTE: built once: every subscription read and created runs them.
_GET = sa.select(*_LOADED).where(_s.tenant_id == sa.bindparam("tenant"), _s.id == sa.bindparam("subscription"))
_GET_LOCKED = _GET.with_for_update()
_OF_CUSTOMER = (
    sa.select(*_LOADED)
    .where(_s.tenant_id == sa.bindparam("tenant"), _s.customer_id == sa.bindparam("customer"))
    .order_by(_s.created_at, _s.id)
)
_ADD = subscriptions.insert()
_PRICE_CHANGE_COLUMNS = tuple(column.name for column in price_changes.c)
_HISTORY_COLUMNS = tuple(column.name for column in subscription_history.c if column.name != "seq")
_INSERT_HISTORY = insert_unnested(subscription_history, _HISTORY_COLUMNS)

# ---------------------------------------------------------------------------------------- the JSONB aggregate

_TIMES = (
    "current_period_start",
    "current_period_end",
    "period_anchor",
    "trial_end",
    "first_failure_at",
    "grace_end",
    "hold_end",
    "next_retry_at",
    "paused_at",
    "resume_at",
    "last_channel_event_at",
    "priced_since",
    "price_noticed_until",
)
_PLAIN = (
    "id",
    "tenant_id",
    "customer_id",
    "plan_id",
    "storefront_id",
    "currency_code",
    "renewal_amount_minor",
    "period_index",
    "current_period_amount_minor",
    "anchor_period_index",
    "cancel_at_period_end",
    "retry_attempt",
    "price_notice_days",
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _interval(interval: BillingInterval) -> dict[str, Any]:
    return {"unit": interval.unit.value, "count": interval.count}


def _parse_interval(data: dict[str, Any]) -> BillingInterval:
    return BillingInterval(IntervalUnit(data["unit"]), int(data["count"]))


def subscription_to_json(sub: Subscription) -> dict[str, Any]:
    """The aggregate's state (history, events, seen channel event ids and the columns live elsewhere)."""
    data: dict[str, Any] = {name: getattr(sub, name) for name in _PLAIN}
    data.update({name: _time(getattr(sub, name)) for name in _TIMES})
    data.update(
        channel=sub.channel.value,
        billing_origin=sub.billing_origin.value,
        state=sub.state.value,
        interval=_interval(sub.interval),
    )
    change = sub.pending_plan_change
    data["pending_plan_change"] = None
    if change is not None:
        data["pending_plan_change"] = {
            "plan_id": change.plan_id,
            "amount_minor": change.amount_minor,
            "interval": _interval(change.interval),
            "effective_at": change.effective_at.isoformat(),
        }
    data["pending_price_change"] = _price_change_json(sub.pending_price_change)
    data["applied_price_change"] = _price_change_json(sub.applied_price_change)
    data["discount"] = None if sub.discount is None else asdict(sub.discount)
    data["features"] = features_to_json(sub.features)
    return data


def _price_change_json(change: PendingPriceChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "old_amount_minor": change.old_amount_minor,
        "amount_minor": change.amount_minor,
        "effective_at": change.effective_at.isoformat(),
        "noticed_at": _time(change.noticed_at),
        "consent_required": change.consent_required,
        "consented_at": _time(change.consented_at),
        "declined_at": _time(change.declined_at),
        "price_effective_at": _time(change.price_effective_at),
    }


def _price_change_from_json(data: dict[str, Any] | None) -> PendingPriceChange | None:
    if data is None:
        return None
    return PendingPriceChange(
        int(data["old_amount_minor"]),
        int(data["amount_minor"]),
        datetime.fromisoformat(data["effective_at"]),
        _parse(data.get("noticed_at")),
        bool(data.get("consent_required", False)),
        _parse(data.get("consented_at")),
        _parse(data.get("declined_at")),
        _parse(data.get("price_effective_at")),
    )


def subscription_from_json(data: dict[str, Any]) -> Subscription:
    """Rebuild the aggregate stored by `subscription_to_json`."""
    change = data.get("pending_plan_change")
    pending = None
    if change is not None:
        pending = PendingPlanChange(
            change["plan_id"],
            int(change["amount_minor"]),
            _parse_interval(change["interval"]),
            datetime.fromisoformat(change["effective_at"]),
        )
    times = {name: _parse(data.get(name)) for name in _TIMES}
    plain = {name: data[name] for name in _PLAIN if name in data}
    return Subscription(
        **plain,
        **times,  # type: ignore[arg-type]
        channel=Channel(data["channel"]),
        billing_origin=BillingOrigin(data["billing_origin"]),
        state=SubscriptionState(data["state"]),
        interval=_parse_interval(data["interval"]),
        pending_plan_change=pending,
        pending_price_change=_price_change_from_json(data.get("pending_price_change")),
        applied_price_change=_price_change_from_json(data.get("applied_price_change")),
        discount=RecurringDiscount(**data["discount"]) if data.get("discount") else None,
        features=features_from_json(data.get("features", [])),
    )
