"""In-memory invoices, credit notes, documents, counters, profiles and bank payments over the payments fakes.

`FakeInvoicing.build()` wires the invoice use cases and `InvoicesServicer` over them (a real PDF template).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from azotte_payments.adapters.invoice_pdf import ReportlabInvoiceRenderer
from azotte_payments.domain.bank_statements import BankPayment, BankPaymentStatus, StatementImport
from azotte_payments.domain.invoices import CreditNote, Invoice, InvoiceProfile, InvoiceQuery, InvoiceStatus
from azotte_payments.entrypoints.invoices import InvoicesServicer
from azotte_payments.errors import BankPaymentNotFound, InvoiceNotFound
from azotte_payments.service_layer.invoices import InvoiceTools
from azotte_platform.clock import FixedClock, TenantTimes
from azotte_platform.paging import Page, PageRequest
from azotte_platform.service_kit import Units
from tests.unit.payments.fakes import START, FakePaymentsUnitOfWork, FakeState, FakeStorefronts, _Table


@dataclass
class InvoiceState(FakeState):
    """The payments fake state plus the invoice tables."""

    invoices: dict[tuple[str, str], tuple[Invoice, str]] = field(default_factory=dict)
    counters: dict[tuple[str, str, str], int] = field(default_factory=dict)
    notes: dict[tuple[str, str], CreditNote] = field(default_factory=dict)
    documents: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    unrendered: dict[tuple[str, str], int] = field(default_factory=dict)
    profiles: dict[tuple[str, str], InvoiceProfile] = field(default_factory=dict)
    bank_payments: dict[tuple[str, str], tuple[BankPayment, int]] = field(default_factory=dict)
    imports: dict[tuple[str, str], StatementImport] = field(default_factory=dict)
    payment_seq: itertools.count[int] = field(default_factory=itertools.count)


def _stored(invoice: Invoice) -> Invoice:
    return dataclasses.replace(invoice, events=[])


class FakeInvoiceRepository:
    def __init__(self, uow: FakeInvoicesUnitOfWork, tenant_id: str):
        self._u, self._tenant = uow, tenant_id

    def _mine(self) -> list[tuple[Invoice, str]]:
        return [row for (tenant, _), row in self._u.invoice_rows.rows() if tenant == self._tenant]

    async def add_many(self, keyed: Sequence[tuple[Invoice, str]]) -> set[str]:
        stored = set()
        for invoice, key in keyed:
            if key not in await self.by_keys([key]):
                self._u.invoice_rows.put((self._tenant, invoice.invoice_id), (_stored(invoice), key))
                stored.add(invoice.invoice_id)
        return stored

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, Invoice]:
        return {key: invoice for invoice, key in self._mine() if key in idempotency_keys}

    async def get(self, invoice_id: str, *, lock: bool = False) -> Invoice:
        row = self._u.invoice_rows.get((self._tenant, invoice_id))
        if row is None:
            raise InvoiceNotFound(f"invoice {invoice_id!r} not found")
        return row[0]

    async def claim(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        return [await self.get(invoice_id) for invoice_id in sorted(invoice_ids)]

    async def by_reference(self, payment_reference: str) -> Invoice | None:
        return next((i for i, _ in self._mine() if i.payment_reference == payment_reference), None)

    async def save(self, invoice: Invoice) -> None:
        key = (self._tenant, invoice.invoice_id)
        row = self._u.invoice_rows.get(key)
        assert row is not None
        self._u.invoice_rows.put(key, (_stored(invoice), row[1]))

    async def save_many(self, saved: Sequence[Invoice]) -> None:
        for invoice in saved:
            await self.save(invoice)

    async def find(self, query: InvoiceQuery, page: PageRequest) -> Page[Invoice]:
        kept = [
            invoice
            for invoice, _ in self._mine()
            if (not query.customer_id or invoice.customer_id == query.customer_id)
            and (not query.subscription_id or invoice.subscription_id == query.subscription_id)
            and (not query.statuses or invoice.status in query.statuses)
        ]
        return page.page_in_memory(kept, lambda invoice: invoice.invoice_id)

    async def next_number(self, storefront_id: str, kind: str, count: int = 1) -> int:
        key = (self._tenant, storefront_id, kind)
        first = (self._u.counter_rows.get(key) or 0) + 1
        self._u.counter_rows.put(key, first + count - 1)
        return first

    async def add_credit_note(self, note: CreditNote) -> None:
        self._u.note_rows.put((self._tenant, note.credit_note_id), note)

    async def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        notes = [n for (t, _), n in self._u.note_rows.rows() if t == self._tenant and n.invoice_id == invoice_id]
        return sorted(notes, key=lambda note: note.number)

    async def save_document(self, document_id: str, file_name: str, pdf: bytes, now: datetime) -> None:
        self._u.document_rows.put((self._tenant, document_id), (file_name, pdf))

    async def render_later(self, document_ids: Sequence[str]) -> None:
        for document_id in document_ids:
            self._u.unrendered_rows.put((self._tenant, document_id), 0)

    async def document(self, document_id: str) -> tuple[str, bytes] | None:
        return self._u.document_rows.get((self._tenant, document_id))

    async def profile(self, storefront_id: str) -> InvoiceProfile | None:
        return self._u.profile_rows.get((self._tenant, storefront_id))

    async def save_profile(self, profile: InvoiceProfile) -> None:
        self._u.profile_rows.put((self._tenant, profile.storefront_id), profile)


class FakeDueInvoiceRepository:
    def __init__(self, uow: FakeInvoicesUnitOfWork):
        self._u = uow

    async def past_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        due = [
            (tenant, invoice_id)
            for (tenant, invoice_id), (invoice, _) in self._u.invoice_rows.rows()
            if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
            and invoice.due_on is not None
            and invoice.due_on < today_of.of(tenant).date()
        ]
        return due[:limit]

    async def reminders_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        due = [
            (tenant, invoice_id)
            for (tenant, invoice_id), (invoice, _) in self._u.invoice_rows.rows()
            if invoice.next_reminder_on is not None and invoice.next_reminder_on <= today_of.of(tenant).date()
        ]
        return due[:limit]

    async def claim_unrendered(self, limit: int) -> list[tuple[str, str, int]]:
        return [(tenant, document_id, attempts) for (tenant, document_id), attempts in self._u.unrendered_rows.rows()][
            :limit
        ]

    async def rendered(self, tenant_id: str, document_id: str) -> None:
        self._u.unrendered_rows.delete((tenant_id, document_id))

    async def retry_render(self, tenant_id: str, document_id: str, after: timedelta) -> None:
        attempts = self._u.unrendered_rows.get((tenant_id, document_id))
        assert attempts is not None
        self._u.unrendered_rows.put((tenant_id, document_id), attempts + 1)


class FakeBankPaymentRepository:
    def __init__(self, uow: FakeInvoicesUnitOfWork, tenant_id: str):
        self._u, self._tenant = uow, tenant_id

    def _mine(self) -> list[tuple[BankPayment, int]]:
        rows = [row for (tenant, _), row in self._u.payment_rows.rows() if tenant == self._tenant]
        return sorted(rows, key=lambda row: row[1])

    async def add(self, payment: BankPayment) -> bool:
        if any(p.entry.dedupe_key == payment.entry.dedupe_key for p, _ in self._mine()):
            return False
        seq = next(self._u.state.payment_seq)
        self._u.payment_rows.put((self._tenant, payment.payment_id), (payment, seq))
        return True

    async def get(self, payment_id: str, *, lock: bool = False) -> BankPayment:
        row = self._u.payment_rows.get((self._tenant, payment_id))
        if row is None:
            raise BankPaymentNotFound(f"bank payment {payment_id!r} not found")
        return row[0]

    async def save(self, payment: BankPayment) -> None:
        row = self._u.payment_rows.get((self._tenant, payment.payment_id))
        assert row is not None
        self._u.payment_rows.put((self._tenant, payment.payment_id), (payment, row[1]))

    async def find(self, status: BankPaymentStatus | None, invoice_id: str, page: PageRequest) -> Page[BankPayment]:
        kept = [
            (payment, seq)
            for payment, seq in self._mine()
            if (status is None or payment.status is status) and (not invoice_id or payment.invoice_id == invoice_id)
        ]
        return page.page_in_memory([p for p, _ in kept], lambda payment: payment.payment_id)

    async def import_of(self, digest: str) -> StatementImport | None:
        return self._u.import_rows.get((self._tenant, digest))

    async def add_import(self, statement: StatementImport) -> bool:
        if await self.import_of(statement.digest) is not None:
            return False
        self._u.import_rows.put((self._tenant, statement.digest), statement)
        return True


class FakeInvoicesUnitOfWork(FakePaymentsUnitOfWork):
    """The payments fake unit of work with the invoice repositories."""

    state: InvoiceState

    def _open(self) -> None:
        super()._open()
        self.invoice_rows = _Table(self.state.invoices)
        self.counter_rows = _Table(self.state.counters)
        self.note_rows = _Table(self.state.notes)
        self.document_rows = _Table(self.state.documents)
        self.unrendered_rows = _Table(self.state.unrendered)
        self.profile_rows = _Table(self.state.profiles)
        self.payment_rows = _Table(self.state.bank_payments)
        self.import_rows = _Table(self.state.imports)

    async def commit(self) -> None:
        for table in (
            self.invoice_rows,
            self.counter_rows,
            self.note_rows,
            self.document_rows,
            self.unrendered_rows,
            self.profile_rows,
            self.payment_rows,
            self.import_rows,
        ):
            table.commit()
        await super().commit()

    def invoices(self, tenant_id: str) -> FakeInvoiceRepository:
        return FakeInvoiceRepository(self, tenant_id)

    def due_invoices(self) -> FakeDueInvoiceRepository:
        return FakeDueInvoiceRepository(self)

    def bank_payments(self, tenant_id: str) -> FakeBankPaymentRepository:
        return FakeBankPaymentRepository(self, tenant_id)


@dataclass
class FakeInvoicing:
    """The invoice use cases and servicer over fakes."""

    state: InvoiceState
    storefronts: FakeStorefronts
    tools: InvoiceTools
    servicer: InvoicesServicer

    @classmethod
    def build(cls) -> FakeInvoicing:
        state = InvoiceState(FixedClock(START))
        storefronts = FakeStorefronts()
        tools = InvoiceTools(storefronts, ReportlabInvoiceRenderer())

        def uow() -> FakeInvoicesUnitOfWork:
            return FakeInvoicesUnitOfWork(state)

        return cls(state, storefronts, tools, InvoicesServicer(Units(uow), tools))

    def uow(self) -> FakeInvoicesUnitOfWork:
        return FakeInvoicesUnitOfWork(self.state)

    def invoice_rows(self, tenant_id: str) -> list[Invoice]:
        """Every committed invoice of a tenant."""
        return [invoice for (tenant, _), (invoice, _) in self.state.invoices.items() if tenant == tenant_id]
