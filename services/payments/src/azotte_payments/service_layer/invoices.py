"""Invoices: draft, issue (number, tax, ledger), PDFs, read, void, write off, credit notes, overdue and reminder
sweeps, profiles."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from azotte_payments.domain.credit import CreditReason
from azotte_payments.domain.events import InvoiceMarkedUncollectible
from azotte_payments.domain.invoice_postings import (
    postings_for_credit_note,
    postings_for_invoice,
    postings_for_invoice_void,
    postings_for_write_off,
)
from azotte_payments.domain.invoices import (
    MAX_DUE_DAYS,
    MAX_LINES,
    BillTo,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceProfile,
    InvoiceQuery,
    InvoiceStatus,
    IssueTerms,
    credit_note_prefix,
    document_number,
    invoice_prefix,
    new_payment_reference,
    validate_line,
)
from azotte_payments.domain.ledger import EntryKind
from azotte_payments.errors import CurrencyMismatch, InvoiceNotFound
from azotte_payments.ports import DueInvoiceRepository, InvoiceRenderer, InvoicingUnitOfWork, StorefrontCatalog
from azotte_payments.service_layer.credits import record_credit_granted
from azotte_payments.service_layer.effects import new_id, post_entries, post_entry
from azotte_platform import context
from azotte_platform.clock import Clock, TenantTimes, tenant_times
from azotte_platform.errors import Aborted, AzotteError, InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_platform.reminders import reminder_days

log = logging.getLogger(__name__)

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class InvoiceTools:
    """What issuing needs beyond the unit of work: the storefronts' terms and the PDF template."""

    catalog: StorefrontCatalog
    renderer: InvoiceRenderer


@dataclass(frozen=True)
class CreateInvoice:
    """A new invoice (a draft, or issued at once); `idempotency_key` makes one invoice per key."""

    idempotency_key: str
    customer_id: str
    storefront_id: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    bill_to: BillTo
    due_in_days: int
    subscription_id: str = ""
    period_key: str = ""
    memo: str = ""
    issue: bool = False
    reminder_days: tuple[int, ...] = ()


async def create_invoice(
    uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, command: CreateInvoice
) -> Invoice:
    """Store a draft in the storefront's currency (and issue it when asked); a repeated key answers the first."""
    [answer] = await create_invoices(uow, tenant_id, tools, [command])
    if isinstance(answer, AzotteError):
        raise answer
    return answer


async def create_invoices(
    uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, commands: Sequence[CreateInvoice]
) -> list[Invoice | AzotteError]:
    """`create_invoice` for many invoices in one transaction, issued together; each answered as it would answer
    it alone (a bad one is its own error and stores nothing)."""
    repository = uow.invoices(tenant_id)
    existing = await repository.by_keys([command.idempotency_key for command in commands])
    drafts: dict[str, Invoice] = {}
    to_issue: list[Invoice] = []
    slots: list[Invoice | AzotteError | str] = []
    for command in commands:
        key = command.idempotency_key
        if key in existing:
            slots.append(existing[key])
            continue
        if key not in drafts:
            try:
                drafts[key] = await _draft(uow, tenant_id, tools, command)
            except AzotteError as error:
                slots.append(error)
                continue
            if command.issue:
                to_issue.append(drafts[key])
        slots.append(key)
    stored = await repository.add_many([(invoice, key) for key, invoice in drafts.items()])
    await _issue_all(uow, tenant_id, tools, [invoice for invoice in to_issue if invoice.invoice_id in stored])

    def answer(slot: Invoice | AzotteError | str) -> Invoice | AzotteError:
        if not isinstance(slot, str):
            return slot
        if drafts[slot].invoice_id not in stored:
            return Aborted("another request is creating the invoice of this idempotency key; retry to read it")
        return drafts[slot]

    return [answer(slot) for slot in slots]


async def _draft(uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, command: CreateInvoice) -> Invoice:
    """The command's draft, checked (priced, when it is to be issued, so that issuing cannot fail)."""
    _validate(command)
    reminders = reminder_days(command.reminder_days, "reminder_days")
    terms = await tools.catalog.terms(tenant_id, command.storefront_id)
    currency = command.currency or terms.currency
    if currency != terms.currency:
        raise CurrencyMismatch.field("currency_code", f"storefront {command.storefront_id} bills in {terms.currency}")
    invoice = Invoice(
        invoice_id=new_id("in"),
        customer_id=command.customer_id,
        storefront_id=command.storefront_id,
        currency=currency,
        lines=command.lines,
        bill_to=command.bill_to,
        due_in_days=command.due_in_days,
        created_at=uow.clock.now(),
        subscription_id=command.subscription_id,
        period_key=command.period_key,
        memo=command.memo,
        reminder_days=reminders,
    )
    if command.issue:
        invoice.price(terms.tax_policy, terms.country_code)
    return invoice


