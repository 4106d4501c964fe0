"""Facts the payments domain records; `adapters/proto.py`'s `to_event` publishes them as events.proto payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azotte_payments.domain.charge import Charge
    from azotte_payments.domain.dispute import Dispute
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


@dataclass(frozen=True)
class DisputeOpened:
    """A cardholder disputed a charge: its amount and the PSP's fee are withdrawn; payment.dispute_opened."""

    dispute: Dispute


@dataclass(frozen=True)
class DisputeClosed:
    """The bank decided a dispute (won: the amount comes back); published as payment.dispute_closed."""

    dispute: Dispute


DisputeEvent = DisputeOpened | DisputeClosed
"""What a dispute records."""

ChargeEvent = ChargeSucceeded | ChargeFailed
"""What a charge records when it reaches an outcome."""

PaymentsEvent = (
    ChargeSucceeded | ChargeFailed | ChargeRefunded | CreditGranted | RevenueRecorded | DisputeOpened | DisputeClosed
)
"""Every fact payments publishes."""
