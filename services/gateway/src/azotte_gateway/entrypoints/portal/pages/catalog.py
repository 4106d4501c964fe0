"""Catalog: storefronts (currency, tax, PSP routing, channels, branding), plans and features, prices and scheduled
price changes (with the existing-subscriber dry run), and the catalog document with its dry-run diff before apply."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import price_changes_pb2 as pc
from azotte_gateway.entrypoints.portal.forms import read_form
from azotte_gateway.entrypoints.portal.pages.form_values import amount_minor, enum_label, instant
from azotte_gateway.entrypoints.portal.rendering import render
from azotte_gateway.entrypoints.portal.session import CsrfChecked, PortalViewer, SignedIn
from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument

router = APIRouter()

SHOWN_AT_FORM = (InvalidArgument, FailedPrecondition, AlreadyExists)
PAGE = 500
NOTICES = {
    "branding": "The storefront's branding is saved.",
    "scheduled": "The price is scheduled.",
    "price_cancelled": "The scheduled price is cancelled.",
    "applied": "The catalog document is applied.",
}
CHANNELS = {
    "": channel_pb2.CHANNEL_UNSPECIFIED,
    "web": channel_pb2.CHANNEL_WEB,
    "app_store": channel_pb2.CHANNEL_APP_STORE,
    "google_play": channel_pb2.CHANNEL_GOOGLE_PLAY,
    "telecom": channel_pb2.CHANNEL_TELECOM,
    "partner": channel_pb2.CHANNEL_PARTNER,
    "direct": channel_pb2.CHANNEL_DIRECT,
}
# NOTE: the catalog and the dry run number their ExistingSubscribers enums differently.
EXISTING = {
    "grandfathered": (cat.EXISTING_SUBSCRIBERS_GRANDFATHERED, pc.EXISTING_SUBSCRIBERS_GRANDFATHERED),
    "at_next_renewal": (cat.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL, pc.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL),
}
PRICE_FIELDS = ("plan_id", "storefront_id", "channel", "amount", "effective_time", "existing_subscribers")
BRANDING_FIELDS = tuple(f.name for f in cat.StorefrontBranding.DESCRIPTOR.fields)


@router.get("/catalog", response_class=HTMLResponse)
async def overview(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    """Storefronts, plans with their features, and the feature list."""
    g, caller = viewer.gateway, viewer.caller
    storefronts, plans, features = await asyncio.gather(
        g.catalog.list_storefronts(caller, gw.ListStorefrontsRequest(page_size=PAGE)),
        g.catalog.list_plans(caller, gw.ListPlansRequest(page_size=PAGE)),
        g.catalog.list_features(caller, ca.ListFeaturesRequest(page_size=PAGE)),
    )
    return render(
        request,
        viewer,
        "catalog/overview.html",
        storefronts=storefronts.storefronts,
        plans=plans.plans,
        features=features.features,
        notice=NOTICES.get(notice, ""),
        label=enum_label,
        channel_name=channel_name,
    )


def channel_name(channel: channel_pb2.Channel.ValueType) -> str:
    """ "App store" for CHANNEL_APP_STORE."""
    return channel_pb2.Channel.Name(channel).removeprefix("CHANNEL_").replace("_", " ").capitalize()


@router.get("/catalog/storefronts/{storefront_id}", response_class=HTMLResponse)
async def storefront(request: Request, viewer: SignedIn, storefront_id: str, notice: str = "") -> Response:
    return await show_storefront(request, viewer, storefront_id, notice=NOTICES.get(notice, ""))


async def show_storefront(
    request: Request,
    viewer: PortalViewer,
    storefront_id: str,
    *,
    notice: str = "",
    error: str = "",
    branding: cat.StorefrontBranding | None = None,
) -> Response:
    found = (
        await viewer.gateway.catalog.get_storefront(viewer.caller, gw.GetStorefrontRequest(storefront_id=storefront_id))
    ).storefront
    return render(
        request,
        viewer,
        "catalog/storefront.html",
        status_code=400 if error else 200,
        storefront=found,
        branding=branding or found.branding,
        branding_fields=BRANDING_FIELDS,
        notice=notice,
        error=error,
        label=enum_label,
        channel_name=channel_name,
    )


@router.post("/catalog/storefronts/{storefront_id}/branding")
async def update_branding(request: Request, viewer: CsrfChecked, storefront_id: str) -> Response:
    """Replace the storefront's branding with the form's fields (an empty field clears it)."""
    form = await read_form(request)
    branding = cat.StorefrontBranding(**{name: form.text(name) for name in BRANDING_FIELDS})
    try:
        await viewer.gateway.catalog.update_storefront(
            viewer.caller,
            ca.UpdateStorefrontRequest(
                request_id=form.text("request_id"),
                storefront=cat.Storefront(id=storefront_id, branding=branding),
                update_mask=FieldMask(paths=["branding"]),
            ),
        )
    except SHOWN_AT_FORM as error:
        return await show_storefront(request, viewer, storefront_id, error=error.message, branding=branding)
    return RedirectResponse(f"/portal/catalog/storefronts/{storefront_id}?notice=branding", status_code=303)


@router.get("/catalog/prices", response_class=HTMLResponse)
async def prices(
    request: Request,
    viewer: SignedIn,
    plan_id: str = "",
    storefront_id: str = "",
    channel: str = "",
    amount: str = "",
    effective_time: str = "",
    existing_subscribers: str = "at_next_renewal",
    dry_run: str = "",
    notice: str = "",
) -> Response:
    """Prices in effect and scheduled; with `dry_run`, who a new price would reach and the revenue before/after."""
    form = {
        "plan_id": plan_id,
        "storefront_id": storefront_id,
        "channel": channel,
        "amount": amount,
        "effective_time": effective_time,
        "existing_subscribers": existing_subscribers,
    }
    impact, error = None, ""
    if dry_run:
        try:
            impact = await price_dry_run(viewer, form)
        except SHOWN_AT_FORM as refused:
            error = refused.message
    return await show_prices(request, viewer, form, notice=NOTICES.get(notice, ""), error=error, impact=impact)


async def show_prices(
    request: Request,
    viewer: PortalViewer,
    form: dict[str, str],
    *,
    notice: str = "",
    error: str = "",
    impact: pc.ListPriceChangeSubscribersResponse | None = None,
) -> Response:
    g, caller = viewer.gateway, viewer.caller
    listed, plans, storefronts = await asyncio.gather(
        g.catalog.list_prices(
            caller,
            gw.ListPricesRequest(plan_id=form["plan_id"], storefront_id=form["storefront_id"], page_size=PAGE),
        ),
        g.catalog.list_plans(caller, gw.ListPlansRequest(page_size=PAGE)),
        g.catalog.list_storefronts(caller, gw.ListStorefrontsRequest(page_size=PAGE)),
    )
    return render(
        request,
        viewer,
        "catalog/prices.html",
        status_code=400 if error else 200,
        prices=listed.prices,
        plans=plans.plans,
        storefronts=storefronts.storefronts,
        channels=[name for name in CHANNELS if name],
        form=form,
        impact=impact,
        notice=notice,
        error=error,
        label=enum_label,
        channel_name=channel_name,
    )


async def _currency(viewer: PortalViewer, storefront_id: str) -> str:
    if not storefront_id:
        raise InvalidArgument.field("storefront_id", "is required")
    found = await viewer.gateway.catalog.get_storefront(
        viewer.caller, gw.GetStorefrontRequest(storefront_id=storefront_id)
    )
    return found.storefront.currency_code


def _existing(value: str) -> tuple[cat.ExistingSubscribers.ValueType, pc.ExistingSubscribers.ValueType]:
    """The catalog's and the dry run's value of the form's "existing_subscribers" choice."""
    if value not in EXISTING:
        raise InvalidArgument.field("existing_subscribers", f"must be one of {', '.join(EXISTING)}")
    return EXISTING[value]


