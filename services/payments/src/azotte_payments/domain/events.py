"""Facts the payments domain records; `adapters/proto.py`'s `to_event` publishes them as events.proto payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azotte_payments.domain.charge import Charge
    from azotte_payments.domain.dispute import Dispute
    from azotte_payments.domain.invoices import CreditNote, Invoice
    from azotte_payments.domain.refund import Refund


@dataclass(frozen=True)
class ChargeSucceeded:
    """A charge was captured (by a PSP, by customer credit, or both); published as payment.succeeded."""

    charge: Charge


@dataclass(frozen=True)
class ChargeFailed:
    """A charge ended without money moving, with its normalized decline; published as payment.failed."""

    charge: Charge


@dataclass(frozen=True)
class ChargeRefunded:
    """Money of a charge was given back, for `reason`; published as payment.refunded."""

    refund: Refund
    reason: str
    charge: Charge


@dataclass(frozen=True)
class CreditGranted:
    """A customer's credit balance grew (refund to credit or goodwill); published as credit.granted."""

    customer_id: str
    currency: str
    amount_minor: int
    balance_minor: int
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class RevenueRecorded:
    """A journal entry was posted; amounts are its effect on revenue and tax. Published as revenue.recorded."""

    entry_id: str
    kind: str
    source_id: str
    currency: str
    storefront_id: str
    channel: str
    plan_id: str
    period: str
    net_revenue_minor: int
    tax_minor: int
    occurred_at: datetime
    # A store-billed sale: what the store kept, and the price the subscriber paid it.
    store_commission_minor: int = 0
    gross_minor: int = 0


@dataclass(frozen=True)
class DisputeOpened:
    """A cardholder disputed a charge: its amount and the PSP's fee are withdrawn; payment.dispute_opened."""

    dispute: Dispute


@dataclass(frozen=True)
class DisputeClosed:
    """The bank decided a dispute (won: the amount comes back); published as payment.dispute_closed."""

    dispute: Dispute


@dataclass(frozen=True)
class InvoiceIssued:
    """An invoice got its number and is owed; published as invoice.issued."""

    invoice: Invoice


@dataclass(frozen=True)
class InvoicePaid:
    """Nothing is owed on an invoice any more (paid, or credited, in full); published as invoice.paid."""

    invoice: Invoice


@dataclass(frozen=True)
class InvoiceOverdue:
    """An invoice passed its due date unpaid; published as invoice.overdue."""

    invoice: Invoice


@dataclass(frozen=True)
class InvoiceReminded:
    """A reminder day of an unpaid invoice came (`offset_days` from its due date); published as invoice.reminder."""

    invoice: Invoice
    offset_days: int


@dataclass(frozen=True)
class InvoiceVoided:
    """An issued invoice was cancelled; published as invoice.voided."""

    invoice: Invoice


@dataclass(frozen=True)
class InvoiceMarkedUncollectible:
    """The tenant gave up collecting an invoice (`written_off_minor`); published as invoice.uncollectible."""

    invoice: Invoice
    written_off_minor: int


@dataclass(frozen=True)
class CreditNoteIssued:
    """A credit note corrected or refunded an invoice; published as credit_note.issued."""

    credit_note: CreditNote
    invoice: Invoice


InvoiceEvent = (
    InvoiceIssued
    | InvoicePaid
    | InvoiceOverdue
    | InvoiceReminded
    | InvoiceVoided
    | InvoiceMarkedUncollectible
    | CreditNoteIssued
)
"""What an invoice records."""

DisputeEvent = DisputeOpened | DisputeClosed
"""What a dispute records."""

ChargeEvent = ChargeSucceeded | ChargeFailed
"""What a charge records when it reaches an outcome."""

PaymentsEvent = (
    ChargeSucceeded
    | ChargeFailed
    | ChargeRefunded
    | CreditGranted
    | RevenueRecorded
    | DisputeOpened
    | DisputeClosed
    | InvoiceEvent
)
"""Every fact payments publishes."""
