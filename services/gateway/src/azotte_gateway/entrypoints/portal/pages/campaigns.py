"""Campaigns: promotions (create, activate, pause, end), their codes (one code, or a generated batch exported as
CSV), the referral program and its referrals, lifecycle campaigns, and A/B experiments with their results."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import campaigns_pb2 as gc
from azotte.gateway.v1 import experiments_pb2 as gx
from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.gateway.v1 import referrals_pb2 as gr
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.portal.forms import PortalForm, read_form
from azotte_gateway.entrypoints.portal.pages.form_values import amount_minor, enum_label, instant
from azotte_gateway.entrypoints.portal.rendering import render
from azotte_gateway.entrypoints.portal.session import CsrfChecked, PortalViewer, SignedIn
from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

router = APIRouter()

SHOWN_AT_FORM = (InvalidArgument, FailedPrecondition, AlreadyExists)
PAGE = 100
EXPORT_PAGE = 1000
NOTICES = {
    "created": "The promotion is created (as a draft: activate it to let customers redeem it).",
    "activated": "The promotion is active.",
    "paused": "The promotion is paused.",
    "ended": "The promotion is ended.",
    "code": "The code is created.",
    "batch": "The codes are generated.",
    "campaign": "The campaign is saved.",
    "experiment": "The experiment is ended.",
    "referrals": "The referral program is saved.",
}
STATE_NOTICES = {"activate": "activated", "pause": "paused", "end": "ended"}
DISCOUNT_KINDS = {
    "percent_off": pr.DISCOUNT_KIND_PERCENT_OFF,
    "amount_off": pr.DISCOUNT_KIND_AMOUNT_OFF,
    "fixed_price": pr.DISCOUNT_KIND_FIXED_PRICE,
    "extra_trial_days": pr.DISCOUNT_KIND_EXTRA_TRIAL_DAYS,
}
DURATIONS = {
    "once": pr.DISCOUNT_DURATION_ONCE,
    "repeating": pr.DISCOUNT_DURATION_REPEATING,
    "forever": pr.DISCOUNT_DURATION_FOREVER,
}
TRIGGERS = {
    "renewal_failed": pr.CAMPAIGN_TRIGGER_RENEWAL_FAILED,
    "on_hold": pr.CAMPAIGN_TRIGGER_ON_HOLD,
    "cancel_scheduled": pr.CAMPAIGN_TRIGGER_CANCEL_SCHEDULED,
    "downgrade_scheduled": pr.CAMPAIGN_TRIGGER_DOWNGRADE_SCHEDULED,
    "trial_expired": pr.CAMPAIGN_TRIGGER_TRIAL_EXPIRED,
}
PROMOTION_FIELDS = (
    "display_name",
    "description",
    "kind",
    "value",
    "currency_code",
    "duration",
    "duration_periods",
    "start_time",
    "end_time",
    "max_redemptions",
    "automatic",
)


def _done(path: str, notice: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"/portal{path}?{urlencode({**query, 'notice': notice})}", status_code=303)


# ------------------------------------------------------------------ promotions


@router.get("/campaigns", response_class=HTMLResponse)
async def promotions(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await show_promotions(request, viewer, notice=NOTICES.get(notice, ""))


async def show_promotions(
    request: Request,
    viewer: PortalViewer,
    *,
    notice: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    listed = await viewer.gateway.promotions.list_promotions(viewer.caller, gp.ListPromotionsRequest(page_size=PAGE))
    return render(
        request,
        viewer,
        "campaigns/promotions.html",
        status_code=400 if error else 200,
        promotions=listed.promotions,
        form=form or {"kind": "percent_off", "duration": "once"},
        notice=notice,
        error=error,
        label=enum_label,
    )


def promotion_from(form: PortalForm) -> pr.Promotion:
    """The promotion the create form describes."""
    kind = form.text("kind")
    if kind not in DISCOUNT_KINDS:
        raise InvalidArgument.field("kind", f"must be one of {', '.join(DISCOUNT_KINDS)}")
    if form.text("duration") not in DURATIONS:
        raise InvalidArgument.field("duration", f"must be one of {', '.join(DURATIONS)}")
    discount = pr.Discount(
        kind=DISCOUNT_KINDS[kind],
        duration=DURATIONS[form.text("duration")],
        duration_periods=form.integer("duration_periods", required=False, minimum=0) or 0,
    )
    value = form.text("value", required=True)
    if kind == "percent_off":
        discount.percent_basis_points = _basis_points(value)
    elif kind == "extra_trial_days":
        discount.trial_days = form.integer("value", minimum=1) or 0
    else:
        currency_code = form.text("currency_code", required=True).upper()
        discount.amounts.append(
            money_pb2.Money(amount_minor=amount_minor(value, currency_code, "value"), currency_code=currency_code)
        )
    promotion = pr.Promotion(
        display_name=form.text("display_name", required=True),
        description=form.text("description"),
        discount=discount,
        automatic=form.checked("automatic"),
    )
    for name in ("start_time", "end_time"):
        if form.text(name):
            getattr(promotion, name).CopyFrom(instant(form.text(name), name))
    if (most := form.integer("max_redemptions", required=False, minimum=1)) is not None:
        promotion.limits.max_redemptions = most
    return promotion


def _basis_points(value: str) -> int:
    """ "12.5" (percent) as 1250 basis points."""
    try:
        percent = Decimal(value)
    except InvalidOperation:
        raise InvalidArgument.field("value", "must be a percentage like 20 or 12.5") from None
    if not percent.is_finite() or percent.adjusted() > 3:
        raise InvalidArgument.field("value", "must be a percentage like 20 or 12.5")
    points = percent * 100
    if points != points.to_integral_value() or not 0 < points <= 10_000:
        raise InvalidArgument.field("value", "must be a percentage above 0 and at most 100, in steps of 0.01")
    return int(points)


@router.post("/campaigns/promotions")
async def create_promotion(request: Request, viewer: CsrfChecked) -> Response:
    form = await read_form(request)
    try:
        created = await viewer.gateway.promotions.create_promotion(
            viewer.caller, gp.CreatePromotionRequest(request_id=form.text("request_id"), promotion=promotion_from(form))
        )
    except SHOWN_AT_FORM as error:
        shown = {name: form.text(name) for name in PROMOTION_FIELDS}
        return await show_promotions(request, viewer, error=error.message, form=shown)
    return _done(f"/campaigns/promotions/{created.promotion.id}", "created")


@router.post("/campaigns/promotions/{promotion_id}/state/{action}")
async def change_promotion_state(request: Request, viewer: CsrfChecked, promotion_id: str, action: str) -> Response:
    """Activate, pause or end (deactivate for good) a promotion."""
    form = await read_form(request)
    area, caller, request_id = viewer.gateway.promotions, viewer.caller, form.text("request_id")
    try:
        if action == "activate":
            await area.activate_promotion(
                caller, gp.ActivatePromotionRequest(request_id=request_id, promotion_id=promotion_id)
            )
        elif action == "pause":
            await area.pause_promotion(
                caller, gp.PausePromotionRequest(request_id=request_id, promotion_id=promotion_id)
            )
        elif action == "end":
            await area.end_promotion(caller, gp.EndPromotionRequest(request_id=request_id, promotion_id=promotion_id))
        else:
            raise NotFound(f"there is no promotion action {action!r}")
    except SHOWN_AT_FORM as error:
        return await show_promotion(request, viewer, promotion_id, error=error.message)
    return _done(f"/campaigns/promotions/{promotion_id}", STATE_NOTICES[action])


@router.get("/campaigns/promotions/{promotion_id}", response_class=HTMLResponse)
async def promotion(
    request: Request, viewer: SignedIn, promotion_id: str, notice: str = "", batch: str = ""
) -> Response:
    return await show_promotion(request, viewer, promotion_id, notice=NOTICES.get(notice, ""), batch_id=batch)


async def show_promotion(
    request: Request, viewer: PortalViewer, promotion_id: str, *, notice: str = "", error: str = "", batch_id: str = ""
) -> Response:
    found = await viewer.gateway.promotions.get_promotion(
        viewer.caller, gp.GetPromotionRequest(promotion_id=promotion_id)
    )
    return render(
        request,
        viewer,
        "campaigns/promotion.html",
        status_code=400 if error else 200,
        promotion=found.promotion,
        batch_id=batch_id,
        notice=notice,
        error=error,
        label=enum_label,
    )


@router.post("/campaigns/promotions/{promotion_id}/codes")
async def create_code(request: Request, viewer: CsrfChecked, promotion_id: str) -> Response:
    """One code of the promotion, e.g. a code printed on a flyer."""
    form = await read_form(request)
    try:
        code = gp.CreatePromotionCodeRequest(
            request_id=form.text("request_id"), promotion_id=promotion_id, code=form.text("code", required=True)
        )
        if (most := form.integer("max_redemptions", required=False, minimum=1)) is not None:
            code.max_redemptions = most
        if form.text("expire_time"):
            code.expire_time.CopyFrom(instant(form.text("expire_time"), "expire_time"))
        await viewer.gateway.promotions.create_promotion_code(viewer.caller, code)
    except SHOWN_AT_FORM as error:
        return await show_promotion(request, viewer, promotion_id, error=error.message)
    return _done(f"/campaigns/promotions/{promotion_id}", "code")


@router.post("/campaigns/promotions/{promotion_id}/batches")
async def generate_codes(request: Request, viewer: CsrfChecked, promotion_id: str) -> Response:
    """A batch of single-use codes, generated by promotions; exported as CSV from the promotion's page."""
    form = await read_form(request)
    try:
        batch = gp.CreateCodeBatchRequest(
            request_id=form.text("request_id"),
            promotion_id=promotion_id,
            code_count=_int32(form, "code_count", minimum=1),
            prefix=form.text("prefix"),
        )
        if form.text("expire_time"):
            batch.expire_time.CopyFrom(instant(form.text("expire_time"), "expire_time"))
        created = await viewer.gateway.promotions.create_code_batch(viewer.caller, batch)
    except SHOWN_AT_FORM as error:
        return await show_promotion(request, viewer, promotion_id, error=error.message)
    return _done(f"/campaigns/promotions/{promotion_id}", "batch", batch=created.batch.id)


