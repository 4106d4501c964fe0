"""Facts the payments domain records; published as payments events.proto payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_payments.domain.declines import Decline


@dataclass(frozen=True)
class PaymentSucceeded:
    """A charge was captured (by a PSP, by customer credit, or both)."""

    charge_id: str
    customer_id: str
    currency: str
    gross_minor: int
    credit_applied_minor: int
    psp: str | None
    subscription_id: str
    period_key: str
    occurred_at: datetime


@dataclass(frozen=True)
class PaymentFailed:
    """A charge ended without money moving, with its normalized decline."""

    charge_id: str
    customer_id: str
    currency: str
    gross_minor: int
    decline: Decline
    subscription_id: str
    period_key: str
    occurred_at: datetime


@dataclass(frozen=True)
class PaymentRefunded:
    """Money of a charge was given back, to the original method or as customer credit."""

    charge_id: str
    refund_id: str
    customer_id: str
    currency: str
    amount_minor: int
    to_credit: bool
    fully_refunded: bool
    occurred_at: datetime


@dataclass(frozen=True)
class CreditGranted:
    """A customer's credit balance grew (refund to credit or goodwill)."""

    customer_id: str
    currency: str
    amount_minor: int
    balance_minor: int
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class RevenueRecorded:
    """A journal entry was posted; amounts are its effect on revenue and tax."""

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


PaymentsEvent = PaymentSucceeded | PaymentFailed | PaymentRefunded | CreditGranted | RevenueRecorded
