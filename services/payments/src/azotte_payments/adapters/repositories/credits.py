"""Customer credit balances, one row per customer and currency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import IDS, keyset_after
from azotte_payments.adapters.tables import credit_balances, credit_movements
from azotte_payments.domain.credit import CreditBalance, CreditMovement, CreditMovementKind
from azotte_platform.paging import Page, PageRequest

# NOTE: built once: every charge asks it.
_SPENDABLE = (
    sa.select(credit_balances)
    .where(
        credit_balances.c.tenant_id == sa.bindparam("tenant"),
        credit_balances.c.customer_id == sa.any_(IDS),
        credit_balances.c.balance_minor > 0,
    )
    .order_by(credit_balances.c.customer_id, credit_balances.c.currency)
    .with_for_update()
)


def _movement(row: Any) -> CreditMovement:
    return CreditMovement(
        movement_id=row.id,
        customer_id=row.customer_id,
        currency=row.currency,
        kind=CreditMovementKind(row.kind),
        amount_minor=row.amount_minor,
        balance_after_minor=row.balance_after_minor,
        occurred_at=row.occurred_at,
        charge_id=row.charge_id,
        note=row.note,
    )


class PostgresCreditRepository:
    """Customer credit balances (implements `ports.PostgresCreditRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def get(self, customer_id: str, currency: str, *, lock: bool = False) -> CreditBalance:
        """The balance (zero when the customer never had credit), locked when asked."""
        if lock:
            # NOTE: create the row first so that concurrent spenders serialize on it.
            await self._c.execute(
                insert(credit_balances)
                .values(tenant_id=self._tenant, customer_id=customer_id, currency=currency, balance_minor=0)
                .on_conflict_do_nothing()
            )
        query = sa.select(credit_balances.c.balance_minor).where(
            credit_balances.c.tenant_id == self._tenant,
            credit_balances.c.customer_id == customer_id,
            credit_balances.c.currency == currency,
        )
        if lock:
            query = query.with_for_update()
        balance = (await self._c.execute(query)).scalar()
        return CreditBalance(customer_id, currency, int(balance or 0))

    async def spendable(self, customer_ids: Sequence[str]) -> dict[tuple[str, str], CreditBalance]:
        """The customers' positive balances by (customer, currency), locked; missing ones are zero."""
        rows = (await self._c.execute(_SPENDABLE, {"tenant": self._tenant, "b_ids": list(customer_ids)})).all()
        return {(r.customer_id, r.currency): CreditBalance(r.customer_id, r.currency, r.balance_minor) for r in rows}

    async def for_customer(self, customer_id: str) -> list[CreditBalance]:
        """Every balance the customer ever had, by currency."""
        query = (
            sa.select(credit_balances)
            .where(credit_balances.c.tenant_id == self._tenant, credit_balances.c.customer_id == customer_id)
            .order_by(credit_balances.c.currency)
        )
        rows = (await self._c.execute(query)).all()
        return [CreditBalance(r.customer_id, r.currency, r.balance_minor) for r in rows]

    async def movements(
        self, customer_id: str, currency: str, kind: CreditMovementKind | None, page: PageRequest
    ) -> Page[CreditMovement]:
        """One page of the customer's movements (of one currency and kind when given), newest first."""
        m = credit_movements.c
        query = sa.select(credit_movements).where(m.tenant_id == self._tenant, m.customer_id == customer_id)
        if currency:
            query = query.where(m.currency == currency)
        if kind is not None:
            query = query.where(m.kind == kind.value)
        after = keyset_after(page, int)
        if after is not None:
            query = query.where(m.seq < after[0])
        rows = (await self._c.execute(query.order_by(m.seq.desc()).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.seq])
        return Page([_movement(row) for row in cut.items], cut.next_page_token)

    async def save(self, balance: CreditBalance) -> None:
        """Write the balance and its new movements."""
        await self.save_many([balance])

    async def save_many(self, balances: Sequence[CreditBalance]) -> None:
        """Write the balances and their new movements."""
        if not balances:
            return
        moved = [
            {
                "tenant_id": self._tenant,
                "id": m.movement_id,
                "customer_id": m.customer_id,
                "currency": m.currency,
                "kind": m.kind.value,
                "amount_minor": m.amount_minor,
                "balance_after_minor": m.balance_after_minor,
                "charge_id": m.charge_id,
                "note": m.note,
                "occurred_at": m.occurred_at,
            }
            for b in balances
            for m in b.movements
        ]
        if moved:
            await self._c.execute(sa.insert(credit_movements), moved)
        for b in balances:
            b.movements.clear()
        statement = insert(credit_balances)
        await self._c.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id", "currency"],
                set_={"balance_minor": statement.excluded.balance_minor},
            ),
            [
                {
                    "tenant_id": self._tenant,
                    "customer_id": b.customer_id,
                    "currency": b.currency,
                    "balance_minor": b.balance_minor,
                }
                for b in balances
            ],
        )
