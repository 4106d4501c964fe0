"""Repositories over one connection: customers, subscriptions (with due work), policies, channel events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.codec import (
    policy_from_json,
    policy_to_json,
    subscription_from_json,
    subscription_to_json,
)
from azotte_lifecycle.adapters.tables import (
    applied_channel_events,
    customer_identities,
    customers,
    lifecycle_policies,
    subscription_history,
    subscription_identities,
    subscriptions,
)
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.domain.events import Cause, EventType, HistoryEntry
from azotte_lifecycle.domain.policy import TenantLifecyclePolicy
from azotte_lifecycle.domain.states import SubscriptionState
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.db.bulk import as_arrays, insert_unnested, update_unnested
from azotte_platform.errors import AlreadyExists


class CustomerRepository:
    """Customers and the channel identities linked to them."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, customer: Customer) -> None:
        """Insert a new customer; its external id must be new in the tenant."""
        inserted = await self._conn.execute(
            insert(customers)
            .values(
                tenant_id=customer.tenant_id,
                id=customer.id,
                external_id=customer.external_id,
                email=customer.email,
                country_code=customer.country_code,
                created_at=customer.created_at,
            )
            .on_conflict_do_nothing()
            .returning(customers.c.id)
        )
        if inserted.first() is None:
            raise AlreadyExists(
                f"a customer with external_id {customer.external_id!r} already exists",
                reason="CUSTOMER_EXISTS",
            )
        for identity in customer.identities:
            await self.link(customer.tenant_id, customer.id, identity)

    async def link(self, tenant_id: str, customer_id: str, identity: ChannelIdentity) -> None:
        """Link an identity; one already linked to another customer is ALREADY_EXISTS."""
        await self._conn.execute(
            insert(customer_identities)
            .values(
                tenant_id=tenant_id,
                kind=identity.kind.value,
                issuer=identity.issuer,
                value=identity.value,
                customer_id=customer_id,
            )
            .on_conflict_do_nothing()
        )
        owner = await self.find_by_identity(tenant_id, identity)
        if owner != customer_id:
            raise AlreadyExists(
                f"{identity.kind} {identity.value!r} is linked to another customer", reason="IDENTITY_LINKED"
            )

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
        """The id of the customer an identity is linked to."""
        c = customer_identities.c
        return await self._conn.scalar(
            sa.select(c.customer_id).where(
                c.tenant_id == tenant_id,
                c.kind == identity.kind.value,
                c.issuer == identity.issuer,
                c.value == identity.value,
            )
        )

    async def get(self, tenant_id: str, customer_id: str) -> Customer | None:
        found = await self.find(tenant_id, 1, ids=[customer_id])
        return found[0] if found else None

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        after_id: str | None = None,
        ids: Sequence[str] = (),
        external_id: str = "",
        email: str = "",
    ) -> list[Customer]:
        """Customers ordered by id, with their identities."""
        c = customers.c
        query = sa.select(customers).where(c.tenant_id == tenant_id).order_by(c.id).limit(limit)
        if after_id is not None:
            query = query.where(c.id > after_id)
        if ids:
            query = query.where(c.id.in_(ids))
        if external_id:
            query = query.where(c.external_id == external_id)
        if email:
            query = query.where(c.email == email.lower())
        rows = (await self._conn.execute(query)).all()
        found = {r.id: Customer(r.id, r.tenant_id, r.external_id, r.email, r.country_code, r.created_at) for r in rows}
        if found:
            i = customer_identities.c
            links = await self._conn.execute(
                sa.select(i.customer_id, i.kind, i.issuer, i.value).where(
                    i.tenant_id == tenant_id, i.customer_id.in_(list(found))
                )
            )
            for link in links:
                found[link.customer_id].identities.add(
                    ChannelIdentity(IdentityKind(link.kind), link.value, link.issuer)
                )
        return list(found.values())


