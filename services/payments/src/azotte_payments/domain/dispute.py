"""A chargeback: the cardholder's bank takes a charge's money back until the dispute is won or lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_payments.domain.dispute_policy import DisputeAccess
from azotte_payments.domain.events import DisputeClosed, DisputeEvent, DisputeOpened


class DisputeStatus(StrEnum):
    """Open until the bank decides; won gives the amount back (the fee stays with the PSP)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass
class Dispute:
    """A PSP's dispute of one of the tenant's charges, with the amount withdrawn and the PSP's fee, and what the
    tenant's policy did to the subscription's access when it opened."""

    dispute_id: str
    account_id: str
    psp_dispute_id: str
    charge_id: str
    customer_id: str
    subscription_id: str
    currency: str
    amount_minor: int
    fee_minor: int
    reason: str
    opened_at: datetime
    status: DisputeStatus = DisputeStatus.OPEN
    closed_at: datetime | None = None
    access: DisputeAccess = DisputeAccess.KEEP
    events: list[DisputeEvent] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        dispute_id: str,
        account_id: str,
        psp_dispute_id: str,
        charge: tuple[str, str, str],
        currency: str,
        amount_minor: int,
        fee_minor: int,
        reason: str,
        now: datetime,
        access: DisputeAccess = DisputeAccess.KEEP,
    ) -> Dispute:
        """A new dispute of `charge` (id, customer, subscription), recording DisputeOpened."""
        charge_id, customer_id, subscription_id = charge
        dispute = cls(
            dispute_id,
            account_id,
            psp_dispute_id,
            charge_id,
            customer_id,
            subscription_id,
            currency,
            amount_minor,
            fee_minor,
            reason,
            now,
            access=access,
        )
        dispute.events.append(DisputeOpened(dispute))
        return dispute

    def close(self, won: bool, now: datetime) -> bool:
        """Record the bank's decision once; False when the dispute was already closed."""
        if self.status is not DisputeStatus.OPEN:
            return False
        self.status = DisputeStatus.WON if won else DisputeStatus.LOST
        self.closed_at = now
        self.events.append(DisputeClosed(self))
        return True
