"""What the payments use cases need: repositories, the catalog, the PSPs, charge locks, a unit of work.

Adapters implement these over PostgreSQL, gRPC and HTTP (`adapters/`); unit tests over memory
(`tests/unit/payments/fakes.py`). The service layer is typed against this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from azotte_payments.domain.bank_statements import BankPayment, BankPaymentStatus, StatementImport
from azotte_payments.domain.charge import Attempt, Charge, ChargeQuery, ChargeRecord
from azotte_payments.domain.credit import CreditBalance, CreditMovement, CreditMovementKind
from azotte_payments.domain.declines import PspChargeResult, PspOperationResult
from azotte_payments.domain.dispute import Dispute
from azotte_payments.domain.dispute_policy import DisputePolicy
from azotte_payments.domain.invoices import CreditNote, Invoice, InvoiceProfile, InvoiceQuery
from azotte_payments.domain.ledger import EntryKind, JournalEntry
from azotte_payments.domain.payment_method import CustomerPaymentMethods, PaymentMethod, PaymentMethodQuery
from azotte_payments.domain.psp_account import PspAccount, PspCredentials, PspKind
from azotte_payments.domain.psp_notice import PspNotice
from azotte_payments.domain.refund import Refund
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_platform.clock import TenantTimes
from azotte_platform.paging import Page, PageRequest
from azotte_platform.ports import AbstractUnitOfWork
from azotte_platform.sealing import Sealed

# --- repositories (one tenant each, over the unit of work's transaction) ---


class ChargeRepository(Protocol):
    """Charges and their attempts."""

    async def insert_many(self, records: Sequence[ChargeRecord], now: datetime) -> set[str]:
        """Store new charges with their attempts; the ids stored (a charge whose key is taken is skipped)."""
        ...

    async def save(self, record: ChargeRecord, now: datetime) -> None:
        """Write the charge's state and attempts."""
        ...

    async def save_many(self, records: Sequence[ChargeRecord], now: datetime) -> None:
        """Write the charges' states and attempts."""
        ...

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, ChargeRecord]:
        """The charges made under these idempotency keys, by key."""
        ...

    async def get(self, charge_id: str, *, lock: bool = False) -> ChargeRecord:
        """The charge (locked for update when asked), or ChargeNotFound."""
        ...

    async def paid_periods(self, subscription_ids: Sequence[str], period_keys: Sequence[str]) -> list[ChargeRecord]:
        """Succeeded charges of these subscriptions for these periods."""
        ...

    async def by_psp_reference(self, psp: str, psp_reference: str) -> ChargeRecord | None:
        """The charge a PSP captured under `psp_reference` (its id at the PSP), locked for update."""
        ...

    async def list_for_customer(self, query: ChargeQuery, page: PageRequest) -> Page[Charge]:
        """One page of the `Charge`s the query keeps, newest first unless it asks for oldest first."""
        ...


class OpenChargeRepository(Protocol):
    """Charges of every tenant still waiting for an outcome."""

    async def untouched_since(self, touched_before: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, charge id) of pending or unknown charges last written by `touched_before`, oldest first.

        Sandbox time is per tenant: a charge's `updated_at` is compared with its own tenant's `touched_before`.
        """
        ...


class PaymentMethodRepository(Protocol):
    """Customers' tokenized payment methods."""

    async def for_customer(self, customer_id: str, *, lock: bool = False) -> CustomerPaymentMethods:
        """Every method of the customer, oldest first (locked for update when asked)."""
        ...

    async def for_customers(self, customer_ids: Sequence[str]) -> dict[str, CustomerPaymentMethods]:
        """Every method of each customer, oldest first, by customer."""
        ...

    async def list_for_customer(self, query: PaymentMethodQuery, page: PageRequest) -> Page[PaymentMethod]:
        """One page of the `PaymentMethod`s the query keeps, in the order they were added (or the reverse)."""
        ...

    async def save(self, customer: CustomerPaymentMethods, removed: Sequence[str] = ()) -> None:
        """Write every method of the customer and delete the removed ones."""
        ...


class RefundRepository(Protocol):
    """Refunds of charges, with the reason each was given for."""

    async def add(self, refund: Refund, reason: str) -> None:
        """Store a refund."""
        ...

    async def for_charge(self, charge_id: str) -> list[tuple[Refund, str]]:
        """A charge's refunds with their reasons, oldest first."""
        ...


