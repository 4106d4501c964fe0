"""Bank transfers received (matched or queued) and the statement files imported, for one tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import keyset_after
from azotte_payments.adapters.tables import bank_payments, statement_imports
from azotte_payments.domain.bank_statements import (
    BankPayment,
    BankPaymentStatus,
    PaymentSource,
    StatementEntry,
    StatementFormat,
    StatementImport,
    Unmatched,
)
from azotte_payments.errors import BankPaymentNotFound
from azotte_platform.paging import Page, PageRequest


class PostgresBankPaymentRepository:
    """One tenant's bank payments and statement imports (implements `ports.BankPaymentRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add(self, payment: BankPayment) -> bool:
        """Store a payment; False when its transfer (dedupe key) is already recorded."""
        row = {"tenant_id": self._tenant, "id": payment.payment_id, **_columns(payment)}
        result = await self._c.execute(insert(bank_payments).values(row).on_conflict_do_nothing())
        return bool(result.rowcount)

    async def get(self, payment_id: str, *, lock: bool = False) -> BankPayment:
        """The payment, or BankPaymentNotFound."""
        c = bank_payments.c
        query = sa.select(bank_payments).where(c.tenant_id == self._tenant, c.id == payment_id)
        row = (await self._c.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise BankPaymentNotFound(f"bank payment {payment_id!r} not found")
        return _payment(row)

    async def save(self, payment: BankPayment) -> None:
        """Write where the payment went."""
        c = bank_payments.c
        where = (c.tenant_id == self._tenant) & (c.id == payment.payment_id)
        await self._c.execute(bank_payments.update().where(where).values(_columns(payment)))

    async def find(self, status: BankPaymentStatus | None, invoice_id: str, page: PageRequest) -> Page[BankPayment]:
        """One page of payments (of one status, or of one invoice, when given), oldest first (keyset on seq)."""
        c = bank_payments.c
        query = sa.select(bank_payments).where(c.tenant_id == self._tenant)
        if status is not None:
            query = query.where(c.status == status.value)
        if invoice_id:
            query = query.where(c.invoice_id == invoice_id)
        after = keyset_after(page, int)
        if after is not None:
            query = query.where(c.seq > after[0])
        rows = (await self._c.execute(query.order_by(c.seq).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.seq])
        return Page([_payment(row) for row in cut.items], cut.next_page_token)

    async def import_of(self, digest: str) -> StatementImport | None:
        """The import of the file with this SHA-256, if it was imported."""
        c = statement_imports.c
        row = (
            await self._c.execute(sa.select(statement_imports).where(c.tenant_id == self._tenant, c.digest == digest))
        ).first()
        if row is None:
            return None
        return StatementImport(
            row.id, row.digest, StatementFormat(row.format), row.file_name, row.imported_at,
            row.entries, row.matched, row.unmatched, row.duplicates,
        )  # fmt: skip

    async def add_import(self, statement: StatementImport) -> bool:
        """Record an imported file; False when the same file was imported concurrently."""
        row = {
            "tenant_id": self._tenant,
            "id": statement.import_id,
            "digest": statement.digest,
            "format": statement.statement_format.value,
            "file_name": statement.file_name,
            "imported_at": statement.imported_at,
            "entries": statement.entries,
            "matched": statement.matched,
            "unmatched": statement.unmatched,
            "duplicates": statement.duplicates,
        }
        result = await self._c.execute(insert(statement_imports).values(row).on_conflict_do_nothing())
        return bool(result.rowcount)


def _columns(payment: BankPayment) -> dict[str, Any]:
    entry = payment.entry
    return {
        "dedupe_key": entry.dedupe_key,
        "source": payment.source.value,
        "import_id": payment.import_id,
        "bank_reference": entry.bank_reference,
        "booked_on": entry.booked_on,
        "amount_minor": entry.amount_minor,
        "currency": entry.currency,
        "payer": entry.payer,
        "remittance": entry.remittance,
        "status": payment.status.value,
        "invoice_id": payment.invoice_id,
        "customer_id": payment.customer_id,
        "applied_minor": payment.applied_minor,
        "excess_minor": payment.excess_minor,
        "unmatched_reason": payment.unmatched_reason.value if payment.unmatched_reason else None,
        "note": payment.note,
        "recorded_at": payment.recorded_at,
    }


def _payment(row: Any) -> BankPayment:
    entry = StatementEntry(
        row.dedupe_key, row.bank_reference, row.booked_on, row.amount_minor, row.currency, row.payer, row.remittance
    )
    return BankPayment(
        payment_id=row.id,
        entry=entry,
        source=PaymentSource(row.source),
        import_id=row.import_id,
        status=BankPaymentStatus(row.status),
        recorded_at=row.recorded_at,
        invoice_id=row.invoice_id,
        customer_id=row.customer_id,
        applied_minor=row.applied_minor,
        excess_minor=row.excess_minor,
        unmatched_reason=Unmatched(row.unmatched_reason) if row.unmatched_reason else None,
        note=row.note,
    )
