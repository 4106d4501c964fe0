"""Invoices, credit notes, their PDFs, numbering counters and invoice profiles (one tenant), and past-due invoices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_payments.adapters.repositories import keyset_after
from azotte_payments.adapters.tables import (
    credit_notes,
    document_sequences,
    documents,
    invoice_profiles,
    invoices,
    unrendered_documents,
)
from azotte_payments.domain.invoices import (
    BillTo,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceProfile,
    InvoiceQuery,
    InvoiceStatus,
    InvoiceTotals,
    LineKind,
)
from azotte_payments.errors import InvoiceNotFound
from azotte_platform.clock import TenantTimes
from azotte_platform.paging import Page, PageRequest


class PostgresInvoiceRepository:
    """One tenant's invoices (implements `ports.InvoiceRepository`)."""

    def __init__(self, connection: AsyncConnection, tenant_id: str):
        self._c = connection
        self._tenant = tenant_id

    async def add_many(self, keyed: Sequence[tuple[Invoice, str]]) -> set[str]:
        """Store new invoices with their keys in one statement; the ids stored (a key already used is skipped)."""
        if not keyed:
            return set()
        rows = [
            {"tenant_id": self._tenant, "id": invoice.invoice_id, "idempotency_key": key, **_columns(invoice)}
            for invoice, key in keyed
        ]
        statement = insert(invoices).values(rows).on_conflict_do_nothing().returning(invoices.c.id)
        return set((await self._c.execute(statement)).scalars())

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, Invoice]:
        """The invoices made under these idempotency keys, by key."""
        c = invoices.c
        query = sa.select(invoices).where(c.tenant_id == self._tenant, c.idempotency_key.in_(set(idempotency_keys)))
        return {row.idempotency_key: _invoice(row) for row in (await self._c.execute(query)).all()}

    async def get(self, invoice_id: str, *, lock: bool = False) -> Invoice:
        """The invoice (locked for update when asked), or InvoiceNotFound."""
        query = sa.select(invoices).where(invoices.c.tenant_id == self._tenant, invoices.c.id == invoice_id)
        row = (await self._c.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise InvoiceNotFound(f"invoice {invoice_id!r} not found")
        return _invoice(row)

    async def claim(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        """These invoices locked for update, skipping those another transaction holds (it is working on them)."""
        c = invoices.c
        query = sa.select(invoices).where(c.tenant_id == self._tenant, c.id.in_(list(invoice_ids)))
        rows = (await self._c.execute(query.order_by(c.id).with_for_update(skip_locked=True))).all()
        return [_invoice(row) for row in rows]

    async def by_reference(self, payment_reference: str) -> Invoice | None:
        """The invoice whose payment instructions carry this creditor reference, locked for update."""
        where = (invoices.c.tenant_id == self._tenant) & (invoices.c.payment_reference == payment_reference)
        row = (await self._c.execute(sa.select(invoices).where(where).with_for_update())).first()
        return None if row is None else _invoice(row)

    async def save(self, invoice: Invoice) -> None:
        """Write the invoice's state, number, totals and dates."""
        where = (invoices.c.tenant_id == self._tenant) & (invoices.c.id == invoice.invoice_id)
        await self._c.execute(invoices.update().where(where).values(_columns(invoice)))

    async def save_many(self, saved: Sequence[Invoice]) -> None:
        """`save` for many invoices, in one statement."""
        if not saved:
            return
        c = invoices.c
        where = (c.tenant_id == self._tenant) & (c.id == sa.bindparam("b_id"))
        values = {name: sa.bindparam(f"b_{name}", type_=c[name].type) for name in _columns(saved[0])}
        rows = [{"b_id": i.invoice_id, **{f"b_{k}": v for k, v in _columns(i).items()}} for i in saved]
        await self._c.execute(invoices.update().where(where).values(values), rows)

    async def find(self, query: InvoiceQuery, page: PageRequest) -> Page[Invoice]:
        """One page of the invoices the query keeps, newest first (keyset on created_at, id)."""
        c = invoices.c
        select = sa.select(invoices).where(c.tenant_id == self._tenant)
        if query.customer_id:
            select = select.where(c.customer_id == query.customer_id)
        if query.subscription_id:
            select = select.where(c.subscription_id == query.subscription_id)
        if query.statuses:
            select = select.where(c.status.in_([status.value for status in query.statuses]))
        after = keyset_after(page, datetime.fromisoformat, str)
        if after is not None:
            select = select.where(sa.tuple_(c.created_at, c.id) < after)
        select = select.order_by(c.created_at.desc(), c.id.desc()).limit(page.limit)
        rows = page.page((await self._c.execute(select)).all(), lambda row: [row.created_at.isoformat(), row.id])
        return Page([_invoice(row) for row in rows.items], rows.next_page_token)

    async def next_number(self, storefront_id: str, kind: str, count: int = 1) -> int:
        """The first of the next `count` numbers of `kind` in the storefront; its counter row stays locked until
        commit."""
        # NOTE: gap-free numbering: the counter row is incremented (and so locked) in the issuing transaction;
        # a rollback gives the numbers back, and concurrent issuers of the storefront wait their turn.
        c = document_sequences.c
        statement = (
            insert(document_sequences)
            .values(tenant_id=self._tenant, storefront_id=storefront_id, kind=kind, last_number=count)
            .on_conflict_do_update(
                index_elements=[c.tenant_id, c.storefront_id, c.kind], set_={"last_number": c.last_number + count}
            )
            .returning(c.last_number)
        )
        return int((await self._c.execute(statement)).scalar_one()) - count + 1

    async def add_credit_note(self, note: CreditNote) -> None:
        """Store an issued credit note."""
        await self._c.execute(credit_notes.insert().values(tenant_id=self._tenant, **_note_columns(note)))

    async def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        """An invoice's credit notes, oldest first."""
        c = credit_notes.c
        query = (
            sa.select(credit_notes)
            .where(c.tenant_id == self._tenant, c.invoice_id == invoice_id)
            .order_by(c.issued_at, c.number)
        )
        return [_note(row) for row in (await self._c.execute(query)).all()]

    async def save_document(self, document_id: str, file_name: str, pdf: bytes, now: datetime) -> None:
        """Store the rendered PDF of an invoice or credit note."""
        row = {"tenant_id": self._tenant, "id": document_id, "file_name": file_name, "pdf": pdf, "rendered_at": now}
        await self._c.execute(insert(documents).values(row).on_conflict_do_nothing())

    async def render_later(self, document_ids: Sequence[str]) -> None:
        """Queue these documents for the render worker."""
        if document_ids:
            rows = [{"tenant_id": self._tenant, "id": document_id} for document_id in document_ids]
            await self._c.execute(insert(unrendered_documents).values(rows).on_conflict_do_nothing())

    async def document(self, document_id: str) -> tuple[str, bytes] | None:
        """(file name, PDF) of an invoice or credit note."""
        where = (documents.c.tenant_id == self._tenant) & (documents.c.id == document_id)
        row = (await self._c.execute(sa.select(documents.c.file_name, documents.c.pdf).where(where))).first()
        return None if row is None else (row.file_name, bytes(row.pdf))

    async def profile(self, storefront_id: str) -> InvoiceProfile | None:
        """The seller details the storefront's invoices print."""
        c = invoice_profiles.c
        query = sa.select(invoice_profiles).where(c.tenant_id == self._tenant, c.storefront_id == storefront_id)
        row = (await self._c.execute(query)).first()
        if row is None:
            return None
        return InvoiceProfile(
            row.storefront_id, row.seller_name, row.seller_address, row.seller_tax_id,
            row.bank_account_holder, row.iban, row.bic,
        )  # fmt: skip

    async def save_profile(self, profile: InvoiceProfile) -> None:
        """Create or replace a storefront's invoice profile."""
        values = {
            "seller_name": profile.seller_name,
            "seller_address": profile.seller_address,
            "seller_tax_id": profile.seller_tax_id,
            "bank_account_holder": profile.bank_account_holder,
            "iban": profile.iban,
            "bic": profile.bic,
        }
        statement = insert(invoice_profiles).values(
            tenant_id=self._tenant, storefront_id=profile.storefront_id, **values
        )
        await self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[invoice_profiles.c.tenant_id, invoice_profiles.c.storefront_id], set_=values
            )
        )


