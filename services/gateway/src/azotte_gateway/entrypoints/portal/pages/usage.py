"""Usage: the meters (and a new one), and one customer's usage per meter over a period, wallet (with prepaid
credit), limits with their alerts, and the usage charges of the current period."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import usage_billing_pb2 as ub
from azotte.gateway.v1 import usage_pb2 as gu
from azotte.metering.v1 import metering_pb2 as me
from azotte.metering.v1 import wallets_pb2 as wa
from azotte_gateway.entrypoints.portal.forms import PortalForm, read_form
from azotte_gateway.entrypoints.portal.pages.form_values import amount_minor, enum_label
from azotte_gateway.entrypoints.portal.rendering import Point, render, svg_chart
from azotte_gateway.entrypoints.portal.session import CsrfChecked, PortalViewer, SignedIn
from azotte_platform import convert
from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

router = APIRouter()

SHOWN_AT_FORM = (InvalidArgument, FailedPrecondition, AlreadyExists)
PAGE = 100
PERIODS = {"7": 7, "30": 30, "90": 90}
NOTICES = {
    "meter": "The meter is created.",
    "credit": "The usage credit is granted.",
    "limit": "The limit is saved.",
    "limit_deleted": "The limit is removed.",
}
AGGREGATIONS = {
    name.removeprefix("AGGREGATION_").lower(): value
    for name, value in me.Aggregation.items()
    if value != me.AGGREGATION_UNSPECIFIED
}
MEASURES = {"units": wa.LIMIT_MEASURE_UNITS, "spend": wa.LIMIT_MEASURE_SPEND}
POLICIES = {"suspend": wa.LIMIT_POLICY_SUSPEND, "allow_overage": wa.LIMIT_POLICY_ALLOW_OVERAGE}


@router.get("/usage", response_class=HTMLResponse)
async def meters(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await show_meters(request, viewer, notice=NOTICES.get(notice, ""))


async def show_meters(request: Request, viewer: PortalViewer, *, notice: str = "", error: str = "") -> Response:
    listed = await viewer.gateway.usage.list_meters(viewer.caller, gu.ListMetersRequest(page_size=PAGE))
    return render(
        request,
        viewer,
        "usage/meters.html",
        status_code=400 if error else 200,
        meters=listed.meters,
        aggregations=AGGREGATIONS,
        notice=notice,
        error=error,
        label=enum_label,
    )


@router.post("/usage/meters")
async def create_meter(request: Request, viewer: CsrfChecked) -> Response:
    """A meter: which events it counts (their type), the value it reads and how it aggregates them."""
    form = await read_form(request)
    try:
        if form.text("aggregation") not in AGGREGATIONS:
            raise InvalidArgument.field("aggregation", f"must be one of {', '.join(AGGREGATIONS)}")
        meter = me.Meter(
            key=form.text("key", required=True),
            display_name=form.text("display_name"),
            event_type=form.text("event_type", required=True),
            value_path=form.text("value_path"),
            aggregation=AGGREGATIONS[form.text("aggregation")],
            dimensions=[d.strip() for d in form.text("dimensions").split(",") if d.strip()],
        )
        await viewer.gateway.usage.create_meter(
            viewer.caller, gu.CreateMeterRequest(request_id=form.text("request_id"), meter=meter)
        )
    except SHOWN_AT_FORM as error:
        return await show_meters(request, viewer, error=error.message)
    return RedirectResponse("/portal/usage?notice=meter", status_code=303)


@router.get("/usage/customers/{customer_id}", response_class=HTMLResponse)
async def customer_usage(
    request: Request, viewer: SignedIn, customer_id: str, days: str = "30", currency: str = "", notice: str = ""
) -> Response:
    return await show_customer(
        request, viewer, customer_id, days=days, currency=currency, notice=NOTICES.get(notice, "")
    )


@router.get("/usage/customers", response_class=HTMLResponse)
async def find_customer(viewer: SignedIn, customer_id: str = "") -> Response:
    """The lookup form's answer: that customer's usage page."""
    if not customer_id.strip():
        raise InvalidArgument.field("customer_id", "is required")
    return RedirectResponse(f"/portal/usage/customers/{quote(customer_id.strip(), safe='')}", status_code=303)


async def show_customer(
    request: Request,
    viewer: PortalViewer,
    customer_id: str,
    *,
    days: str = "30",
    currency: str = "",
    notice: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    """The customer's usage per meter (a daily chart), wallet and its movements, limits and alerts, and the
    usage charges of the current period."""
    g, caller = viewer.gateway, viewer.caller
    customer = (await g.checkout.get_customer(caller, gw.GetCustomerRequest(customer_id=customer_id))).customer
    if days not in PERIODS:
        raise InvalidArgument.field("days", f"must be one of {', '.join(PERIODS)}")
    currency_code = currency.strip().upper() or await _currency_of(viewer, customer.id)
    # NOTE: metering rolls usage up per minute: the period runs from a midnight (UTC) to the next whole minute.
    end = g.admin.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = (end - timedelta(days=PERIODS[days])).replace(hour=0, minute=0)
    listed = await g.usage.list_meters(caller, gu.ListMetersRequest(page_size=PAGE))
    usage_requests = [
        gu.GetUsageRequest(
            customer_id=customer.id,
            meter_key=meter.key,
            start_time=convert.timestamp(start),
            end_time=convert.timestamp(end),
            granularity=me.GRANULARITY_DAY,
        )
        for meter in listed.meters
    ]
    usages = await asyncio.gather(*(g.usage.get_usage(caller, usage) for usage in usage_requests))
    wallet, limits, charges = await asyncio.gather(
        _wallet(viewer, customer.id, currency_code),
        g.usage_billing.list_usage_limits(caller, ub.ListUsageLimitsRequest(customer_id=customer.id)),
        g.usage_billing.preview_usage_charges(caller, ub.PreviewUsageChargesRequest(customer_id=customer.id)),
    )
    return render(
        request,
        viewer,
        "usage/customer.html",
        status_code=400 if errors else 200,
        customer=customer,
        days=days,
        periods=PERIODS,
        currency=currency_code,
        meters=[(answer.meter, _total(answer), _chart(answer)) for answer in usages],
        wallet=wallet[0],
        movements=wallet[1],
        limits=limits.limits,
        charges=charges,
        measures=MEASURES,
        policies=POLICIES,
        notice=notice,
        errors=errors or {},
        label=enum_label,
    )


async def _currency_of(viewer: PortalViewer, customer_id: str) -> str:
    """The currency of the customer's latest subscription's price (USD for a customer without one)."""
    answer = await viewer.gateway.subscriptions.list_subscriptions(
        viewer.caller, gw.ListSubscriptionsRequest(customer_id=customer_id, page_size=1)
    )
    prices = [s.current_price.currency_code for s in answer.subscriptions if s.current_price.currency_code]
    return prices[0] if prices else "USD"


async def _wallet(
    viewer: PortalViewer, customer_id: str, currency_code: str
) -> tuple[wa.Wallet | None, list[wa.WalletMovement]]:
    """The customer's wallet in the currency and its latest movements (None: no wallet in that currency yet)."""
    area, caller = viewer.gateway.usage_billing, viewer.caller
    try:
        wallet = await area.get_wallet(
            caller, ub.GetWalletRequest(customer_id=customer_id, currency_code=currency_code)
        )
    except NotFound:
        return None, []
    movements = await area.list_wallet_movements(
        caller, ub.ListWalletMovementsRequest(customer_id=customer_id, currency_code=currency_code, page_size=50)
    )
    return wallet.wallet, list(movements.movements)