class SubscriptionRepository:
    """Subscriptions stored as a JSONB aggregate plus the columns queries and the scheduler need."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection
        self.created_at: dict[str, datetime] = {}

    async def add(self, sub: Subscription, now: datetime) -> None:
        await self._conn.execute(
            subscriptions.insert().values(
                **self._row(sub, now), created_at=now, initial_charge_id=sub.initial_charge_id or None
            )
        )
        self.created_at[sub.id] = now
        await self._write_history([sub])

    async def save(self, sub: Subscription, now: datetime) -> None:
        await self.save_many([sub], now)

    async def save_many(self, subs: Sequence[Subscription], now: datetime) -> None:
        """Write back changed aggregates and their new history entries."""
        if not subs:
            return
        rows = [self._row(s, now) for s in subs]
        await self._conn.execute(_UPDATE_SUBSCRIPTIONS, as_arrays(rows, (*_KEY, *_UPDATED)))
        await self._write_history(subs)

    async def get(self, tenant_id: str, subscription_id: str, *, for_update: bool = False) -> Subscription | None:
        c = subscriptions.c
        query = sa.select(*_LOADED).where(c.tenant_id == tenant_id, c.id == subscription_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return None if row is None else self._load(row)

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        after_id: str | None = None,
        customer_id: str = "",
        state: SubscriptionState | None = None,
    ) -> list[Subscription]:
        c = subscriptions.c
        query = sa.select(*_LOADED).where(c.tenant_id == tenant_id).order_by(c.id).limit(limit)
        if after_id is not None:
            query = query.where(c.id > after_id)
        if customer_id:
            query = query.where(c.customer_id == customer_id)
        if state is not None:
            query = query.where(c.state == state.value)
        return [self._load(row) for row in await self._conn.execute(query)]

    async def history(
        self, tenant_id: str, subscription_id: str, limit: int, after_seq: int | None
    ) -> list[tuple[int, HistoryEntry]]:
        """History entries, oldest first, with their sequence numbers."""
        h = subscription_history.c
        query = (
            sa.select(subscription_history)
            .where(h.tenant_id == tenant_id, h.subscription_id == subscription_id)
            .order_by(h.seq)
            .limit(limit)
        )
        if after_seq is not None:
            query = query.where(h.seq > after_seq)
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
                ),
            )
            for r in await self._conn.execute(query)
        ]

    async def claim_due(self, now: datetime, limit: int, tenant_id: str | None = None) -> list[Subscription]:
        """Lock up to `limit` subscriptions of one tenant whose work is due, earliest first.

        Without `tenant_id`, the tenant is the one whose earliest due work nobody holds is the earliest
        of all, so a batch is charged with one payments call. Rows locked elsewhere are skipped.
        """
        c = subscriptions.c
        due = sa.select(*_LOADED).where(c.next_due_at <= now).order_by(c.next_due_at).with_for_update(skip_locked=True)
        if tenant_id is None:
            earliest = (await self._conn.execute(due.with_only_columns(c.tenant_id).limit(1))).first()
            if earliest is None:
                return []
            tenant_id = str(earliest.tenant_id)
        rows = await self._conn.execute(due.where(c.tenant_id == tenant_id).limit(limit))
        return [self._load(row) for row in rows]

    async def defer(self, subs: Iterable[Subscription], until: datetime) -> None:
        """Push the due time of subscriptions whose work could not be settled now."""
        c = subscriptions.c
        keys = [{"k_tenant": s.tenant_id, "k_id": s.id, "until": until} for s in subs]
        if keys:
            await self._conn.execute(
                sa.update(subscriptions)
                .where(c.tenant_id == sa.bindparam("k_tenant"), c.id == sa.bindparam("k_id"))
                .values(next_due_at=sa.bindparam("until")),
                keys,
            )

    async def count_due(self, now: datetime, tenant_id: str | None = None) -> int:
        c = subscriptions.c
        query = sa.select(sa.func.count()).select_from(subscriptions).where(c.next_due_at <= now)
        if tenant_id is not None:
            query = query.where(c.tenant_id == tenant_id)
        return int(await self._conn.scalar(query) or 0)

    async def next_due_at(self) -> datetime | None:
        """The earliest due time of any subscription."""
        due: datetime | None = await self._conn.scalar(sa.select(sa.func.min(subscriptions.c.next_due_at)))
        return due

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

    def _load(self, row: Any) -> Subscription:
        self.created_at[row.id] = row.created_at
        sub = subscription_from_json(row.aggregate)
        sub.initial_charge_id = row.initial_charge_id or ""
        return sub

    @staticmethod
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

    async def _write_history(self, subs: Iterable[Subscription]) -> None:
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
            }
            for s in subs
            for e in s.history
        ]
        for s in subs:
            s.history.clear()
        if rows:
            await self._conn.execute(_INSERT_HISTORY, as_arrays(rows, _HISTORY_COLUMNS))


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
_HISTORY_COLUMNS = tuple(column.name for column in subscription_history.c if column.name != "seq")
_INSERT_HISTORY = insert_unnested(subscription_history, _HISTORY_COLUMNS)


class PolicyRepository:
    """Each tenant's lifecycle policy (the default policy until the tenant sets one)."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def get(self, tenant_id: str) -> TenantLifecyclePolicy:
        return (await self.get_many([tenant_id]))[tenant_id]

    async def get_many(self, tenant_ids: Iterable[str]) -> dict[str, TenantLifecyclePolicy]:
        wanted = set(tenant_ids)
        c = lifecycle_policies.c
        rows = await self._conn.execute(sa.select(c.tenant_id, c.policy).where(c.tenant_id.in_(wanted)))
        stored = {r.tenant_id: policy_from_json(r.policy) for r in rows}
        return {tenant: stored.get(tenant) or TenantLifecyclePolicy() for tenant in wanted}

    async def put(self, tenant_id: str, policy: TenantLifecyclePolicy, now: datetime) -> None:
        data = policy_to_json(policy)
        await self._conn.execute(
            insert(lifecycle_policies)
            .values(tenant_id=tenant_id, policy=data, updated_at=now)
            .on_conflict_do_update(index_elements=["tenant_id"], set_={"policy": data, "updated_at": now})
        )


class ChannelEventLedger:
    """Store event ids applied per tenant: a repeat of an id is a duplicate."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def claim(self, tenant_id: str, event_id: str, subscription_id: str, now: datetime) -> bool:
        """Record the event id; False when it was already applied."""
        inserted = await self._conn.execute(
            insert(applied_channel_events)
            .values(tenant_id=tenant_id, event_id=event_id, subscription_id=subscription_id, applied_at=now)
            .on_conflict_do_nothing()
            .returning(applied_channel_events.c.event_id)
        )
        return inserted.first() is not None

    async def subscription_of(self, tenant_id: str, event_id: str) -> str | None:
        c = applied_channel_events.c
        return await self._conn.scalar(
            sa.select(c.subscription_id).where(c.tenant_id == tenant_id, c.event_id == event_id)
        )