def _validate(command: CreateInvoice) -> None:
    if not command.idempotency_key:
        raise InvalidArgument.field("request_id", "is required")
    if not command.customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    if not command.storefront_id:
        raise InvalidArgument.field("storefront_id", "is required")
    if not command.bill_to.name.strip():
        raise InvalidArgument.field("bill_to.name", "is required")
    if not 0 <= command.due_in_days <= MAX_DUE_DAYS:
        raise InvalidArgument.field("due_in_days", f"must be between 0 and {MAX_DUE_DAYS}")
    if len(command.lines) > MAX_LINES:
        raise InvalidArgument.field("lines", f"must be at most {MAX_LINES}")
    for index, line in enumerate(command.lines):
        validate_line(line, index)


async def issue_invoice(uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, invoice_id: str) -> Invoice:
    """Issue a draft: its number, tax, totals, due date, payment reference and journal entry (the PDF after)."""
    invoice = await uow.invoices(tenant_id).get(invoice_id, lock=True)
    await _issue_all(uow, tenant_id, tools, [invoice])
    return invoice


async def _issue_all(uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, drafts: Sequence[Invoice]) -> None:
    """Issue the drafts together: per storefront one run of numbers, then one statement per table."""
    if not drafts:
        return
    repository = uow.invoices(tenant_id)
    now = uow.clock.now()
    by_storefront: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in drafts:
        by_storefront[invoice.storefront_id].append(invoice)
    # NOTE: storefronts in order, so two batches lock their counters in the same order and never deadlock.
    for storefront_id, group in sorted(by_storefront.items()):
        terms = await tools.catalog.terms(tenant_id, storefront_id)
        seller = await repository.profile(storefront_id)
        # NOTE: the numbers come from a counter locked until this transaction ends: a failure gives them back.
        first = await repository.next_number(storefront_id, INVOICE, len(group))
        prefix = invoice_prefix(storefront_id)
        for offset, invoice in enumerate(group):
            number = document_number(prefix, first + offset)
            invoice.issue(
                IssueTerms(terms.tax_policy, terms.country_code, number, new_payment_reference(), now, seller)
            )
    await repository.save_many(drafts)
    await post_entries(uow, tenant_id, [postings_for_invoice(invoice, tenant_id, new_id("je")) for invoice in drafts])
    # NOTE: the PDF is rendered after the commit (render worker, or GetInvoicePdf first): rendering is most of
    # the cost of issuing, and it must not hold the storefront's number counter locked.
    await repository.render_later([invoice.invoice_id for invoice in drafts])
    for invoice in drafts:
        emit_invoice_events(uow, tenant_id, invoice)


def emit_invoice_events(uow: InvoicingUnitOfWork, tenant_id: str, invoice: Invoice) -> None:
    """Publish what the invoice recorded."""
    uow.emit(tenant_id, *invoice.events)
    invoice.events.clear()


async def credit_customer(
    uow: InvoicingUnitOfWork, tenant_id: str, invoice: Invoice, amount_minor: int, note: str
) -> None:
    """Give the customer `amount_minor` of credit (an over-payment, or a credit note beyond the balance)."""
    if amount_minor <= 0:
        return
    credits = uow.credits(tenant_id)
    balance = await credits.get(invoice.customer_id, invoice.currency, lock=True)
    balance.grant(amount_minor, CreditReason.REFUND, uow.clock.now(), note=note)
    await credits.save(balance)
    record_credit_granted(uow, tenant_id, balance)


async def get_invoice(uow: InvoicingUnitOfWork, tenant_id: str, invoice_id: str) -> tuple[Invoice, list[CreditNote]]:
    """The invoice and its credit notes."""
    repository = uow.invoices(tenant_id)
    invoice = await repository.get(invoice_id)
    return invoice, await repository.credit_notes(invoice_id)


