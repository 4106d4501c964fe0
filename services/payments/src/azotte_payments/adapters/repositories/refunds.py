"""Refunds of charges, with the reason each was given for."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.tables import refunds
from azotte_payments.domain.refund import Refund, RefundDestination, RefundStatus
from azotte_platform.tax import TaxBreakdown


class PostgresRefundRepository:
    """Refunds of charges (implements `ports.PostgresRefundRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add(self, refund: Refund, reason: str) -> None:
        """Store a refund."""
        await self._c.execute(
            refunds.insert().values(
                tenant_id=self._tenant,
                id=refund.refund_id,
                charge_id=refund.charge_id,
                currency=refund.currency,
                gross_minor=refund.amounts.gross_minor,
                tax_minor=refund.amounts.tax_minor,
                net_minor=refund.amounts.net_minor,
                destination=refund.destination.value,
                status=refund.status.value,
                psp_reference=refund.psp_reference,
                reason=reason,
                created_at=refund.created_at,
            )
        )

    async def for_charge(self, charge_id: str) -> list[tuple[Refund, str]]:
        """A charge's refunds with their reasons, oldest first."""
        rows = await self._c.execute(
            sa.select(refunds)
            .where(refunds.c.tenant_id == self._tenant, refunds.c.charge_id == charge_id)
            .order_by(refunds.c.created_at, refunds.c.id)
        )
        return [
            (
                Refund(
                    row.id,
                    row.charge_id,
                    row.currency,
                    TaxBreakdown(row.gross_minor, row.tax_minor, row.net_minor),
                    RefundDestination(row.destination),
                    row.created_at,
                    RefundStatus(row.status),
                    row.psp_reference,
                ),
                row.reason,
            )
            for row in rows.all()
        ]
