"""Analytics: revenue, customers and churn, payments (declines by reason and PSP) and campaign performance over
the filters' period, each with its CSV download (the same use cases and columns as the REST API's `format=csv`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from azotte.gateway.v1 import analytics_pb2 as an
from azotte_gateway.entrypoints.portal.pages.reports import (
    CHANNELS,
    PERIODS,
    ReportFilters,
    campaign_report,
    churn_report,
    filter_errors,
    mrr_report,
    payment_report,
    rate_percent,
    revenue_report,
    series,
    storefront_choices,
    windowed,
)
from azotte_gateway.entrypoints.portal.rendering import money, render
from azotte_gateway.entrypoints.portal.session import SignedIn
from azotte_gateway.entrypoints.rest.analytics import MRR_COLUMNS, REVENUE_COLUMNS, csv_file, flat_mrr_point
from azotte_gateway.entrypoints.rest.common import js
from azotte_platform.errors import InvalidArgument

router = APIRouter()


@router.get("/analytics", response_class=HTMLResponse)
async def analytics(
    request: Request,
    viewer: SignedIn,
    storefront_id: str = "",
    channel: str = "",
    period: str = "30d",
    currency: str = "",
) -> Response:
    context: dict[str, Any] = {
        "storefronts": await storefront_choices(viewer),
        "channels": CHANNELS,
        "periods": PERIODS,
    }
    try:
        filters = ReportFilters.of(storefront_id, channel, period, currency)
        context["filters"] = filters
        window = filters.window(viewer.now())
        revenue, mrr, churn, payments, campaigns = await asyncio.gather(
            revenue_report(viewer, filters, window),
            mrr_report(viewer, filters, window),
            churn_report(viewer, filters, window),
            payment_report(viewer, filters, window),
            campaign_report(viewer, filters, window),
        )
    except InvalidArgument as error:
        context.setdefault("filters", ReportFilters())
        return render(request, viewer, "analytics.html", status_code=400, errors=filter_errors(error), **context)
    currency_code = mrr.currency or (revenue.currency if revenue else "")
    return render(
        request,
        viewer,
        "analytics.html",
        **context,
        errors={},
        window=window,
        currency=currency_code,
        revenue=revenue,
        revenue_series=series(revenue.points, "net_minor", window) if revenue else None,
        mrr=mrr,
        churn=churn,
        payments=payments,
        campaigns=campaigns,
        percent=rate_percent,
        shown_money=lambda value: money(value, currency_code),
    )


_CSV_REPORTS = ("revenue", "mrr", "declines", "campaigns")


@router.get("/analytics/{report}.csv")
async def download(
    viewer: SignedIn, report: str, storefront_id: str = "", channel: str = "", period: str = "30d", currency: str = ""
) -> Response:
    if report not in _CSV_REPORTS:
        raise InvalidArgument.field("report", f"must be one of {', '.join(_CSV_REPORTS)}")
    filters = ReportFilters.of(storefront_id, channel, period, currency)
    window = filters.window(viewer.now())
    if report == "revenue":
        request = an.GetRevenueSummaryRequest(
            slice=filters.slice(), granularity=window.granularity, reporting_currency=filters.currency
        )
        answer = await viewer.gateway.analytics.get_revenue_summary(viewer.caller, windowed(request, window))
        return csv_file(js(answer)["points"], REVENUE_COLUMNS, "revenue")
    if report == "mrr":
        points = js(await mrr_report(viewer, filters, window))["points"]
        return csv_file((flat_mrr_point(p) for p in points), MRR_COLUMNS, "mrr")
    if report == "declines":
        return csv_file(
            js(await payment_report(viewer, filters, window))["declines"], ("reason", "psp", "count"), "declines"
        )
    rows = js(await campaign_report(viewer, filters, window))["rows"]
    return csv_file(rows, list(an.CampaignRow.DESCRIPTOR.fields_by_name), "campaigns")
