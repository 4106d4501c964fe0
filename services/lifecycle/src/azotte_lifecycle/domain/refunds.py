"""Paying back the unused part of a period from the charges that paid for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from azotte_lifecycle.errors import RefundNotCovered


@dataclass(frozen=True, slots=True)
class PaidCharge:
    """A succeeded charge that paid for the current period, as an immediate cancel sees it.

    `method_minor` may go back to the payment method a PSP captured it from, `credit_minor` (the
    part paid with customer credit) only as credit; both leave out the cancel's own refunds, which
    `refunded_method_minor` and `refunded_credit_minor` count.
    """

    charge_id: str
    created_at: datetime
    method_minor: int
    credit_minor: int = 0
    refunded_method_minor: int = 0
    refunded_credit_minor: int = 0


@dataclass(frozen=True, slots=True)
class RefundLeg:
    """One refund to ask payments for: an amount of one charge, to its payment method or as credit."""

    charge_id: str
    amount_minor: int
    to_credit: bool


def cancel_refund_reason(subscription_id: str) -> str:
    """The reason every refund of a subscription's immediate cancel carries (it also finds them again)."""
    return f"immediate cancel of {subscription_id}: unused time paid back"


def plan_refund(amount_minor: int, charges: Iterable[PaidCharge]) -> list[RefundLeg]:
    """The refunds still to make so that `amount_minor` is paid back.

    NOTE: the newest charge pays back first, its payment method's share before its credit share,
    each never beyond what it can still give back; what an earlier attempt of the cancel already
    paid back is not asked again.
    """
    left, legs = amount_minor, []
    for charge in sorted(charges, key=lambda c: (c.created_at, c.charge_id), reverse=True):
        shares = (
            (False, charge.method_minor, charge.refunded_method_minor),
            (True, charge.credit_minor, charge.refunded_credit_minor),
        )
        for to_credit, capacity, refunded in shares:
            share = min(left, capacity)
            left -= share
            if share > refunded:
                legs.append(RefundLeg(charge.charge_id, share - refunded, to_credit))
    if left > 0:
        raise RefundNotCovered(
            f"the charges of the current period can pay back only {amount_minor - left} of the "
            f"{amount_minor} minor units to refund; cancel without refund and refund the charges instead",
            metadata={"refund_minor": str(amount_minor), "refundable_minor": str(amount_minor - left)},
        )
    return legs
