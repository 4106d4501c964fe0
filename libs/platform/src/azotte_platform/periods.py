"""Calendar steps, always counted from an anchor: billing periods and quota windows."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta


def add_months(moment: datetime, months: int) -> datetime:
    """Move by whole months, clamping the day to the target month's length (Jan 31 + 1 = Feb 28/29)."""
    year_offset, month_index = divmod(moment.month - 1 + months, 12)
    year = moment.year + year_offset
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)


def add_steps(anchor: datetime, unit: str, steps: int) -> datetime:
    """The moment `steps` days, weeks, months or years (`unit`) after `anchor`.

    NOTE: computed from the anchor, not from the previous step, which keeps month-end anchoring:
    Jan 31 -> Feb 28 -> Mar 31, never drifting to the 28th.
    """
    match unit:
        case "day":
            return anchor + timedelta(days=steps)
        case "week":
            return anchor + timedelta(weeks=steps)
        case "month":
            return add_months(anchor, steps)
        case "year":
            return add_months(anchor, 12 * steps)
    raise ValueError(f"not a calendar unit: {unit!r}")