async def price_dry_run(viewer: PortalViewer, form: dict[str, str]) -> pc.ListPriceChangeSubscribersResponse:
    """The subscriptions a price would reach (the existing-subscriber dry run) and their revenue before/after."""
    minor = amount_minor(form["amount"], await _currency(viewer, form["storefront_id"]), "amount")
    request = pc.ListPriceChangeSubscribersRequest(
        storefront_id=form["storefront_id"],
        plan_id=form["plan_id"],
        channel=CHANNELS.get(form["channel"], channel_pb2.CHANNEL_UNSPECIFIED),
        amount_minor=minor,
        existing_subscribers=_existing(form["existing_subscribers"])[1],
        page_size=50,
    )
    if form["effective_time"]:
        request.effective_time.CopyFrom(instant(form["effective_time"], "effective_time"))
    return await viewer.gateway.subscriptions.list_price_change_subscribers(viewer.caller, request)


@router.post("/catalog/prices")
async def schedule_price(request: Request, viewer: CsrfChecked) -> Response:
    """Schedule a price version of a plan in a storefront (and channel) from a time on."""
    posted = await read_form(request)
    form = {name: posted.text(name) for name in PRICE_FIELDS}
    try:
        scheduled = ca.SchedulePriceRequest(
            request_id=posted.text("request_id"),
            plan_id=form["plan_id"],
            storefront_id=form["storefront_id"],
            channel=CHANNELS.get(form["channel"], channel_pb2.CHANNEL_UNSPECIFIED),
            amount_minor=amount_minor(form["amount"], await _currency(viewer, form["storefront_id"]), "amount"),
            existing_subscribers=_existing(form["existing_subscribers"])[0],
        )
        if not form["effective_time"]:
            raise InvalidArgument.field("effective_time", "is required")
        scheduled.effective_time.CopyFrom(instant(form["effective_time"], "effective_time"))
        await viewer.gateway.catalog.schedule_price(viewer.caller, scheduled)
    except SHOWN_AT_FORM as error:
        return await show_prices(request, viewer, form, error=error.message)
    query = urlencode({"plan_id": form["plan_id"], "storefront_id": form["storefront_id"], "notice": "scheduled"})
    return RedirectResponse(f"/portal/catalog/prices?{query}", status_code=303)


