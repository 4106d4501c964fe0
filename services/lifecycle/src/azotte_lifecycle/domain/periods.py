"""Calendar-aware billing period arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from azotte_platform.errors import InvalidArgument
from azotte_platform.periods import add_steps


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


def shift(anchor: datetime, interval: BillingInterval, periods: int) -> datetime:
    """Return the boundary `periods` intervals after `anchor`, always computed from the anchor."""
    return add_steps(anchor, interval.unit, interval.count * periods)


def require_utc(moment: datetime, field: str) -> datetime:
    """Reject naive datetimes; domain times are aware UTC."""
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise InvalidArgument.field(field, "must be an aware UTC timestamp")
    return moment
