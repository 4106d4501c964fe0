"""Proration of plan changes and refunds: exact to the second, integer minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from azotte_platform.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Proration:
    """Credit for the unused old plan, charge for the new plan, net = charge - credit (minor units)."""

    credit_minor: int
    charge_minor: int
    effective_at: datetime

    @property
    def net_minor(self) -> int:
        """Amount to charge (positive) or to credit back (negative)."""
        return self.charge_minor - self.credit_minor


def whole_seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from start to end (sub-second parts are truncated)."""
    return int((end.replace(microsecond=0) - start.replace(microsecond=0)).total_seconds())


def round_half_up(numerator: int, denominator: int) -> int:
    """Round a non-negative fraction to the nearest integer, halves up."""
    return (2 * numerator + denominator) // (2 * denominator)


def with_added_tax(amount_minor: int, rate: Decimal) -> int:
    """`amount_minor` plus the tax a charge adds on top of it: round(amount * rate), halves up, as payments does."""
    numerator, denominator = rate.as_integer_ratio()
    return amount_minor + round_half_up(amount_minor * numerator, denominator)


def unused_share(amount_minor: int, period_start: datetime, period_end: datetime, at: datetime) -> int:
    """The part of `amount_minor` covering [at, period_end) of the period, rounded half up."""
    # NOTE: proration is by whole seconds; each line is rounded half up on its own.
    if amount_minor < 0:
        raise InvalidArgument.field("amount_minor", "must not be negative")
    total = whole_seconds(period_start, period_end)
    if total <= 0:
        raise InvalidArgument.field("period", "period end must be after its start")
    remaining = min(max(whole_seconds(at, period_end), 0), total)
    return round_half_up(amount_minor * remaining, total)


def prorate_change(
    old_amount_minor: int,
    new_amount_minor: int,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> Proration:
    """Credit the unused old plan and charge the new plan for the rest of the same period."""
    return Proration(
        credit_minor=unused_share(old_amount_minor, period_start, period_end, at),
        charge_minor=unused_share(new_amount_minor, period_start, period_end, at),
        effective_at=at,
    )


def prorate_restart(
    old_amount_minor: int, new_amount_minor: int, period_start: datetime, period_end: datetime, at: datetime
) -> Proration:
    """Credit the unused old plan and charge a full new period starting at `at` (interval change)."""
    return Proration(
        credit_minor=unused_share(old_amount_minor, period_start, period_end, at),
        charge_minor=new_amount_minor,
        effective_at=at,
    )