class PostgresDueInvoiceRepository:
    """Invoices of every tenant past their due date (implements `ports.DueInvoiceRepository`)."""

    def __init__(self, connection: AsyncConnection):
        self._c = connection

    async def past_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, invoice id) of open or partly paid invoices due before their own tenant's today."""
        c = invoices.c
        query = (
            sa.select(c.tenant_id, c.id)
            .where(
                c.status.in_(["open", "partially_paid"]),
                c.due_on < today_of.latest.date(),
                c.due_on < _today(c, today_of),
            )
            .order_by(c.due_on)
            .limit(limit)
        )
        return [(row.tenant_id, row.id) for row in (await self._c.execute(query)).all()]

    async def reminders_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, invoice id) of invoices whose next reminder day is their own tenant's today or before."""
        c = invoices.c
        query = (
            sa.select(c.tenant_id, c.id)
            .where(c.next_reminder_on <= today_of.latest.date(), c.next_reminder_on <= _today(c, today_of))
            .order_by(c.next_reminder_on)
            .limit(limit)
        )
        return [(row.tenant_id, row.id) for row in (await self._c.execute(query)).all()]

    async def claim_unrendered(self, limit: int) -> list[tuple[str, str, int]]:
        """(tenant, document id, attempts so far) of up to `limit` documents due for rendering, locked; others'
        claims skipped."""
        c = unrendered_documents.c
        query = (
            sa.select(c.tenant_id, c.id, c.attempts)
            .where(c.not_before <= sa.func.now())
            .order_by(c.not_before)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row.tenant_id, row.id, row.attempts) for row in (await self._c.execute(query)).all()]

    async def rendered(self, tenant_id: str, document_id: str) -> None:
        """The document is stored: off the queue."""
        c = unrendered_documents.c
        await self._c.execute(unrendered_documents.delete().where(c.tenant_id == tenant_id, c.id == document_id))

    async def retry_render(self, tenant_id: str, document_id: str, after: timedelta) -> None:
        """Rendering failed: try again `after` from now."""
        c = unrendered_documents.c
        values = {"attempts": c.attempts + 1, "not_before": sa.func.now() + after}
        await self._c.execute(
            unrendered_documents.update().where(c.tenant_id == tenant_id, c.id == document_id).values(values)
        )


