"""Refunds: full or partial, to the original payment method or to customer credit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_payments.domain.charge import Charge, ChargeStatus
from azotte_payments.errors import ChargeNotRefundable, RefundExceedsCaptured
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.tax import TaxBreakdown, split_refund_tax


class RefundDestination(StrEnum):
    """Where refunded money goes."""

    ORIGINAL_METHOD = "original_method"
    CUSTOMER_CREDIT = "customer_credit"


class RefundStatus(StrEnum):
    """A refund to the original method waits for the PSP; one to credit is immediate."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Refund:
    """Money given back from one charge, with its tax share for the ledger."""

    refund_id: str
    charge_id: str
    currency: str
    amounts: TaxBreakdown
    destination: RefundDestination
    created_at: datetime
    status: RefundStatus = RefundStatus.PENDING
    psp_reference: str | None = None

    @property
    def amount_minor(self) -> int:
        """Refunded amount, tax included."""
        return self.amounts.gross_minor

    def confirm(self, psp_reference: str | None) -> None:
        """The PSP accepted the refund."""
        if self.status is not RefundStatus.PENDING:
            raise FailedPrecondition(f"refund {self.refund_id} is {self.status}, not pending")
        self.status, self.psp_reference = RefundStatus.SUCCEEDED, psp_reference

    def reject(self) -> None:
        """The PSP refused the refund; nothing was given back."""
        if self.status is not RefundStatus.PENDING:
            raise FailedPrecondition(f"refund {self.refund_id} is {self.status}, not pending")
        self.status = RefundStatus.FAILED


def refundable_minor(charge: Charge, destination: RefundDestination) -> int:
    """What may still be refunded from `charge` to `destination`."""
    remaining = charge.amounts.gross_minor - charge.refunded_minor
    if destination is RefundDestination.CUSTOMER_CREDIT:
        return remaining
    # NOTE: only what a PSP captured can go back to the card; the credit-paid part returns as credit.
    return min(remaining, charge.psp_amount_minor - charge.refunded_to_method_minor)


def _refunded_so_far(charge: Charge) -> TaxBreakdown:
    return split_refund_tax(charge.refunded_minor, charge.amounts) if charge.refunded_minor else TaxBreakdown(0, 0, 0)


def plan_refund(
    charge: Charge,
    refund_id: str,
    amount_minor: int | None,
    destination: RefundDestination,
    now: datetime,
) -> Refund:
    """Check and price a refund of `amount_minor` (None = everything still refundable)."""
    if charge.status is not ChargeStatus.SUCCEEDED:
        raise ChargeNotRefundable(
            f"charge {charge.charge_id} is {charge.status}; only succeeded charges can be refunded"
        )
    limit = refundable_minor(charge, destination)
    amount = limit if amount_minor is None else amount_minor
    if amount <= 0:
        raise InvalidArgument.field(
            "amount", "must be positive (nothing left to refund)" if limit == 0 else "must be positive"
        )
    # NOTE: never refund beyond captured minus already refunded.
    if amount > limit:
        raise RefundExceedsCaptured.field(
            "amount", f"{amount} exceeds the refundable {limit} {charge.currency} to {destination}"
        )
    amounts = split_refund_tax(amount, charge.amounts, _refunded_so_far(charge))
    status = RefundStatus.SUCCEEDED if destination is RefundDestination.CUSTOMER_CREDIT else RefundStatus.PENDING
    return Refund(refund_id, charge.charge_id, charge.currency, amounts, destination, now, status)


def apply_refund(charge: Charge, refund: Refund, now: datetime) -> None:
    """Book a refund on its charge once it succeeded (credit: at once; card: PSP confirmed)."""
    if refund.status is not RefundStatus.SUCCEEDED:
        raise FailedPrecondition(f"refund {refund.refund_id} is {refund.status}, not succeeded")
    charge.refunded_minor += refund.amount_minor
    if refund.destination is RefundDestination.ORIGINAL_METHOD:
        charge.refunded_to_method_minor += refund.amount_minor
