"""Customer credit balances, one row per customer and currency."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import IDS
from azotte_payments.adapters.tables import credit_balances
from azotte_payments.domain.credit import CreditBalance


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
        query = (
            sa.select(credit_balances)
            .where(
                credit_balances.c.tenant_id == self._tenant,
                credit_balances.c.customer_id == sa.any_(IDS),
                credit_balances.c.balance_minor > 0,
            )
            .order_by(credit_balances.c.customer_id, credit_balances.c.currency)
            .with_for_update()
        )
        rows = (await self._c.execute(query, {"b_ids": list(customer_ids)})).all()
        return {(r.customer_id, r.currency): CreditBalance(r.customer_id, r.currency, r.balance_minor) for r in rows}

    async def save(self, balance: CreditBalance) -> None:
        """Write the balance."""
        await self.save_many([balance])

    async def save_many(self, balances: Sequence[CreditBalance]) -> None:
        """Write the balances."""
        if not balances:
            return
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
