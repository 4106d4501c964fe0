"""The dashboard: MRR, active subscriptions, churn rate and payment success rate, their charts over the period,
filters by storefront, channel and period, and quick actions."""

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
    churn_report,
    filter_errors,
    mrr_report,
    payment_report,
    rate_percent,
    revenue_report,
    series,
    storefront_choices,
)
from azotte_gateway.entrypoints.portal.rendering import money, render
from azotte_gateway.entrypoints.portal.session import SignedIn
from azotte_platform.errors import InvalidArgument

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
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
        mrr, churn, payments, revenue = await asyncio.gather(
            mrr_report(viewer, filters, window),
            churn_report(viewer, filters, window),
            payment_report(viewer, filters, window),
            revenue_report(viewer, filters, window),
        )
    except InvalidArgument as error:
        context.setdefault("filters", ReportFilters())
        return render(request, viewer, "dashboard.html", status_code=400, errors=filter_errors(error), **context)
    last = mrr.points[-1] if mrr.points else an.MrrPoint(mrr_minor=mrr.starting_mrr_minor)
    shown_money = lambda value: money(value, mrr.currency)  # noqa: E731 - a chart's value formatter
    return render(
        request,
        viewer,
        "dashboard.html",
        **context,
        errors={},
        window=window,
        currency=mrr.currency,
        mrr_minor=last.mrr_minor,
        active_subscriptions=last.active_subscriptions,
        churn_rate=rate_percent(churn.customer_churn_rate),
        churn_rate_value=churn.customer_churn_rate,
        payment_success_rate=rate_percent(payments.success_rate),
        payment_success_rate_value=payments.success_rate,
        mrr_series=series(mrr.points, "mrr_minor", window),
        subscriptions_series=series(mrr.points, "active_subscriptions", window),
        revenue_series=series(revenue.points, "net_minor", window) if revenue else None,
        shown_money=shown_money,
    )
