"""Disputes (chargebacks) of a tenant's charges, one per PSP dispute."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import disputes
from azotte_payments.domain.dispute import Dispute, DisputeStatus


class PostgresDisputeRepository:
    """One tenant's disputes (implements `ports.DisputeRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add(self, dispute: Dispute) -> bool:
        """Store a new dispute; False when the PSP's dispute is already recorded."""
        row = {"tenant_id": self._tenant, "id": dispute.dispute_id, **_columns(dispute)}
        result = await self._c.execute(insert(disputes).values(row).on_conflict_do_nothing())
        return bool(result.rowcount)

    async def by_psp_id(self, account_id: str, psp_dispute_id: str) -> Dispute | None:
        """The dispute recorded for a PSP's dispute id, locked for update."""
        query = (
            sa.select(disputes)
            .where(
                disputes.c.tenant_id == self._tenant,
                disputes.c.account_id == account_id,
                disputes.c.psp_dispute_id == psp_dispute_id,
            )
            .with_for_update()
        )
        row = (await self._c.execute(query)).first()
        return None if row is None else _dispute(row)

    async def save(self, dispute: Dispute) -> None:
        """Write the dispute's status."""
        where = (disputes.c.tenant_id == self._tenant) & (disputes.c.id == dispute.dispute_id)
        await self._c.execute(disputes.update().where(where).values(_columns(dispute)))


def _columns(dispute: Dispute) -> dict[str, Any]:
    return {
        "account_id": dispute.account_id,
        "psp_dispute_id": dispute.psp_dispute_id,
        "charge_id": dispute.charge_id,
        "customer_id": dispute.customer_id,
        "subscription_id": dispute.subscription_id,
        "currency": dispute.currency,
        "amount_minor": dispute.amount_minor,
        "fee_minor": dispute.fee_minor,
        "reason": dispute.reason,
        "status": dispute.status.value,
        "opened_at": dispute.opened_at,
        "closed_at": dispute.closed_at,
    }


def _dispute(row: Any) -> Dispute:
    return Dispute(
        dispute_id=row.id,
        account_id=row.account_id,
        psp_dispute_id=row.psp_dispute_id,
        charge_id=row.charge_id,
        customer_id=row.customer_id,
        subscription_id=row.subscription_id,
        currency=row.currency,
        amount_minor=row.amount_minor,
        fee_minor=row.fee_minor,
        reason=row.reason,
        opened_at=row.opened_at,
        status=DisputeStatus(row.status),
        closed_at=row.closed_at,
    )
