"""Billing period arithmetic: month-end anchoring, leap years, weeks and days."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit, shift
from azotte_platform.errors import InvalidArgument

JAN_31 = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
MONTH = BillingInterval(IntervalUnit.MONTH)


def test_month_end_anchor_clamps_then_returns_to_the_31st() -> None:
    ends = [shift(JAN_31, MONTH, n).date().isoformat() for n in range(1, 5)]
    assert ends == ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]


def test_leap_year_february_and_yearly_anchor() -> None:
    assert shift(datetime(2024, 1, 31, tzinfo=UTC), MONTH, 1).date().isoformat() == "2024-02-29"
    leap_day = datetime(2024, 2, 29, tzinfo=UTC)
    year = BillingInterval(IntervalUnit.YEAR)
    assert [shift(leap_day, year, n).date().isoformat() for n in (1, 4)] == ["2025-02-28", "2028-02-29"]


def test_multi_count_intervals_weeks_and_days_keep_time_of_day() -> None:
    assert shift(JAN_31, BillingInterval(IntervalUnit.MONTH, 3), 1) == datetime(2025, 4, 30, 9, 30, tzinfo=UTC)
    assert shift(JAN_31, BillingInterval(IntervalUnit.WEEK, 2), 2) == JAN_31 + timedelta(weeks=4)
    assert shift(JAN_31, BillingInterval(IntervalUnit.DAY, 7), 3) == JAN_31 + timedelta(days=21)


def test_interval_count_must_be_positive() -> None:
    with pytest.raises(InvalidArgument):
        BillingInterval(IntervalUnit.MONTH, 0)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=240),
)
def test_monthly_boundary_keeps_anchor_day_or_month_end(anchor: datetime, months: int) -> None:
    boundary = shift(anchor, MONTH, months)
    last_day = calendar.monthrange(boundary.year, boundary.month)[1]
    assert boundary.day == min(anchor.day, last_day)
    assert (boundary.year * 12 + boundary.month) - (anchor.year * 12 + anchor.month) == months
    assert boundary.time() == anchor.time()
