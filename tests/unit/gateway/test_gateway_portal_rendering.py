"""The portal's report windows, money and time formatting, and SVG charts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.gateway.v1 import analytics_pb2 as an
from azotte_gateway.entrypoints.portal.pages.reports import ReportFilters, rate_percent
from azotte_gateway.entrypoints.portal.rendering import Point, money, svg_chart, when
from azotte_platform.errors import InvalidArgument


@pytest.mark.parametrize(
    ("period", "now", "start", "end", "granularity"),
    [
        (
            "30d",
            datetime(2026, 3, 1, 12, tzinfo=UTC),
            datetime(2026, 1, 31, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            an.GRANULARITY_DAY,
        ),
        (
            "90d",
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2025, 12, 2, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            an.GRANULARITY_DAY,
        ),
        (
            "12m",
            datetime(2026, 12, 31, 23, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
            an.GRANULARITY_MONTH,
        ),
        (
            "12m",
            datetime(2026, 3, 15, tzinfo=UTC),
            datetime(2025, 4, 1, tzinfo=UTC),
            datetime(2026, 4, 1, tzinfo=UTC),
            an.GRANULARITY_MONTH,
        ),
    ],
)
def test_a_period_is_whole_days_or_months_up_to_now(
    period: str, now: datetime, start: datetime, end: datetime, granularity: int
) -> None:
    window = ReportFilters.of("", "", period, "").window(now)
    assert (window.start, window.end, window.granularity) == (start, end, granularity)


@pytest.mark.parametrize(("channel", "period", "field"), [("FAX", "30d", "channel"), ("", "7y", "period")])
def test_unknown_filters_are_refused_naming_them(channel: str, period: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        ReportFilters.of("", channel, period, "")
    assert refused.value.violations[0].field == field


def test_money_rates_and_times_are_shown_exactly() -> None:
    assert money(123456789012345678, "USD") == "$1,234,567,890,123,456.78"
    assert money(1250, "JPY") == "¥1,250" and money(-5, "EUR") == "-€0.05" and money(5, "") == "—"
    assert rate_percent("0.6667") == "66.67 %" and rate_percent("") == "—"
    assert when(Timestamp()) == "—" and when(datetime(2026, 1, 31, 9, 30, tzinfo=UTC)) == "2026-01-31 09:30 UTC"


def test_a_chart_is_a_named_svg_scaled_between_its_extremes() -> None:
    chart = svg_chart([Point("2026-01", -100), Point("2026-02", 300)], title="Net <revenue>", shown=lambda v: f"{v}¢")
    assert chart.startswith('<svg class="chart"') and 'role="img"' in chart
    assert 'aria-label="Net &lt;revenue&gt;: 300¢ on 2026-02"' in chart
    assert ">300¢</text>" in chart and ">-100¢</text>" in chart
    assert 'points="88.0,176.0 632.0,12.0"' in chart
    assert "No data" in svg_chart([], title="MRR")