@router.post("/catalog/prices/{price_id}/cancel")
async def cancel_price(request: Request, viewer: CsrfChecked, price_id: str) -> Response:
    posted = await read_form(request)
    try:
        await viewer.gateway.catalog.cancel_price(
            viewer.caller, ca.CancelPriceRequest(request_id=posted.text("request_id"), price_id=price_id)
        )
    except SHOWN_AT_FORM as error:
        form = {**dict.fromkeys(PRICE_FIELDS, ""), "existing_subscribers": "at_next_renewal"}
        return await show_prices(request, viewer, form, error=error.message)
    return RedirectResponse("/portal/catalog/prices?notice=price_cancelled", status_code=303)


@router.get("/catalog/document", response_class=HTMLResponse)
async def document(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    """The catalog document (YAML) in an editor: preview its diff, then apply it."""
    exported = await viewer.gateway.catalog.export_catalog(
        viewer.caller, gw.ExportCatalogRequest(format=cat.DOCUMENT_FORMAT_YAML)
    )
    return render(
        request,
        viewer,
        "catalog/document.html",
        document=exported.document,
        changes=None,
        warnings=[],
        notice=NOTICES.get(notice, ""),
        error="",
        label=enum_label,
    )


@router.post("/catalog/document")
async def preview_or_apply(request: Request, viewer: CsrfChecked) -> Response:
    """ "preview" answers the dry-run diff of the document; "apply" applies it (once per request id)."""
    form = await read_form(request)
    document = form.raw("document")
    applying = form.text("action") == "apply"
    apply = gw.ApplyCatalogRequest(
        document=document,
        format=cat.DOCUMENT_FORMAT_YAML,
        validate_only=not applying,
        request_id=form.text("request_id") if applying else "",
    )
    try:
        answer = await viewer.gateway.catalog.apply_catalog(viewer.caller, apply)
    except SHOWN_AT_FORM as error:
        return render(
            request,
            viewer,
            "catalog/document.html",
            status_code=400,
            document=document,
            changes=None,
            warnings=[],
            notice="",
            error=error.message,
            label=enum_label,
        )
    if applying:
        return RedirectResponse("/portal/catalog/document?notice=applied", status_code=303)
    return render(
        request,
        viewer,
        "catalog/document.html",
        document=document,
        changes=answer.changes,
        warnings=answer.warnings,
        notice="",
        error="",
        label=enum_label,
    )