class CreditRepository(Protocol):
    """Customer credit balances."""

    async def get(self, customer_id: str, currency: str, *, lock: bool = False) -> CreditBalance:
        """The balance (zero when the customer never had credit), locked when asked."""
        ...

    async def spendable(self, customer_ids: Sequence[str]) -> dict[tuple[str, str], CreditBalance]:
        """The customers' positive balances by (customer, currency), locked; missing ones are zero."""
        ...

    async def for_customer(self, customer_id: str) -> list[CreditBalance]:
        """Every balance the customer ever had, by currency."""
        ...

    async def movements(
        self, customer_id: str, currency: str, kind: CreditMovementKind | None, page: PageRequest
    ) -> Page[CreditMovement]:
        """One page of the customer's movements (of one currency and kind when given), newest first."""
        ...

    async def save(self, balance: CreditBalance) -> None:
        """Write the balance and its new movements."""
        ...

    async def save_many(self, balances: Sequence[CreditBalance]) -> None:
        """Write the balances and their new movements."""
        ...


class LedgerRepository(Protocol):
    """The double-entry journal."""

    async def post(self, entry: JournalEntry) -> bool:
        """Persist an entry and its postings; False if its source was already posted."""
        ...

    async def post_many(self, entries: Sequence[JournalEntry]) -> list[JournalEntry]:
        """Persist entries; the entries posted (a source already posted is skipped)."""
        ...

    async def entry_for(self, kind: EntryKind, source_id: str) -> JournalEntry | None:
        """The entry a source caused."""
        ...

    async def entries_between(self, period_from: str, period_to: str) -> list[JournalEntry]:
        """Entries of accounting months in [period_from, period_to]."""
        ...

    async def trial_balance(self, currency: str) -> dict[str, dict[str, int]]:
        """Debit-positive balance of every account per currency ('' = every currency)."""
        ...


class PspAccountRepository(Protocol):
    """A tenant's own PSP accounts (credentials sealed) and the PSP webhook events already applied."""

    async def add(self, account: PspAccount) -> bool:
        """Store a new account; False when the tenant already has one of its id."""
        ...

    async def get(self, account_id: str) -> PspAccount:
        """The account, or PspAccountNotFound."""
        ...

    async def list(self) -> list[PspAccount]:
        """Every account of the tenant, by id."""
        ...

    async def save(self, account: PspAccount) -> None:
        """Write the account's sealed credentials and hints."""
        ...

    async def claim_webhook_event(self, account_id: str, event_id: str, event_type: str, now: datetime) -> bool:
        """Record a webhook event as applied; False when it already was (a redelivery)."""
        ...


class DisputeRepository(Protocol):
    """Disputes (chargebacks) of a tenant's charges, one per PSP dispute, and the tenant's dispute policy."""

    async def add(self, dispute: Dispute) -> bool:
        """Store a new dispute; False when the PSP's dispute is already recorded."""
        ...

    async def by_psp_id(self, account_id: str, psp_dispute_id: str) -> Dispute | None:
        """The dispute recorded for a PSP's dispute id, locked for update."""
        ...

    async def save(self, dispute: Dispute) -> None:
        """Write the dispute's status."""
        ...

    async def policy(self) -> DisputePolicy:
        """The tenant's dispute access policy (keep access when it never set one)."""
        ...

    async def set_policy(self, policy: DisputePolicy) -> None:
        """Replace the tenant's dispute access policy."""
        ...


