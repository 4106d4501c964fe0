"""Customers: search (id, email, external id, channel identity), the profile (subscriptions, entitlements, the
revenue timeline, charges, credit) and its actions by role: cancel, pause/resume, refund, credit, plan change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import analytics_pb2 as an
from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import customers_pb2 as cu
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.entrypoints.portal.forms import read_form
from azotte_gateway.entrypoints.portal.pages.form_values import amount_minor, enum_label
from azotte_gateway.entrypoints.portal.rendering import money, render
from azotte_gateway.entrypoints.portal.session import CsrfChecked, PortalViewer, SignedIn
from azotte_gateway.errors import RefundLimitExceeded
from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

router = APIRouter()

# Refusals shown next to the form that caused them (a missing permission or customer has its own page).
SHOWN_AT_FORM = (InvalidArgument, FailedPrecondition, AlreadyExists, RefundLimitExceeded)
NOTICES = {
    "cancelled": "The subscription is cancelled.",
    "paused": "The subscription is paused.",
    "resumed": "The subscription is resumed.",
    "refunded": "The refund was made.",
    "credited": "The credit was issued.",
    "plan_changed": "The plan is changed.",
}
TIMINGS = {
    "immediately": gw.CANCELLATION_TIMING_IMMEDIATELY,
    "at_period_end": gw.CANCELLATION_TIMING_AT_PERIOD_END,
}
PLAN_TIMINGS = {
    "immediately": gw.PLAN_CHANGE_TIMING_IMMEDIATELY,
    "at_period_end": gw.PLAN_CHANGE_TIMING_AT_PERIOD_END,
}
PAGE = 100


def quoted(value: str) -> str:
    """`value` as a double-quoted AIP-160 filter value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@router.get("/customers", response_class=HTMLResponse)
async def search(request: Request, viewer: SignedIn, q: str = "") -> Response:
    """Find customers by id, email, external id or channel identity value."""
    wanted = q.strip()
    try:
        found = await find_customers(viewer, wanted) if wanted else []
    except InvalidArgument as error:
        errors = {"q": error.message}
        return render(request, viewer, "customers/search.html", status_code=400, q=q, customers=[], errors=errors)
    if len(found) == 1 and wanted == found[0].id:
        return RedirectResponse(f"/portal/customers/{found[0].id}", status_code=303)
    return render(request, viewer, "customers/search.html", q=q, customers=found, searched=bool(wanted), errors={})


async def find_customers(viewer: PortalViewer, wanted: str) -> list[gw.Customer]:
    """The customers whose id, email, external id or channel identity value is `wanted`."""
    g, caller = viewer.gateway, viewer.caller
    if wanted.startswith("cus_"):
        try:
            return [(await g.checkout.get_customer(caller, gw.GetCustomerRequest(customer_id=wanted))).customer]
        except NotFound:
            return []
    fields = ("email",) if "@" in wanted else ("external_id", "identity.value")
    found: dict[str, gw.Customer] = {}
    for name in fields:
        request = cu.ListCustomersRequest(filter=f"{name} = {quoted(wanted)}", page_size=50)
        for customer in (await g.customers.list_customers(caller, request)).customers:
            found.setdefault(customer.id, customer)
    return list(found.values())


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
async def profile(request: Request, viewer: SignedIn, customer_id: str, notice: str = "") -> Response:
    return await show_profile(request, viewer, customer_id, notice=NOTICES.get(notice, ""))


