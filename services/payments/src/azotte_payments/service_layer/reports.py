"""Revenue report and ledger trial balance."""

from __future__ import annotations

import re
from collections.abc import Sequence

from azotte_payments.domain.ledger import GroupBy, RevenueRow, revenue_report
from azotte_payments.ports import PaymentsUnitOfWork
from azotte_platform.errors import InvalidArgument

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _period(field: str, value: str) -> str:
    if not _PERIOD.match(value):
        raise InvalidArgument.field(field, "must be an accounting month 'YYYY-MM'")
    return value


async def revenue(
    uow: PaymentsUnitOfWork, tenant_id: str, period_from: str, period_to: str, group_by: Sequence[GroupBy]
) -> list[RevenueRow]:
    """Revenue rows per currency and the requested dimensions."""
    start, end = _period("period_from", period_from), _period("period_to", period_to)
    if start > end:
        raise InvalidArgument.field("period_from", "must not be after period_to")
    entries = await uow.ledger(tenant_id).entries_between(start, end)
    return revenue_report(entries, start, end, group_by)


async def trial_balance(uow: PaymentsUnitOfWork, tenant_id: str, currency: str) -> dict[str, dict[str, int]]:
    """Debit-positive account balances per currency; each currency sums to zero."""
    return await uow.ledger(tenant_id).trial_balance(currency)