class InvoiceRepository(Protocol):
    """Invoices, their credit notes, rendered documents, numbering counters and the storefronts' invoice profiles."""

    async def add_many(self, keyed: Sequence[tuple[Invoice, str]]) -> set[str]:
        """Store new invoices with their idempotency keys; the ids stored (a key already used is skipped)."""
        ...

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, Invoice]:
        """The invoices made under these idempotency keys, by key."""
        ...

    async def get(self, invoice_id: str, *, lock: bool = False) -> Invoice:
        """The invoice (locked for update when asked), or InvoiceNotFound."""
        ...

    async def claim(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        """These invoices locked for update, skipping those another transaction holds."""
        ...

    async def by_reference(self, payment_reference: str) -> Invoice | None:
        """The invoice whose payment instructions carry this creditor reference, locked for update."""
        ...

    async def save(self, invoice: Invoice) -> None:
        """Write the invoice's state, number, totals and dates."""
        ...

    async def save_many(self, saved: Sequence[Invoice]) -> None:
        """`save` for many invoices."""
        ...

    async def find(self, query: InvoiceQuery, page: PageRequest) -> Page[Invoice]:
        """One page of the invoices the query keeps, newest first."""
        ...

    async def next_number(self, storefront_id: str, kind: str, count: int = 1) -> int:
        """The first of the next `count` numbers of `kind` (invoice, credit_note) in the storefront; its counter stays
        locked until commit."""
        ...

    async def add_credit_note(self, note: CreditNote) -> None:
        """Store an issued credit note."""
        ...

    async def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        """An invoice's credit notes, oldest first."""
        ...

    async def save_document(self, document_id: str, file_name: str, pdf: bytes, now: datetime) -> None:
        """Store the rendered PDF of an invoice or credit note (by its id)."""
        ...

    async def render_later(self, document_ids: Sequence[str]) -> None:
        """Queue these documents for the render worker."""
        ...

    async def document(self, document_id: str) -> tuple[str, bytes] | None:
        """(file name, PDF) of an invoice or credit note."""
        ...

    async def profile(self, storefront_id: str) -> InvoiceProfile | None:
        """The seller details the storefront's invoices print."""
        ...

    async def save_profile(self, profile: InvoiceProfile) -> None:
        """Create or replace a storefront's invoice profile."""
        ...


class DueInvoiceRepository(Protocol):
    """Work on invoices of every tenant: past their due date, reminders due, PDFs to render."""

    async def past_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, invoice id) of open or partly paid invoices whose due date is before their tenant's today."""
        ...

    async def reminders_due(self, today_of: TenantTimes, limit: int) -> list[tuple[str, str]]:
        """(tenant, invoice id) of invoices whose next reminder day is their tenant's today or before."""
        ...

    async def claim_unrendered(self, limit: int) -> list[tuple[str, str, int]]:
        """(tenant, document id, attempts so far) of documents due for rendering, locked until commit; others'
        claims skipped."""
        ...

    async def rendered(self, tenant_id: str, document_id: str) -> None:
        """The document is stored: off the queue."""
        ...

    async def retry_render(self, tenant_id: str, document_id: str, after: timedelta) -> None:
        """Rendering failed: try again `after` from now."""
        ...


class BankPaymentRepository(Protocol):
    """Transfers received (matched or queued) and the statement files they were imported from."""

    async def add(self, payment: BankPayment) -> bool:
        """Store a payment; False when its transfer (dedupe key) is already recorded."""
        ...

    async def get(self, payment_id: str, *, lock: bool = False) -> BankPayment:
        """The payment, or BankPaymentNotFound."""
        ...

    async def save(self, payment: BankPayment) -> None:
        """Write where the payment went."""
        ...

    async def find(self, status: BankPaymentStatus | None, invoice_id: str, page: PageRequest) -> Page[BankPayment]:
        """One page of payments (of one status, or of one invoice, when given), oldest first."""
        ...

    async def import_of(self, digest: str) -> StatementImport | None:
        """The import of the file with this SHA-256, if it was imported."""
        ...

    async def add_import(self, statement: StatementImport) -> bool:
        """Record an imported file; False when the same file was imported concurrently."""
        ...


class InvoiceRenderer(Protocol):
    """Renders invoices and credit notes as PDF from the template."""

    def invoice_pdf(self, invoice: Invoice, profile: InvoiceProfile | None) -> bytes:
        """The issued invoice with its lines, tax, totals and payment instructions."""
        ...

    def credit_note_pdf(self, note: CreditNote, invoice: Invoice, profile: InvoiceProfile | None) -> bytes:
        """The credit note, naming the invoice it corrects."""
        ...


class PaymentsUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over every payments repository; domain events emitted go out with its commit."""

    def charges(self, tenant_id: str) -> ChargeRepository: ...

    def open_charges(self) -> OpenChargeRepository: ...

    def payment_methods(self, tenant_id: str) -> PaymentMethodRepository: ...

    def refunds(self, tenant_id: str) -> RefundRepository: ...

    def credits(self, tenant_id: str) -> CreditRepository: ...

    def ledger(self, tenant_id: str) -> LedgerRepository: ...

    def psp_accounts(self, tenant_id: str) -> PspAccountRepository: ...

    def disputes(self, tenant_id: str) -> DisputeRepository: ...


class InvoicingUnitOfWork(PaymentsUnitOfWork, Protocol):
    """The payments unit of work with the invoice and bank transfer repositories."""

    def invoices(self, tenant_id: str) -> InvoiceRepository: ...

    def due_invoices(self) -> DueInvoiceRepository: ...

    def bank_payments(self, tenant_id: str) -> BankPaymentRepository: ...


class CredentialSealer(Protocol):
    """Envelope encryption of PSP credentials under the active key-encryption key."""

    def seal(self, credentials: PspCredentials, binding: str) -> Sealed:
        """Encrypt under a new data key; `binding` (tenant/account) must be given again to open it."""
        ...

    def unseal(self, sealed: Sealed, binding: str) -> PspCredentials:
        """Decrypt (SealingKeyUnavailable when its key-encryption key is not configured)."""
        ...

    def rewrap(self, sealed: Sealed, binding: str) -> Sealed | None:
        """The record with its data key wrapped by the active key; None when it already is."""
        ...


# --- peers: the catalog and the PSPs ---


class StorefrontCatalog(Protocol):
    """The catalog service, as payments sees it: storefront terms."""

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        """The storefront's currency, country, tax policy and routing (StorefrontNotFound if none)."""
        ...


@dataclass(frozen=True)
class PspChargeRequest:
    """A capture request sent to one PSP for one attempt."""

    idempotency_key: str
    amount_minor: int
    currency: str
    payment_token: str
    reference: str
    description: str = ""
    customer_id: str = ""
    # NOTE: Azotte charges without the customer present (renewals, plan changes): no 3-D Secure challenge possible.
    off_session: bool = False


class PaymentServiceProvider(Protocol):
    """One PSP; every adapter in `adapters/psp/` implements this with normalized results."""

    @property
    def name(self) -> str:
        """Routing name of this PSP (as used in storefront routing rules)."""
        ...

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """Authorize and capture; never raises for declines, errors or timeouts."""
        ...

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """Refund part or all of a captured charge."""
        ...

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """Cancel a captured, unsettled and unrefunded charge."""
        ...

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """What the PSP recorded for an attempt's idempotency key (None: nothing)."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...


class TenantPsps(Protocol):
    """The PSPs one tenant's charges can reach, by routing name, each behind its circuit breaker."""

    def reachable(self, candidates: Sequence[str]) -> tuple[str, ...]:
        """The candidates the tenant has adapters for, in order (NoPspRoute if none)."""
        ...

    def provider(self, psp: str) -> PaymentServiceProvider:
        """The adapter of `psp` (PspNotConfigured if none)."""
        ...

    def next_candidate(self, candidates: Sequence[str], attempts: Sequence[Attempt]) -> str | None:
        """Next PSP to try, skipping those whose breaker is open."""
        ...

    async def charge(self, psp: str, request: PspChargeRequest) -> PspChargeResult:
        """Charge through `psp` and feed the outcome to its breaker."""
        ...


class PaymentServiceProviders(Protocol):
    """Every PSP this process can reach: its own sandbox PSPs and the tenants' accounts."""

    async def for_tenant(self, tenant_id: str) -> TenantPsps:
        """What the tenant's charges can reach: its own accounts (by account id) and the process's PSPs."""
        ...


class AccountProviders(Protocol):
    """Adapters of the tenants' own PSP accounts, built from their unsealed credentials."""

    async def providers_of(self, tenant_id: str) -> dict[str, PaymentServiceProvider]:
        """The tenant's accounts as adapters, by account id."""
        ...

    async def aclose(self) -> None:
        """Close every adapter built."""
        ...


@dataclass(frozen=True)
class PspWebhookEvent:
    """A PSP notification whose signature verified: its id, type and what it tells payments (None: nothing)."""

    event_id: str
    event_type: str
    notice: PspNotice | None


class PspWebhookVerifier(Protocol):
    """Proves a PSP notification came from the account's PSP (signature with the account's secret)."""

    def verify(self, kind: PspKind, credentials: PspCredentials, payload: bytes, signature: str) -> PspWebhookEvent:
        """The verified event, or PspWebhookRejected (forged, too old, unsigned, or a kind without webhooks)."""
        ...


class ChargeLocks(Protocol):
    """One driver per charge across processes: a lock per charge that dies with its holder."""

    def hold_all(self, tenant_id: str, charge_ids: Sequence[str]) -> AbstractAsyncContextManager[None]:
        """Hold new charges nobody else knows yet, waiting for each lock; released on exit."""
        ...

    def try_hold(self, tenant_id: str, charge_id: str) -> AbstractAsyncContextManager[bool]:
        """Hold a charge if nobody else does; yields whether it is held, released on exit."""
        ...