def _today(c: Any, today_of: TenantTimes) -> Any:
    """Each row's own tenant's date."""
    # NOTE: sandbox time is per tenant: each invoice is compared with its own tenant's date.
    today: Any = sa.literal(today_of.base.date(), sa.Date)
    if today_of.offsets:
        own = {tenant: sa.literal(today_of.of(tenant).date(), sa.Date) for tenant in today_of.offsets}
        today = sa.case(own, value=c.tenant_id, else_=today)
    return today


def _line_json(line: InvoiceLine) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        "description": line.description,
        "amount_minor": line.amount_minor,
        "quantity": str(line.quantity),
        "unit_price_minor": None if line.unit_price_minor is None else str(line.unit_price_minor),
        "plan_id": line.plan_id,
        "meter_id": line.meter_id,
        "dimension": line.dimension,
    }


def _line(data: dict[str, Any]) -> InvoiceLine:
    unit = data["unit_price_minor"]
    return InvoiceLine(
        LineKind(data["kind"]),
        data["description"],
        data["amount_minor"],
        Decimal(data["quantity"]),
        None if unit is None else Decimal(unit),
        data["plan_id"],
        data["meter_id"],
        data["dimension"],
    )


def _columns(invoice: Invoice) -> dict[str, Any]:
    totals, bill_to = invoice.totals, invoice.bill_to
    return {
        "customer_id": invoice.customer_id,
        "storefront_id": invoice.storefront_id,
        "currency": invoice.currency,
        "status": invoice.status.value,
        "number": invoice.number or None,
        "payment_reference": invoice.payment_reference or None,
        "subscription_id": invoice.subscription_id,
        "period_key": invoice.period_key,
        "memo": invoice.memo,
        "bill_to": {
            "name": bill_to.name,
            "email": bill_to.email,
            "address": bill_to.address,
            "country_code": bill_to.country_code,
            "tax_id": bill_to.tax_id,
        },
        "lines": [_line_json(line) for line in invoice.lines],
        "due_in_days": invoice.due_in_days,
        "reverse_charge": invoice.reverse_charge,
        "tax_rate": str(invoice.tax_rate),
        "charges_minor": totals.charges_minor,
        "reductions_minor": totals.reductions_minor,
        "net_minor": totals.net_minor,
        "tax_minor": totals.tax_minor,
        "total_minor": totals.total_minor,
        "paid_minor": invoice.paid_minor,
        "credited_minor": invoice.credited_minor,
        "credited_tax_minor": invoice.credited_tax_minor,
        "created_at": invoice.created_at,
        "issued_at": invoice.issued_at,
        "due_on": invoice.due_on,
        "closed_at": invoice.closed_at,
        "status_note": invoice.status_note,
        "reminder_days": list(invoice.reminder_days),
        "reminders_pending": list(invoice.reminders_pending),
        "next_reminder_on": invoice.next_reminder_on,
        "seller": None if invoice.seller is None else asdict(invoice.seller),
    }


