"""REST endpoints of revenue analytics: MRR, churn, payments, revenue, campaigns, experiments, the revenue stream;
CSV on request."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from google.protobuf.message import Message
from pydantic import BeforeValidator, Field

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import analytics_pb2 as an
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Listing, MutatingBody, Who, awaited, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["analytics"])
M = TypeVar("M", bound=Message)

ChannelName = Literal["WEB", "APP_STORE", "GOOGLE_PLAY", "TELECOM", "PARTNER", "DIRECT"]
Format = Literal["json", "csv"]
_CSV = {"text/csv": {"schema": {"type": "string"}}}


@dataclass(frozen=True)
class SliceQuery:
    """Which part of the revenue a figure counts; empty parameters match anything."""

    storefront_id: str = ""
    channel: ChannelName | None = None
    plan_id: str = ""
    currency_code: str = ""

    def message(self) -> an.AnalyticsSlice:
        message = an.AnalyticsSlice(
            storefront_id=self.storefront_id, plan_id=self.plan_id, currency_code=self.currency_code
        )
        if self.channel:
            message.channel = channel_pb2.Channel.Value(f"CHANNEL_{self.channel}")
        return message


SliceParams = Annotated[SliceQuery, Depends(awaited(SliceQuery))]
_GRANULARITY = {"day": an.GRANULARITY_DAY, "month": an.GRANULARITY_MONTH}


def _rfc3339(value: object) -> object:
    """Only an RFC 3339 text is a time here (never a number read as seconds since 1970)."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError("must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z")
    return value


Time = Annotated[datetime, BeforeValidator(_rfc3339)]


@dataclass(frozen=True)
class WindowQuery:
    """A report's window, [start_time, end_time) (RFC 3339)."""

    start_time: Time | None = None
    end_time: Time | None = None

    def onto(self, message: M) -> M:
        for name in ("start_time", "end_time"):
            if (value := getattr(self, name)) is not None:
                getattr(message, name).FromDatetime(value)
        return message


@dataclass(frozen=True)
class SeriesQuery:
    """A series' buckets and the currency its amounts are reported in."""

    granularity: Literal["day", "month"] = "month"
    reporting_currency: str = ""


WindowParams = Annotated[WindowQuery, Depends(awaited(WindowQuery))]
SeriesParams = Annotated[SeriesQuery, Depends(awaited(SeriesQuery))]