@router.get("/campaigns/batches/{batch_id}/codes.csv")
async def export_codes(viewer: SignedIn, batch_id: str) -> Response:
    """The batch's codes as CSV, read page by page (the first page is read before answering, so a refusal is a
    page of its own rather than a broken download)."""
    area, caller = viewer.gateway.promotions, viewer.caller
    first = await area.export_code_batch(caller, gp.ExportCodeBatchRequest(batch_id=batch_id, page_size=EXPORT_PAGE))

    async def rows() -> AsyncIterator[str]:
        yield "code\r\n"
        page = first
        while True:
            lines = io.StringIO()
            csv.writer(lines).writerows([code] for code in page.codes)
            yield lines.getvalue()
            if not page.next_page_token:
                return
            page = await area.export_code_batch(
                caller,
                gp.ExportCodeBatchRequest(batch_id=batch_id, page_size=EXPORT_PAGE, page_token=page.next_page_token),
            )

    headers = {"Content-Disposition": f'attachment; filename="codes-{batch_id}.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


# ------------------------------------------------------------------ referrals, lifecycle campaigns, experiments


@router.get("/campaigns/referrals", response_class=HTMLResponse)
async def referrals(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await show_referrals(request, viewer, notice=NOTICES.get(notice, ""))


async def show_referrals(request: Request, viewer: PortalViewer, *, notice: str = "", error: str = "") -> Response:
    """The referral program (rewards per plan, storefront and channel) and the latest referrals."""
    area, caller = viewer.gateway.referrals, viewer.caller
    program, listed = await asyncio.gather(
        area.get_referral_program(caller, gr.GetReferralProgramRequest()),
        area.list_referrals(caller, gr.ListReferralsRequest(page_size=PAGE)),
    )
    return render(
        request,
        viewer,
        "campaigns/referrals.html",
        status_code=400 if error else 200,
        program=program.program,
        referrals=listed.referrals,
        notice=notice,
        error=error,
        label=enum_label,
    )


@router.post("/campaigns/referrals/enabled")
async def enable_referrals(request: Request, viewer: CsrfChecked) -> Response:
    """Switch the referral program on or off, its rewards as they are."""
    form = await read_form(request)
    area, caller = viewer.gateway.referrals, viewer.caller
    program = (await area.get_referral_program(caller, gr.GetReferralProgramRequest())).program
    program.enabled = form.text("enabled") == "true"
    try:
        await area.update_referral_program(
            caller, gr.UpdateReferralProgramRequest(request_id=form.text("request_id"), program=program)
        )
    except SHOWN_AT_FORM as error:
        return await show_referrals(request, viewer, error=error.message)
    return _done("/campaigns/referrals", "referrals")


@router.get("/campaigns/lifecycle", response_class=HTMLResponse)
async def lifecycle_campaigns(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await show_campaigns(request, viewer, notice=NOTICES.get(notice, ""))


async def show_campaigns(request: Request, viewer: PortalViewer, *, notice: str = "", error: str = "") -> Response:
    g, caller = viewer.gateway, viewer.caller
    listed, offered = await asyncio.gather(
        g.campaigns.list_campaigns(caller, gc.ListCampaignsRequest(page_size=PAGE)),
        g.promotions.list_promotions(caller, gp.ListPromotionsRequest(page_size=PAGE)),
    )
    return render(
        request,
        viewer,
        "campaigns/lifecycle.html",
        status_code=400 if error else 200,
        campaigns=listed.campaigns,
        promotions=offered.promotions,
        triggers=TRIGGERS,
        notice=notice,
        error=error,
        label=enum_label,
    )


@router.post("/campaigns/lifecycle")
async def create_campaign(request: Request, viewer: CsrfChecked) -> Response:
    """A retention offer sent on a lifecycle trigger (a failed renewal, a scheduled cancel, …)."""
    form = await read_form(request)
    try:
        if form.text("trigger") not in TRIGGERS:
            raise InvalidArgument.field("trigger", f"must be one of {', '.join(TRIGGERS)}")
        campaign = pr.Campaign(
            display_name=form.text("display_name", required=True),
            trigger=TRIGGERS[form.text("trigger")],
            promotion_id=form.text("promotion_id", required=True),
            offer_valid_days=_int32(form, "offer_valid_days"),
            max_offers_per_customer=_int32(form, "max_offers_per_customer"),
            quiet_period_days=_int32(form, "quiet_period_days"),
        )
        await viewer.gateway.campaigns.create_campaign(
            viewer.caller, gc.CreateCampaignRequest(request_id=form.text("request_id"), campaign=campaign)
        )
    except SHOWN_AT_FORM as error:
        return await show_campaigns(request, viewer, error=error.message)
    return _done("/campaigns/lifecycle", "campaign")


def _int32(form: PortalForm, name: str, *, minimum: int = 0) -> int:
    """A form's whole number that fits an int32 field (0 when empty and 0 is allowed)."""
    value = form.integer(name, required=minimum > 0, minimum=minimum) or 0
    if value > 2**31 - 1:
        raise InvalidArgument.field(name, "must be at most 2147483647")
    return value


@router.post("/campaigns/lifecycle/{campaign_id}/state")
async def set_campaign_state(request: Request, viewer: CsrfChecked, campaign_id: str) -> Response:
    form = await read_form(request)
    states = {"active": pr.CAMPAIGN_STATE_ACTIVE, "paused": pr.CAMPAIGN_STATE_PAUSED}
    try:
        if form.text("state") not in states:
            raise InvalidArgument.field("state", "must be active or paused")
        await viewer.gateway.campaigns.set_campaign_state(
            viewer.caller,
            gc.SetCampaignStateRequest(
                request_id=form.text("request_id"), campaign_id=campaign_id, state=states[form.text("state")]
            ),
        )
    except SHOWN_AT_FORM as error:
        return await show_campaigns(request, viewer, error=error.message)
    return _done("/campaigns/lifecycle", "campaign")


@router.get("/campaigns/experiments", response_class=HTMLResponse)
async def experiments(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await show_experiments(request, viewer, notice=NOTICES.get(notice, ""))


async def show_experiments(request: Request, viewer: PortalViewer, *, notice: str = "", error: str = "") -> Response:
    """Every experiment with its variants' results (exposures, conversions, revenue, significance)."""
    area, caller = viewer.gateway.experiments, viewer.caller
    listed = await area.list_experiments(caller, gx.ListExperimentsRequest(page_size=PAGE))
    results = await asyncio.gather(
        *(
            area.get_experiment_results(caller, gx.GetExperimentResultsRequest(experiment_id=e.id))
            for e in listed.experiments
        )
    )
    return render(
        request,
        viewer,
        "campaigns/experiments.html",
        status_code=400 if error else 200,
        experiments=results,
        notice=notice,
        error=error,
        label=enum_label,
    )


@router.post("/campaigns/experiments/{experiment_id}/end")
async def end_experiment(request: Request, viewer: CsrfChecked, experiment_id: str) -> Response:
    """Stop an experiment, or ship one of its variants."""
    form = await read_form(request)
    try:
        await viewer.gateway.experiments.end_experiment(
            viewer.caller,
            gx.EndExperimentRequest(
                request_id=form.text("request_id"),
                experiment_id=experiment_id,
                ship_variant_id=form.text("ship_variant_id"),
            ),
        )
    except SHOWN_AT_FORM as error:
        return await show_experiments(request, viewer, error=error.message)
    return _done("/campaigns/experiments", "experiment")