async def show_profile(
    request: Request,
    viewer: PortalViewer,
    customer_id: str,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The customer's page; `errors` are shown next to the form (by its name) that was refused."""
    g, caller = viewer.gateway, viewer.caller
    customer = (await g.checkout.get_customer(caller, gw.GetCustomerRequest(customer_id=customer_id))).customer
    subscriptions, entitlements, charges, timeline, balances = await asyncio.gather(
        g.subscriptions.list_subscriptions(
            caller, gw.ListSubscriptionsRequest(customer_id=customer.id, page_size=PAGE)
        ),
        g.access.list_entitlements(caller, gw.ListEntitlementsRequest(customer_id=customer.id, page_size=PAGE)),
        g.billing.list_charges(caller, gw.ListChargesRequest(customer_id=customer.id, page_size=PAGE)),
        g.analytics.list_revenue_events(
            caller, an.ListRevenueEventsRequest(filter=f"customer_id = {quoted(customer.id)}", page_size=PAGE)
        ),
        g.billing.list_credit_balances(caller, bl.ListCreditBalancesRequest(customer_id=customer.id)),
    )
    plans = []
    if viewer.can("change_subscription_plan"):
        plans = list((await g.catalog.list_plans(caller, gw.ListPlansRequest(page_size=PAGE))).plans)
    context: dict[str, Any] = {
        "customer": customer,
        "subscriptions": subscriptions.subscriptions,
        "entitlements": entitlements.entitlements,
        "charges": charges.charges,
        "timeline": timeline.events,
        "balances": balances.balances,
        "plans": plans,
        "notice": notice,
        "errors": errors or {},
        "label": enum_label,
    }
    return render(request, viewer, "customers/profile.html", status_code=status_code, **context)


async def act(
    request: Request, viewer: PortalViewer, customer_id: str, form: str, call: Awaitable[object], done: str
) -> Response:
    """Run one action of the profile; back to the profile with a notice, or with the refusal next to `form`."""
    try:
        await call
    except SHOWN_AT_FORM as error:
        status = 403 if isinstance(error, RefundLimitExceeded) else 409 if isinstance(error, AlreadyExists) else 400
        return await show_profile(request, viewer, customer_id, errors={form: error.message}, status_code=status)
    return RedirectResponse(f"/portal/customers/{customer_id}?notice={done}", status_code=303)


@router.post("/customers/{customer_id}/subscriptions/{subscription_id}/cancel")
async def cancel(request: Request, viewer: CsrfChecked, customer_id: str, subscription_id: str) -> Response:
    form = await read_form(request)
    call = viewer.gateway.subscriptions.cancel_subscription(
        viewer.caller,
        gw.CancelSubscriptionRequest(
            request_id=form.text("request_id"),
            subscription_id=subscription_id,
            timing=TIMINGS.get(form.text("timing"), gw.CANCELLATION_TIMING_UNSPECIFIED),
            refund=form.checked("refund"),
        ),
    )
    return await act(request, viewer, customer_id, f"cancel:{subscription_id}", call, "cancelled")


@router.post("/customers/{customer_id}/subscriptions/{subscription_id}/pause")
async def pause(request: Request, viewer: CsrfChecked, customer_id: str, subscription_id: str) -> Response:
    form = await read_form(request)
    call = viewer.gateway.subscriptions.pause_subscription(
        viewer.caller, gw.PauseSubscriptionRequest(request_id=form.text("request_id"), subscription_id=subscription_id)
    )
    return await act(request, viewer, customer_id, f"pause:{subscription_id}", call, "paused")


@router.post("/customers/{customer_id}/subscriptions/{subscription_id}/resume")
async def resume(request: Request, viewer: CsrfChecked, customer_id: str, subscription_id: str) -> Response:
    form = await read_form(request)
    call = viewer.gateway.subscriptions.resume_subscription(
        viewer.caller, gw.ResumeSubscriptionRequest(request_id=form.text("request_id"), subscription_id=subscription_id)
    )
    return await act(request, viewer, customer_id, f"pause:{subscription_id}", call, "resumed")


@router.post("/customers/{customer_id}/charges/{charge_id}/refund")
async def refund(request: Request, viewer: CsrfChecked, customer_id: str, charge_id: str) -> Response:
    """Refund a charge, all that is left of it when no amount is given."""
    form = await read_form(request)
    name = f"refund:{charge_id}"
    refund_request = gw.RefundChargeRequest(
        request_id=form.text("request_id"), charge_id=charge_id, reason=form.text("reason")
    )
    if form.text("amount"):
        currency_code = form.text("currency_code")
        try:
            minor = amount_minor(form.text("amount"), currency_code, "amount")
        except InvalidArgument as error:
            return await show_profile(request, viewer, customer_id, errors={name: error.message}, status_code=400)
        refund_request.amount.CopyFrom(money_pb2.Money(amount_minor=minor, currency_code=currency_code))
    try:
        await viewer.gateway.billing.refund_charge(viewer.caller, refund_request)
    except RefundLimitExceeded:
        limit = money(viewer.caller.tenant.operator_refund_limit_minor, form.text("currency_code"))
        refusal = f"Refused: the refund is above the operator refund limit of {limit}; an admin can make it."
        return await show_profile(request, viewer, customer_id, errors={name: refusal}, status_code=403)
    except SHOWN_AT_FORM as error:
        return await show_profile(request, viewer, customer_id, errors={name: error.message}, status_code=400)
    return RedirectResponse(f"/portal/customers/{customer_id}?notice=refunded", status_code=303)


@router.post("/customers/{customer_id}/credit")
async def credit(request: Request, viewer: CsrfChecked, customer_id: str) -> Response:
    form = await read_form(request)
    currency_code = form.text("currency_code").upper()
    try:
        minor = amount_minor(form.text("amount"), currency_code, "amount")
    except InvalidArgument as error:
        return await show_profile(request, viewer, customer_id, errors={"credit": error.message}, status_code=400)
    call = viewer.gateway.billing.grant_credit(
        viewer.caller,
        bl.GrantCreditRequest(
            request_id=form.text("request_id"),
            customer_id=customer_id,
            amount=money_pb2.Money(amount_minor=minor, currency_code=currency_code),
            reason=form.text("reason"),
        ),
    )
    return await act(request, viewer, customer_id, "credit", call, "credited")


@router.get("/customers/{customer_id}/subscriptions/{subscription_id}/plan-change", response_class=HTMLResponse)
async def preview_plan_change(
    request: Request,
    viewer: SignedIn,
    customer_id: str,
    subscription_id: str,
    new_plan_id: str = "",
    timing: str = "immediately",
) -> Response:
    """The proration preview of a plan change, with the form that makes it."""
    g, caller = viewer.gateway, viewer.caller
    subscription = (
        await g.subscriptions.get_subscription(caller, gw.GetSubscriptionRequest(subscription_id=subscription_id))
    ).subscription
    if subscription.customer_id != customer_id:
        raise NotFound(f"subscription {subscription_id!r} not found")
    try:
        quote = (
            await g.subscriptions.preview_plan_change(
                caller,
                gw.PreviewPlanChangeRequest(
                    subscription_id=subscription_id,
                    new_plan_id=new_plan_id,
                    timing=PLAN_TIMINGS.get(timing, gw.PLAN_CHANGE_TIMING_UNSPECIFIED),
                ),
            )
        ).quote
    except SHOWN_AT_FORM as error:
        return await show_profile(
            request, viewer, customer_id, errors={f"plan:{subscription_id}": error.message}, status_code=400
        )
    return render(
        request,
        viewer,
        "customers/plan_change.html",
        subscription=subscription,
        quote=quote,
        timing=timing,
    )


@router.post("/customers/{customer_id}/subscriptions/{subscription_id}/plan-change")
async def change_plan(request: Request, viewer: CsrfChecked, customer_id: str, subscription_id: str) -> Response:
    form = await read_form(request)
    call = viewer.gateway.subscriptions.change_subscription_plan(
        viewer.caller,
        gw.ChangeSubscriptionPlanRequest(
            request_id=form.text("request_id"),
            subscription_id=subscription_id,
            new_plan_id=form.text("new_plan_id"),
            timing=PLAN_TIMINGS.get(form.text("timing"), gw.PLAN_CHANGE_TIMING_UNSPECIFIED),
        ),
    )
    return await act(request, viewer, customer_id, f"plan:{subscription_id}", call, "plan_changed")
