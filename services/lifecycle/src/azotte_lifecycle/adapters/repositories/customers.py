"""Customers and the channel identities linked to them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.repositories import queries
from azotte_lifecycle.adapters.tables import customer_identities, customers
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.errors import CustomerExists, IdentityLinked
from azotte_lifecycle.ports import CustomerQuery

_C = customer_identities.c
# NOTE: a customer by id is looked up for every subscription created: its statements are built once.
_ONE = (customers.c.tenant_id == sa.bindparam("tenant_id"), customers.c.id == sa.bindparam("customer_id"))
_CUSTOMER = sa.select(customers).where(*_ONE)
_EXISTS = sa.select(customers.c.id).where(*_ONE)
# NOTE: FOR NO KEY UPDATE: it serializes its holders, not inserts whose foreign keys name the row.
_EXISTS_LOCKED = _EXISTS.with_for_update(key_share=True)
_IDENTITIES = sa.select(_C.customer_id, _C.kind, _C.issuer, _C.value)
_IDENTITIES_OF_ONE = _IDENTITIES.where(
    _C.tenant_id == sa.bindparam("tenant_id"), _C.customer_id == sa.bindparam("customer_id")
)


def _customer(row: Any) -> Customer:
    return Customer(row.id, row.tenant_id, row.external_id, row.email, row.country_code, row.created_at)


def _link_identities(found: dict[str, Customer], links: Iterable[Any]) -> None:
    for link in links:
        found[link.customer_id].identities.add(ChannelIdentity(IdentityKind(link.kind), link.value, link.issuer))


class PostgresCustomerRepository:
    """`ports.CustomerRepository` over the `customers` and `customer_identities` tables."""

    def __init__(self, connection: AsyncConnection):
        self._conn = connection

    async def add(self, customer: Customer) -> None:
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
            raise CustomerExists(f"a customer with external_id {customer.external_id!r} already exists")
        for identity in customer.identities:
            await self.link(customer.tenant_id, customer.id, identity)

    async def link(self, tenant_id: str, customer_id: str, identity: ChannelIdentity) -> None:
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
            raise IdentityLinked(f"{identity.kind} {identity.value!r} is linked to another customer")

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
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
        key = {"tenant_id": tenant_id, "customer_id": customer_id}
        row = (await self._conn.execute(_CUSTOMER, key)).first()
        if row is None:
            return None
        found = {customer_id: _customer(row)}
        _link_identities(found, await self._conn.execute(_IDENTITIES_OF_ONE, key))
        return found[customer_id]

    async def exists(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> bool:
        key = {"tenant_id": tenant_id, "customer_id": customer_id}
        return (await self._conn.execute(_EXISTS_LOCKED if for_update else _EXISTS, key)).first() is not None

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: CustomerQuery,
        after: Sequence[str] | None = None,
    ) -> list[Customer]:
        """Customers matching `query` in its order (id breaks ties), with their identities."""
        c = customers.c
        column = {"email": c.email, "external_id": c.external_id}.get(query.order_by, c.created_at)
        select = sa.select(customers).where(c.tenant_id == tenant_id).limit(limit)
        select = select.order_by(column.desc(), c.id.desc()) if query.descending else select.order_by(column, c.id)
        if after is not None:
            last = datetime.fromisoformat(after[0]) if column is c.created_at else after[0]
            select = select.where(queries.after(column, c.id, last, after[1], descending=query.descending))
        if query.external_id:
            select = select.where(c.external_id == query.external_id)
        if query.email:
            select = select.where(c.email == query.email.lower())
        if query.country_code:
            select = select.where(c.country_code == query.country_code)
        if query.identity_kind is not None or query.identity_value or query.identity_issuer is not None:
            i = customer_identities.c
            linked = sa.select(i.customer_id).where(i.tenant_id == tenant_id)
            if query.identity_kind is not None:
                linked = linked.where(i.kind == query.identity_kind.value)
            if query.identity_value:
                linked = linked.where(i.value == query.identity_value)
            if query.identity_issuer is not None:
                linked = linked.where(i.issuer == query.identity_issuer)
            select = select.where(c.id.in_(linked))
        select = select.where(*queries.bounds(c.created_at, query.created))
        rows = (await self._conn.execute(select)).all()
        found = {row.id: _customer(row) for row in rows}
        if found:
            links = await self._conn.execute(
                _IDENTITIES.where(_C.tenant_id == tenant_id, _C.customer_id.in_(list(found)))
            )
            _link_identities(found, links)
        return list(found.values())