async def list_invoices(
    uow: InvoicingUnitOfWork, tenant_id: str, query: InvoiceQuery, page: PageRequest
) -> Page[Invoice]:
    """One page of invoices, newest first."""
    return await uow.invoices(tenant_id).find(query, page)


async def document_pdf(
    uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, document_id: str
) -> tuple[str, bytes]:
    """The PDF of an issued invoice or a credit note: (file name, bytes); an invoice not rendered yet is rendered
    now."""
    repository = uow.invoices(tenant_id)
    document = await repository.document(document_id)
    if document is not None:
        return document
    missing = InvoiceNotFound(f"no issued invoice or credit note {document_id!r}")
    try:
        invoice = await repository.get(document_id)
    except InvoiceNotFound:
        raise missing from None
    if invoice.status is InvoiceStatus.DRAFT:
        raise missing
    # NOTE: the template over the issued invoice and the seller as issued renders the same bytes every time,
    # so this answer is the document the render worker stores.
    return invoice_file_name(invoice), tools.renderer.invoice_pdf(invoice, invoice.seller)


def invoice_file_name(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


async def render_documents(new_uow: Callable[[], InvoicingUnitOfWork], renderer: InvoiceRenderer, batch: int) -> int:
    """Render and store up to `batch` invoice PDFs waiting for it, claimed so that concurrent workers (and
    replicas) never render one twice; a failure is retried later, backing off. How many were stored."""
    async with new_uow() as uow:
        due = uow.due_invoices()
        stored = 0
        for tenant_id, document_id, attempts in await due.claim_unrendered(batch):
            with context.tenant_scope(tenant_id):
                repository = uow.invoices(tenant_id)
                invoice = await repository.get(document_id)
                try:
                    # NOTE: in a thread, so that the service goes on answering calls while a PDF renders.
                    pdf = await asyncio.to_thread(renderer.invoice_pdf, invoice, invoice.seller)
                except Exception:
                    log.exception("rendering invoice %s failed (attempt %d)", document_id, attempts + 1)
                    await due.retry_render(tenant_id, document_id, timedelta(seconds=min(2**attempts * 30, 3600)))
                    continue
                await repository.save_document(document_id, invoice_file_name(invoice), pdf, uow.clock.now())
                await due.rendered(tenant_id, document_id)
                stored += 1
        await uow.commit()
        return stored


async def void_invoice(uow: InvoicingUnitOfWork, tenant_id: str, invoice_id: str, reason: str) -> Invoice:
    """Cancel an issued, unpaid invoice; its journal entry is reversed."""
    repository = uow.invoices(tenant_id)
    invoice = await repository.get(invoice_id, lock=True)
    now = uow.clock.now()
    invoice.void(reason, now)
    await repository.save(invoice)
    issued = await uow.ledger(tenant_id).entry_for(EntryKind.INVOICE, invoice.invoice_id)
    if issued is not None:
        await post_entry(uow, tenant_id, postings_for_invoice_void(issued, new_id("je"), now))
    emit_invoice_events(uow, tenant_id, invoice)
    return invoice


async def write_off_invoice(uow: InvoicingUnitOfWork, tenant_id: str, invoice_id: str, reason: str) -> Invoice:
    """Mark an invoice uncollectible; its balance is booked as bad debt."""
    repository = uow.invoices(tenant_id)
    invoice = await repository.get(invoice_id, lock=True)
    now = uow.clock.now()
    invoice.write_off(reason, now)
    await repository.save(invoice)
    for fact in invoice.events:
        if isinstance(fact, InvoiceMarkedUncollectible):
            entry = postings_for_write_off(invoice, fact.written_off_minor, tenant_id, new_id("je"), now)
            await post_entry(uow, tenant_id, entry)
    emit_invoice_events(uow, tenant_id, invoice)
    return invoice


@dataclass(frozen=True)
class CreditInvoice:
    """A credit note of `amount_minor` (tax included) for `reason`; the currency, when given, must be the invoice's."""

    invoice_id: str
    amount_minor: int
    currency: str
    reason: str


async def credit_invoice(
    uow: InvoicingUnitOfWork, tenant_id: str, tools: InvoiceTools, command: CreditInvoice
) -> tuple[CreditNote, Invoice]:
    """Issue a credit note: it lowers what is owed; beyond that, the customer gets credit. The invoice is not edited."""
    if not command.reason.strip():
        raise InvalidArgument.field("reason", "is required")
    repository = uow.invoices(tenant_id)
    invoice = await repository.get(command.invoice_id, lock=True)
    if command.currency and command.currency != invoice.currency:
        raise CurrencyMismatch.field("amount.currency_code", f"invoice {invoice.number} is in {invoice.currency}")
    now = uow.clock.now()
    sequence = await repository.next_number(invoice.storefront_id, CREDIT_NOTE)
    number = document_number(credit_note_prefix(invoice.storefront_id), sequence)
    note = invoice.credit(new_id("cn"), number, command.amount_minor, command.reason, now)
    await repository.add_credit_note(note)
    await repository.save(invoice)
    await post_entry(uow, tenant_id, postings_for_credit_note(invoice, note, tenant_id, new_id("je")))
    await credit_customer(uow, tenant_id, invoice, note.refund_minor, f"credit note {note.number}")
    pdf = tools.renderer.credit_note_pdf(note, invoice, await repository.profile(invoice.storefront_id))
    await repository.save_document(note.credit_note_id, f"{note.number}.pdf", pdf, now)
    emit_invoice_events(uow, tenant_id, invoice)
    return note, invoice


async def mark_overdue_invoices(new_uow: Callable[[], InvoicingUnitOfWork], clock: Clock, batch: int = 500) -> int:
    """Mark invoices past their due date (by their own tenant's clock) overdue, `batch` at a time; how many."""
    return await _sweep(
        new_uow, clock, batch, lambda due, today_of, limit: due.past_due(today_of, limit), Invoice.mark_overdue
    )


async def send_reminders(new_uow: Callable[[], InvoicingUnitOfWork], clock: Clock, batch: int = 500) -> int:
    """Publish invoice.reminder for every reminder day come (by each invoice's tenant's clock) of an invoice still
    owed, `batch` invoices at a time; how many were published."""
    return await _sweep(
        new_uow, clock, batch, lambda due, today_of, limit: due.reminders_due(today_of, limit), Invoice.remind
    )


async def _sweep(
    new_uow: Callable[[], InvoicingUnitOfWork],
    clock: Clock,
    batch: int,
    find: Callable[[DueInvoiceRepository, TenantTimes, int], Awaitable[list[tuple[str, str]]]],
    act: Callable[[Invoice, date], int],
) -> int:
    """Apply `act` to every invoice `find` picks, each tenant's in a transaction of its own, `batch` at a time;
    the sum of what `act` answered."""
    done = 0
    while True:
        async with new_uow() as uow:
            due = await find(uow.due_invoices(), tenant_times(clock), batch)
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for tenant_id, invoice_id in due:
            by_tenant[tenant_id].append(invoice_id)
        done_now = sum([await _act_on(new_uow, tenant_id, ids, act) for tenant_id, ids in by_tenant.items()])
        done += done_now
        if len(due) < batch or not done_now:
            return done


async def _act_on(
    new_uow: Callable[[], InvoicingUnitOfWork],
    tenant_id: str,
    invoice_ids: list[str],
    act: Callable[[Invoice, date], int],
) -> int:
    # NOTE: exactly once: each invoice is claimed (SKIP LOCKED: a concurrent sweep has it) and re-read under the
    # lock, and what `act` changed commits in the same transaction as its events' outbox rows.
    with context.tenant_scope(tenant_id):
        async with new_uow() as uow:
            repository = uow.invoices(tenant_id)
            today = uow.clock.now().date()
            claimed = await repository.claim(invoice_ids)
            done = sum(act(invoice, today) for invoice in claimed)
            await repository.save_many(claimed)
            for invoice in claimed:
                emit_invoice_events(uow, tenant_id, invoice)
            await uow.commit()
            return done


async def set_profile(uow: InvoicingUnitOfWork, tenant_id: str, profile: InvoiceProfile) -> InvoiceProfile:
    """Create or replace the seller details and bank account a storefront's invoices print."""
    valid = profile.validated()
    await uow.invoices(tenant_id).save_profile(valid)
    return valid


async def get_profile(uow: InvoicingUnitOfWork, tenant_id: str, storefront_id: str) -> InvoiceProfile:
    """A storefront's invoice profile (NOT_FOUND when none is set)."""
    profile = await uow.invoices(tenant_id).profile(storefront_id)
    if profile is None:
        raise InvoiceNotFound(f"storefront {storefront_id!r} has no invoice profile")
    return profile
