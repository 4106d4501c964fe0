"""Disputes (chargebacks) of a tenant's charges, one per PSP dispute, and the tenant's dispute access policy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import dispute_policies, disputes
from azotte_payments.domain.dispute import Dispute, DisputeStatus
from azotte_payments.domain.dispute_policy import DisputeAccess, DisputePolicy


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

    async def policy(self) -> DisputePolicy:
        """The tenant's policy (keep access when it never set one)."""
        query = sa.select(dispute_policies).where(dispute_policies.c.tenant_id == self._tenant)
        row = (await self._c.execute(query)).first()
        return DisputePolicy() if row is None else DisputePolicy(DisputeAccess(row.on_dispute_opened), row.updated_at)

    async def set_policy(self, policy: DisputePolicy) -> None:
        """Replace the tenant's policy."""
        values = {"on_dispute_opened": policy.on_dispute_opened.value, "updated_at": policy.updated_at}
        statement = insert(dispute_policies).values(tenant_id=self._tenant, **values)
        await self._c.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values))


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
        "access": dispute.access.value,
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
        access=DisputeAccess(row.access),
    )
