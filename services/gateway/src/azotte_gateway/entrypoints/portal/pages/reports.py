"""The filters the dashboard and the analytics pages share: storefront, channel, period and reporting currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import analytics_pb2 as an
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.portal.rendering import Point, field_errors
from azotte_gateway.entrypoints.portal.session import PortalViewer
from azotte_platform.errors import InvalidArgument, PermissionDenied

CHANNELS = (
    ("", "Any channel"),
    ("WEB", "Web"),
    ("APP_STORE", "App Store"),
    ("GOOGLE_PLAY", "Google Play"),
    ("TELECOM", "Telecom"),
    ("PARTNER", "Partner"),
    ("DIRECT", "Direct (contracts)"),
)
PERIODS = (("30d", "Last 30 days"), ("90d", "Last 90 days"), ("12m", "Last 12 months"))
_DAYS = {"30d": 30, "90d": 90}
MAX_STOREFRONTS = 200


@dataclass(frozen=True)
class Window:
    """A report's window [start, end) and its buckets."""

    start: datetime
    end: datetime
    granularity: an.Granularity.ValueType

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class ReportFilters:
    """What a report page shows: a slice of the revenue over a period, in one currency."""

    storefront_id: str = ""
    channel: str = ""
    period: str = "30d"
    currency: str = ""

    @classmethod
    def of(cls, storefront_id: str, channel: str, period: str, currency: str) -> ReportFilters:
        """The filters from the query, or INVALID_ARGUMENT naming the field."""
        if channel not in dict(CHANNELS):
            raise InvalidArgument.field("channel", "is not a channel")
        if period not in dict(PERIODS):
            raise InvalidArgument.field("period", "must be one of 30d, 90d, 12m")
        return cls(storefront_id.strip(), channel, period, currency.strip().upper())

    def window(self, now: datetime) -> Window:
        """Whole days up to today (UTC) for 30 and 90 days; whole months up to this one for 12 months."""
        today = datetime(now.year, now.month, now.day, tzinfo=UTC)
        if self.period in _DAYS:
            return Window(today - timedelta(days=_DAYS[self.period] - 1), today + timedelta(days=1), an.GRANULARITY_DAY)
        month = datetime(now.year, now.month, 1, tzinfo=UTC)
        start = datetime(month.year - 1 + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
        end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
        return Window(start, end, an.GRANULARITY_MONTH)

    def slice(self) -> an.AnalyticsSlice:
        message = an.AnalyticsSlice(storefront_id=self.storefront_id)
        if self.channel:
            message.channel = channel_pb2.Channel.Value(f"CHANNEL_{self.channel}")
        return message

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links to CSV downloads and other pages)."""
        return {
            "storefront_id": self.storefront_id,
            "channel": self.channel,
            "period": self.period,
            "currency": self.currency,
        }


Windowed = TypeVar(
    "Windowed",
    an.GetMrrReportRequest,
    an.GetRevenueSummaryRequest,
    an.GetPaymentReportRequest,
    an.GetCampaignReportRequest,
)


def windowed(message: Windowed, window: Window) -> Windowed:
    """The request with the window's start and end set."""
    message.start_time.FromDatetime(window.start)
    message.end_time.FromDatetime(window.end)
    return message


async def storefront_choices(viewer: PortalViewer) -> list[tuple[str, str]]:
    """The storefronts to filter by ("" = all); none listed when the role cannot read the catalog."""
    choices = [("", "All storefronts")]
    try:
        listed = await viewer.gateway.catalog.list_storefronts(
            viewer.caller, gw.ListStorefrontsRequest(page_size=MAX_STOREFRONTS)
        )
    except PermissionDenied:
        return choices
    return choices + [(s.id, f"{s.id} ({s.currency_code})") for s in listed.storefronts]


_FILTER_RENAMES = {
    "reporting_currency": "currency",
    "slice.currency_code": "currency",
    "slice.storefront_id": "storefront_id",
}


def filter_errors(error: InvalidArgument) -> dict[str, str]:
    """A refused report's messages by the filter they concern (the rest under "")."""
    return field_errors(error, fields=("storefront_id", "channel", "period", "currency"), renames=_FILTER_RENAMES)


async def revenue_report(
    viewer: PortalViewer, filters: ReportFilters, window: Window
) -> an.GetRevenueSummaryResponse | None:
    """Gross, discounts, refunds, tax and net per bucket (AnalyticsService.GetRevenueSummary); None for the roles
    without revenue reports (admins only), whose pages leave the revenue out."""
    if not viewer.can("read_revenue_reports"):
        return None
    request = an.GetRevenueSummaryRequest(
        slice=filters.slice(), granularity=window.granularity, reporting_currency=filters.currency
    )
    return await viewer.gateway.analytics.get_revenue_summary(viewer.caller, windowed(request, window))


async def mrr_report(viewer: PortalViewer, filters: ReportFilters, window: Window) -> an.GetMrrReportResponse:
    """MRR, its movements and the active subscriptions per bucket."""
    request = an.GetMrrReportRequest(
        slice=filters.slice(), granularity=window.granularity, reporting_currency=filters.currency
    )
    return await viewer.gateway.analytics.get_mrr_report(viewer.caller, windowed(request, window))


async def churn_report(viewer: PortalViewer, filters: ReportFilters, window: Window) -> an.GetChurnReportResponse:
    """Customer and MRR churn over the window (at most its last 366 days)."""
    request = an.GetChurnReportRequest(
        slice=filters.slice(), window_days=min(window.days, 366), reporting_currency=filters.currency
    )
    request.time.FromDatetime(window.end)
    return await viewer.gateway.analytics.get_churn_report(viewer.caller, request)


async def payment_report(viewer: PortalViewer, filters: ReportFilters, window: Window) -> an.GetPaymentReportResponse:
    """Success rates, dunning and declines by reason and PSP."""
    request = an.GetPaymentReportRequest(slice=filters.slice())
    return await viewer.gateway.analytics.get_payment_report(viewer.caller, windowed(request, window))


async def campaign_report(viewer: PortalViewer, filters: ReportFilters, window: Window) -> an.GetCampaignReportResponse:
    """Promotions' redemptions and revenue, and lifecycle campaigns' conversions."""
    request = an.GetCampaignReportRequest(slice=filters.slice())
    return await viewer.gateway.analytics.get_campaign_report(viewer.caller, windowed(request, window))


def rate_percent(rate: str) -> str:
    """A decimal fraction ("0.0250") as a percentage ("2.50 %"); "—" when there is none."""
    if not rate:
        return "—"
    return f"{Decimal(rate) * 100:.2f} %"


def series(points: Any, value: str, window: Window) -> list[Point]:
    """One integer field of report points as a chart series, labelled by each bucket's start."""
    shape = "%Y-%m-%d" if window.granularity == an.GRANULARITY_DAY else "%Y-%m"
    return [Point(p.start_time.ToDatetime().strftime(shape), getattr(p, value)) for p in points]
