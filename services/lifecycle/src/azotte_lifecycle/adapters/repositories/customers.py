"""Customers and the channel identities linked to them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_lifecycle.adapters.tables import customer_identities, customers
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.errors import CustomerExists, IdentityLinked


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

    async def get(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> Customer | None:
        if for_update:
            c = customers.c
            locked = await self._conn.scalar(
                # NOTE: FOR NO KEY UPDATE: it serializes its holders, not inserts whose foreign keys name the row.
                sa.select(c.id).where(c.tenant_id == tenant_id, c.id == customer_id).with_for_update(key_share=True)
            )
            if locked is None:
                return None
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
        """Customers ordered by id, with their identities (only those of `ids` when given)."""
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