def _total(answer: gu.GetUsageResponse) -> str:
    """The period's value of a summing or counting meter; the other aggregations have no meaningful total."""
    if answer.meter.aggregation not in (me.AGGREGATION_SUM, me.AGGREGATION_COUNT):
        return ""
    total = sum((_number(v.value) for v in answer.values), Decimal(0))
    return f"{total.normalize():f}"


def _number(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _chart(answer: gu.GetUsageResponse) -> object:
    series = [
        Point(v.start_time.ToDatetime().strftime("%m-%d"), int(_number(v.value).to_integral_value()))
        for v in answer.values
    ]
    return svg_chart(series, title=answer.meter.display_name or answer.meter.key)


def _done(customer_id: str, notice: str, currency: str) -> RedirectResponse:
    query = urlencode({"notice": notice, "currency": currency})
    return RedirectResponse(f"/portal/usage/customers/{customer_id}?{query}", status_code=303)


@router.post("/usage/customers/{customer_id}/credit")
async def grant_credit(request: Request, viewer: CsrfChecked, customer_id: str) -> Response:
    """Prepaid usage credit given by the tenant (a goodwill or a contract), burned by usage charges first."""
    form = await read_form(request)
    currency_code = form.text("currency_code").upper()
    try:
        await viewer.gateway.usage_billing.grant_usage_credit(
            viewer.caller,
            ub.GrantUsageCreditRequest(
                request_id=form.text("request_id"),
                customer_id=customer_id,
                amount=money_pb2.Money(
                    amount_minor=amount_minor(form.text("amount"), currency_code, "amount"),
                    currency_code=currency_code,
                ),
                source=wa.CREDIT_SOURCE_ADMIN,
                reference=form.text("reference"),
            ),
        )
    except SHOWN_AT_FORM as error:
        return await show_customer(
            request, viewer, customer_id, currency=currency_code, errors={"credit": error.message}
        )
    return _done(customer_id, "credit", currency_code)


def limit_from(form: PortalForm, customer_id: str) -> wa.Limit:
    """The limit the form describes: a feature's units or spend per period, with the alert percentages."""
    for name, choices in (("measure", MEASURES), ("policy", POLICIES)):
        if form.text(name) not in choices:
            raise InvalidArgument.field(name, f"must be one of {', '.join(choices)}")
    alerts = []
    for part in form.text("alert_percents").split(","):
        if part.strip():
            if not part.strip().isdecimal() or not 0 < int(part) <= 100:
                raise InvalidArgument.field("alert_percents", "must be percentages from 1 to 100, comma separated")
            alerts.append(int(part))
    feature_key = form.text("feature_key", required=True)
    # NOTE: one limit per customer, feature and measure: saving the form again replaces it.
    return wa.Limit(
        limit_id=f"{customer_id}-{feature_key}-{form.text('measure')}",
        customer_id=customer_id,
        feature_key=feature_key,
        measure=MEASURES[form.text("measure")],
        value=form.text("value", required=True),
        policy=POLICIES[form.text("policy")],
        meter_key=form.text("meter_key"),
        currency_code=form.text("currency_code").upper(),
        alert_percents=alerts,
    )


@router.post("/usage/customers/{customer_id}/limits")
async def set_limit(request: Request, viewer: CsrfChecked, customer_id: str) -> Response:
    form = await read_form(request)
    try:
        await viewer.gateway.usage_billing.set_usage_limit(
            viewer.caller,
            ub.SetUsageLimitRequest(request_id=form.text("request_id"), limit=limit_from(form, customer_id)),
        )
    except SHOWN_AT_FORM as error:
        return await show_customer(request, viewer, customer_id, errors={"limit": error.message})
    return _done(customer_id, "limit", form.text("currency_code").upper())


@router.post("/usage/customers/{customer_id}/limits/{limit_id}/delete")
async def delete_limit(request: Request, viewer: CsrfChecked, customer_id: str, limit_id: str) -> Response:
    form = await read_form(request)
    try:
        await viewer.gateway.usage_billing.delete_usage_limit(
            viewer.caller, ub.DeleteUsageLimitRequest(request_id=form.text("request_id"), limit_id=limit_id)
        )
    except SHOWN_AT_FORM as error:
        return await show_customer(request, viewer, customer_id, errors={"limit": error.message})
    return _done(customer_id, "limit_deleted", "")
