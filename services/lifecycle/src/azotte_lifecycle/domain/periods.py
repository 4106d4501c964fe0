"""Calendar-aware billing period arithmetic."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from azotte_platform.errors import InvalidArgument


class IntervalUnit(StrEnum):
    """Unit of a billing interval."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class BillingInterval:
    """A billing period length such as 1 month or 2 weeks."""

    unit: IntervalUnit
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidArgument.field("billing_interval.count", "must be at least 1")


def add_months(moment: datetime, months: int) -> datetime:
    """Move by whole months, clamping the day to the target month's length (Jan 31 + 1 = Feb 28/29)."""
    year_offset, month_index = divmod(moment.month - 1 + months, 12)
    year = moment.year + year_offset
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)


def shift(anchor: datetime, interval: BillingInterval, periods: int) -> datetime:
    """Return the boundary `periods` intervals after `anchor`, always computed from the anchor."""
    # NOTE: computing from the anchor (not from the previous boundary) keeps month-end anchoring:
    # Jan 31 -> Feb 28 -> Mar 31, never drifting to the 28th.
    steps = interval.count * periods
    match interval.unit:
        case IntervalUnit.DAY:
            return anchor + timedelta(days=steps)
        case IntervalUnit.WEEK:
            return anchor + timedelta(weeks=steps)
        case IntervalUnit.MONTH:
            return add_months(anchor, steps)
        case IntervalUnit.YEAR:
            return add_months(anchor, 12 * steps)


def require_utc(moment: datetime, field: str) -> datetime:
    """Reject naive datetimes; domain times are aware UTC."""
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise InvalidArgument.field(field, "must be an aware UTC timestamp")
    return moment
