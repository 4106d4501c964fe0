"""Customers' tokenized payment methods."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import IDS, keyset_after
from azotte_payments.adapters.tables import payment_methods
from azotte_payments.domain.payment_method import (
    CustomerPaymentMethods,
    PaymentMethod,
    PaymentMethodQuery,
    PaymentMethodType,
)
from azotte_platform.paging import Page, PageRequest

# NOTE: methods are listed in the order they were added: created_at, then the insertion sequence.
_ORDER = (payment_methods.c.created_at, payment_methods.c.seq)
# NOTE: the statements of every charge are built once: building one costs more than running it.
_OF_TENANT = sa.select(payment_methods).where(payment_methods.c.tenant_id == sa.bindparam("tenant")).order_by(*_ORDER)
_OF_CUSTOMER = _OF_TENANT.where(payment_methods.c.customer_id == sa.bindparam("customer"))
_OF_CUSTOMER_LOCKED = _OF_CUSTOMER.with_for_update()
_OF_CUSTOMERS = _OF_TENANT.where(payment_methods.c.customer_id == sa.any_(IDS))
_upsert = insert(payment_methods)
_PUT_METHOD = _upsert.on_conflict_do_update(
    index_elements=["tenant_id", "id"], set_={"is_default": _upsert.excluded.is_default}
)


def _method(row: Any) -> PaymentMethod:
    return PaymentMethod(
        payment_method_id=row.id,
        customer_id=row.customer_id,
        method_type=PaymentMethodType(row.method_type),
        token=row.token,
        created_at=row.created_at,
        brand=row.brand,
        last4=row.last4,
        exp_month=row.exp_month,
        exp_year=row.exp_year,
        is_default=row.is_default,
    )


class PostgresPaymentMethodRepository:
    """Customers' tokenized payment methods (implements `ports.PostgresPaymentMethodRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def for_customer(self, customer_id: str, *, lock: bool = False) -> CustomerPaymentMethods:
        """Every method of the customer, oldest first (locked for update when asked)."""
        query = _OF_CUSTOMER_LOCKED if lock else _OF_CUSTOMER
        return (await self._by_customer(query, [customer_id], {"customer": customer_id}))[customer_id]

    async def for_customers(self, customer_ids: Sequence[str]) -> dict[str, CustomerPaymentMethods]:
        """Every method of each customer, oldest first, by customer."""
        return await self._by_customer(_OF_CUSTOMERS, customer_ids, {"b_ids": list(customer_ids)})

    async def list_for_customer(self, query: PaymentMethodQuery, page: PageRequest) -> Page[PaymentMethod]:
        """One page of the methods the query keeps, keyset-paginated on (created_at, seq)."""
        c = payment_methods.c
        select = sa.select(payment_methods).where(c.tenant_id == self._tenant, c.customer_id == query.customer_id)
        if query.method_type is not None:
            select = select.where(c.method_type == query.method_type.value)
        if query.is_default is not None:
            select = select.where(c.is_default == query.is_default)
        key = sa.tuple_(*_ORDER)
        after = keyset_after(page, datetime.fromisoformat, int)
        if after is not None:
            select = select.where(key < after if query.newest_first else key > after)
        order = [column.desc() for column in _ORDER] if query.newest_first else list(_ORDER)
        rows = (await self._c.execute(select.order_by(*order).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.created_at.isoformat(), row.seq])
        return Page([_method(row) for row in cut.items], cut.next_page_token)

    async def _by_customer(
        self, query: sa.Select[Any], customer_ids: Sequence[str], params: dict[str, Any]
    ) -> dict[str, CustomerPaymentMethods]:
        found: dict[str, CustomerPaymentMethods] = {c: CustomerPaymentMethods(c, []) for c in customer_ids}
        for row in (await self._c.execute(query, {"tenant": self._tenant, **params})).all():
            found[row.customer_id].methods.append(_method(row))
        return found

    async def save(self, customer: CustomerPaymentMethods, removed: Sequence[str] = ()) -> None:
        """Write every method of the customer and delete the removed ones."""
        if removed:
            await self._c.execute(
                sa.delete(payment_methods).where(
                    payment_methods.c.tenant_id == self._tenant, payment_methods.c.id.in_(list(removed))
                )
            )
        for method in customer.methods:
            values = {
                "tenant_id": self._tenant,
                "id": method.payment_method_id,
                "customer_id": method.customer_id,
                "method_type": method.method_type.value,
                "token": method.token,
                "brand": method.brand,
                "last4": method.last4,
                "exp_month": method.exp_month,
                "exp_year": method.exp_year,
                "is_default": method.is_default,
                "created_at": method.created_at,
            }
            await self._c.execute(_PUT_METHOD, values)