def csv_file(rows: Iterable[dict[str, Any]], columns: Sequence[str], name: str) -> Response:
    """A CSV download `name`.csv of `rows` in `columns` order (the REST API's and the portal's)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def flat_mrr_point(point: dict[str, Any]) -> dict[str, Any]:
    """A point with its nested movements as `movements.new_minor`, ... columns."""
    flat = {k: v for k, v in point.items() if not isinstance(v, dict)}
    for key, value in point.get("movements", {}).items():
        flat[f"movements.{key}"] = value
    return flat


MRR_COLUMNS = [
    "start_time",
    "end_time",
    "mrr_minor",
    "movements.new_minor",
    "movements.expansion_minor",
    "movements.contraction_minor",
    "movements.churn_minor",
    "movements.reactivation_minor",
    "movements.net_minor",
    "active_subscriptions",
    "trials",
    "paying_customers",
]
REVENUE_COLUMNS = [
    "start_time",
    "end_time",
    "gross_minor",
    "discounts_minor",
    "refunds_minor",
    "credits_minor",
    "tax_minor",
    "net_minor",
    "store_commission_minor",
    "proceeds_minor",
]
_EVENT_COLUMNS = list(an.RevenueEvent.DESCRIPTOR.fields_by_name)


@router.get(
    "/v1/analytics/mrr",
    summary="MRR, its movements, active subscriptions, trials and paying customers, per day or month",
    description="Needs `read_analytics`. MRR as analysts define it (ChartMogul): recurring amounts normalized to a "
    "month, after discounts, excluding tax; trials apart; churn dated at the end of grace. `reporting_currency` "
    "converts at the tenant's stored rates of each day (required when the slice spans several currencies). "
    "`format=csv` answers a CSV file of the points.",
    **answers(an.GetMrrReportResponse),
    responses={200: {"content": _CSV}},
)
async def get_mrr_report(
    who: Who, g: Gw, where: SliceParams, window: WindowParams, series: SeriesParams, format: Format = "json"
) -> Any:
    request = an.GetMrrReportRequest(
        slice=where.message(),
        granularity=_GRANULARITY[series.granularity],
        reporting_currency=series.reporting_currency,
    )
    answer = js(await g.analytics.get_mrr_report(who, window.onto(request)))
    if format == "csv":
        return csv_file((flat_mrr_point(p) for p in answer["points"]), MRR_COLUMNS, "mrr")
    return answer


@router.get(
    "/v1/analytics/churn",
    summary="Customer churn and gross and net MRR churn over a window ending at `time`",
    description="Needs `read_analytics`. Customer churn = customers lost in the window / paying customers at its "
    "start; gross MRR churn = churned MRR / MRR at the start; net MRR churn = (churn + contraction - expansion - "
    "reactivation) / MRR at the start. `window_days` defaults to 30.",
    **answers(an.GetChurnReportResponse),
)
async def get_churn_report(
    who: Who,
    g: Gw,
    where: SliceParams,
    time: Time | None = None,
    window_days: Annotated[int, Query(ge=0, le=366)] = 0,
    reporting_currency: str = "",
) -> JSON:
    request = an.GetChurnReportRequest(
        slice=where.message(), window_days=window_days, reporting_currency=reporting_currency
    )
    if time is not None:
        request.time.FromDatetime(time)
    return js(await g.analytics.get_churn_report(who, request))


@router.get(
    "/v1/analytics/payments",
    summary="Payment success (first attempt, after retries), dunning recovery, declines by reason and PSP",
    description="Needs `read_analytics`. A charge series is one renewal period's charges or one checkout charge; it "
    "counts in the window it started in. `format=csv` answers the declines.",
    **answers(an.GetPaymentReportResponse),
    responses={200: {"content": _CSV}},
)
async def get_payment_report(who: Who, g: Gw, where: SliceParams, window: WindowParams, format: Format = "json") -> Any:
    request = window.onto(an.GetPaymentReportRequest(slice=where.message()))
    answer = js(await g.analytics.get_payment_report(who, request))
    if format == "csv":
        return csv_file(answer["declines"], ("reason", "psp", "count"), "declines")
    return answer


@router.get(
    "/v1/analytics/revenue",
    summary="Gross, discounts, refunds, credits, tax and net revenue per day or month",
    description="Needs `read_revenue_reports` (admin). Net and tax are the ledger's own, so a period's net equals "
    "the ledger's to the cent. `format=csv` answers a CSV file of the points.",
    **answers(an.GetRevenueSummaryResponse),
    responses={200: {"content": _CSV}},
)
async def get_revenue_summary(
    who: Who, g: Gw, where: SliceParams, window: WindowParams, series: SeriesParams, format: Format = "json"
) -> Any:
    request = an.GetRevenueSummaryRequest(
        slice=where.message(),
        granularity=_GRANULARITY[series.granularity],
        reporting_currency=series.reporting_currency,
    )
    answer = js(await g.analytics.get_revenue_summary(who, window.onto(request)))
    if format == "csv":
        return csv_file(answer["points"], REVENUE_COLUMNS, "revenue")
    return answer


@router.get(
    "/v1/analytics/campaigns",
    summary="Redemptions, discount given and revenue of the discounted charges, per promotion; campaign offers' "
    "conversion",
    description="Needs `read_analytics`. `conversions` counts each campaign's personal offers issued in the window "
    "and those redeemed by their customer before its end. `format=csv` answers a CSV file of the rows.",
    **answers(an.GetCampaignReportResponse),
    responses={200: {"content": _CSV}},
)
async def get_campaign_report(
    who: Who, g: Gw, where: SliceParams, window: WindowParams, format: Format = "json"
) -> Any:
    request = window.onto(an.GetCampaignReportRequest(slice=where.message()))
    answer = js(await g.analytics.get_campaign_report(who, request))
    if format == "csv":
        return csv_file(answer["rows"], list(an.CampaignRow.DESCRIPTOR.fields_by_name), "campaigns")
    return answer


@router.get(
    "/v1/analytics/experiments/{experiment_id}",
    summary="An A/B experiment's variants: customers assigned, those who started paying, their revenue since",
    description="Needs `read_analytics`. Customers assigned within the window count; their conversion and revenue "
    "(succeeded charges less refunds, per currency) up to its end. `format=csv` answers a CSV file of the variants.",
    **answers(an.GetExperimentReportResponse),
    responses={200: {"content": _CSV}},
)
async def get_experiment_report(
    who: Who, g: Gw, experiment_id: str, window: WindowParams, format: Format = "json"
) -> Any:
    request = window.onto(an.GetExperimentReportRequest(experiment_id=experiment_id))
    answer = js(await g.analytics.get_experiment_report(who, request))
    if format == "csv":
        rows = [
            {**v, "revenue": _amounts(v["revenue"]), "revenue_per_customer": _amounts(v["revenue_per_customer"])}
            for v in answer["variants"]
        ]
        return csv_file(rows, list(an.VariantPerformance.DESCRIPTOR.fields_by_name), "experiment")
    return answer


def _amounts(amounts: list[JSON]) -> str:
    """Money of several currencies in one CSV cell: `1200 USD; 900 EUR`."""
    return "; ".join(f"{a['amount_minor']} {a['currency_code']}" for a in amounts)


@router.get(
    "/v1/analytics/usage",
    summary="Usage revenue and consumption per meter: what succeeded charges billed for usage in arrears",
    description="Needs `read_analytics`. Per meter and currency: units billed, the usage lines' amount, the part "
    "prepaid credit had paid, what the charges collected, and the amount per unit. `format=csv` answers a CSV file.",
    **answers(an.GetUsageRevenueReportResponse),
    responses={200: {"content": _CSV}},
)
async def get_usage_revenue_report(
    who: Who, g: Gw, where: SliceParams, window: WindowParams, format: Format = "json"
) -> Any:
    request = window.onto(an.GetUsageRevenueReportRequest(slice=where.message()))
    answer = js(await g.analytics.get_usage_revenue_report(who, request))
    if format == "csv":
        return csv_file(answer["rows"], list(an.UsageRevenueRow.DESCRIPTOR.fields_by_name), "usage")
    return answer


@router.get(
    "/v1/analytics/events",
    summary="The revenue stream in order: a customer's or a subscription's timeline, or the events behind a figure",
    description="Needs `read_analytics`. `filter` (AIP-160): `customer_id`, `subscription_id`, `type`, `movement`, "
    "`storefront_id`, `channel`, `plan_id`, `currency`, `promotion_id`, `campaign_id`, `experiment_id`, `variant_id`, "
    "`charge_id`, `source` (=) and `occur_time` "
    '(>=, < an RFC 3339 time), joined by AND, e.g. `movement = churn AND occur_time >= "2026-03-01T00:00:00Z"`. '
    "`format=csv` answers a CSV file of the page.",
    **answers(an.ListRevenueEventsResponse),
    responses={200: {"content": _CSV}},
)
async def list_revenue_events(who: Who, g: Gw, listing: Listing, format: Format = "json") -> Any:
    fields = listing.fields()
    fields.pop("order_by")
    answer = js(await g.analytics.list_revenue_events(who, an.ListRevenueEventsRequest(**fields)))
    if format == "csv":
        return csv_file(answer["events"], _EVENT_COLUMNS, "revenue-events")
    return answer


class ExchangeRateBody(MutatingBody):
    currency_code: str = Field(default="", max_length=3, description="ISO 4217, e.g. `EUR`.")
    reporting_currency: str = Field(default="", max_length=3, description="ISO 4217, e.g. `USD`.")
    rate: str = Field(default="", max_length=32, description="Units of the reporting currency per unit, e.g. `1.0842`.")
    effective_date: str = Field(default="", max_length=10, description="`YYYY-MM-DD`, effective until the next rate.")


@router.post(
    "/v1/exchange-rates",
    summary="Store the rate of a currency into a reporting currency from a date",
    description="Needs `manage_tenant` (admin). The same date again corrects the stored rate.",
    **answers(an.SetExchangeRateResponse),
)
async def set_exchange_rate(body: ExchangeRateBody, who: Who, g: Gw) -> JSON:
    return js(await g.analytics.set_exchange_rate(who, an.SetExchangeRateRequest(**body.model_dump())))


@router.get(
    "/v1/exchange-rates",
    summary="The stored rates into a reporting currency",
    description="Needs `read_analytics`.",
    **answers(an.ListExchangeRatesResponse),
)
async def list_exchange_rates(who: Who, g: Gw, reporting_currency: str = "") -> JSON:
    return js(
        await g.analytics.list_exchange_rates(who, an.ListExchangeRatesRequest(reporting_currency=reporting_currency))
    )


@router.post(
    "/v1/analytics:rebuild",
    summary="Drop the tenant's analytics read models and replay every service's events from the first",
    description="Needs `manage_tenant` (admin). The figures after a rebuild are the figures before it.",
    **answers(an.RebuildAnalyticsResponse),
)
async def rebuild_analytics(body: MutatingBody, who: Who, g: Gw) -> JSON:
    return js(await g.analytics.rebuild_analytics(who, an.RebuildAnalyticsRequest(request_id=body.request_id)))