def _invoice(row: Any) -> Invoice:
    return Invoice(
        invoice_id=row.id,
        customer_id=row.customer_id,
        storefront_id=row.storefront_id,
        currency=row.currency,
        lines=tuple(_line(line) for line in row.lines),
        bill_to=BillTo(**row.bill_to),
        due_in_days=row.due_in_days,
        created_at=row.created_at,
        subscription_id=row.subscription_id,
        period_key=row.period_key,
        memo=row.memo,
        status=InvoiceStatus(row.status),
        number=row.number or "",
        payment_reference=row.payment_reference or "",
        reverse_charge=row.reverse_charge,
        tax_rate=Decimal(row.tax_rate),
        totals=InvoiceTotals(row.charges_minor, row.reductions_minor, row.net_minor, row.tax_minor, row.total_minor),
        issued_at=row.issued_at,
        due_on=row.due_on,
        paid_minor=row.paid_minor,
        credited_minor=row.credited_minor,
        credited_tax_minor=row.credited_tax_minor,
        closed_at=row.closed_at,
        status_note=row.status_note,
        reminder_days=tuple(row.reminder_days),
        reminders_pending=tuple(row.reminders_pending),
        seller=None if row.seller is None else InvoiceProfile(**row.seller),
    )


def _note_columns(note: CreditNote) -> dict[str, Any]:
    return {
        "id": note.credit_note_id,
        "invoice_id": note.invoice_id,
        "invoice_number": note.invoice_number,
        "customer_id": note.customer_id,
        "storefront_id": note.storefront_id,
        "currency": note.currency,
        "number": note.number,
        "amount_minor": note.amount_minor,
        "tax_minor": note.tax_minor,
        "to_balance_minor": note.to_balance_minor,
        "refund_minor": note.refund_minor,
        "reason": note.reason,
        "issued_at": note.issued_at,
    }


def _note(row: Any) -> CreditNote:
    return CreditNote(
        credit_note_id=row.id,
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        customer_id=row.customer_id,
        storefront_id=row.storefront_id,
        currency=row.currency,
        number=row.number,
        amount_minor=row.amount_minor,
        tax_minor=row.tax_minor,
        to_balance_minor=row.to_balance_minor,
        refund_minor=row.refund_minor,
        reason=row.reason,
        issued_at=row.issued_at,
    )
