"""Quota features measured by meters: a customer's use of each in its quota window, in whole units.

A quota resets every catalog `reset_period`: its window is that step (day, week, month, year) counted from the
start of the customer's billing period, the last one cut at the period's end; the billing period itself for a
quota reset every billing period, and the customer's whole history for one that never resets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from azotte_metering.domain.charges import Period
from azotte_metering.domain.meters import QuotaFeature
from azotte_platform.periods import add_steps

INT64_MAX = 2**63 - 1
HISTORY_START = datetime(1970, 1, 1, tzinfo=UTC)
"""Where the window of a quota that never resets starts."""


class QuotaReset(StrEnum):
    """How often a quota starts afresh (the catalog feature's `reset_period`)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    BILLING_PERIOD = "billing_period"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    """The time a quota's use is counted over: [start, end), no end for a quota that never resets."""

    start: datetime
    end: datetime | None


def quota_window(reset: QuotaReset, period: Period, now: datetime) -> QuotaWindow:
    """The window holding `now` of a quota reset every `reset`, in the customer's billing `period`."""
    if reset is QuotaReset.NEVER:
        return QuotaWindow(HISTORY_START, None)
    if reset is QuotaReset.BILLING_PERIOD:
        return QuotaWindow(period.start, period.end)
    steps = 0
    while (end := add_steps(period.start, reset, steps + 1)) <= now and end < period.end:
        steps += 1
    return QuotaWindow(add_steps(period.start, reset, steps), min(end, period.end))


def quota_used(quota: QuotaFeature, usage: Iterable[tuple[Mapping[str, str], Decimal]]) -> int:
    """The use of `quota` from its meter's quantities per dimension values: those it counts, summed, rounded up."""
    quantity = sum((amount for dimensions, amount in usage if quota.counts(dimensions)), Decimal(0))
    return min(max(math.ceil(quantity), 0), INT64_MAX)
