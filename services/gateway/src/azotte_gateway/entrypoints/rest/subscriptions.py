"""REST endpoints of subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import price_changes_pb2 as pc
from azotte_gateway.entrypoints.rest.checkout import CHANNELS
from azotte_gateway.entrypoints.rest.common import INT64_MAX, JSON, Gw, Listing, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["subscriptions"])
CANCELLATION_TIMINGS = {
    "at_period_end": gw.CANCELLATION_TIMING_AT_PERIOD_END,
    "immediately": gw.CANCELLATION_TIMING_IMMEDIATELY,
}
PLAN_CHANGE_TIMINGS = {
    None: gw.PLAN_CHANGE_TIMING_UNSPECIFIED,
    "immediately": gw.PLAN_CHANGE_TIMING_IMMEDIATELY,
    "at_period_end": gw.PLAN_CHANGE_TIMING_AT_PERIOD_END,
}


class CancelBody(MutatingBody):
    timing: Literal["at_period_end", "immediately"] = "at_period_end"
    reason: str = ""
    refund: bool = Field(default=False, description="Immediately only: pay the unused part of the current period back.")


class PauseBody(MutatingBody):
    resume_time: datetime | None = Field(default=None, description="Unset: paused for the policy's maximum pause.")


class PlanChangeBody(MutatingBody):
    new_plan_id: str = Field(min_length=1)
    timing: Literal["immediately", "at_period_end"] | None = Field(
        default=None, description="Unset: upgrades now, downgrades at period end."
    )


@router.get("/v1/subscriptions/{subscription_id}", summary="Get a subscription", **answers(gw.GetSubscriptionResponse))
async def get_subscription(subscription_id: str, who: Who, g: Gw) -> JSON:
    request = gw.GetSubscriptionRequest(subscription_id=subscription_id)
    return js(await g.subscriptions.get_subscription(who, request))


SUBSCRIPTIONS_LIST = (
    "`filter` (AIP-160), conditions joined by AND: `state` (`=` or `!=`, e.g. `state = ACTIVE`), `plan_id`, "
    "`customer_id` (`=`), `create_time` and `current_period_end_time` (`=`, `!=`, `<`, `<=`, `>`, `>=` an RFC 3339 "
    'time), e.g. `state = ACTIVE AND plan_id = "premium"`. `order_by` (AIP-132): `create_time` (the default) or '
    "`current_period_end_time`, optionally `desc`."
)


@router.get(
    "/v1/subscriptions",
    summary="List the tenant's subscriptions",
    description=SUBSCRIPTIONS_LIST,
    **answers(gw.ListSubscriptionsResponse),
)
async def list_all_subscriptions(who: Who, g: Gw, listing: Listing) -> JSON:
    request = gw.ListSubscriptionsRequest(**listing.fields())
    return js(await g.subscriptions.list_subscriptions(who, request))


@router.get(
    "/v1/customers/{customer_id}/subscriptions",
    summary="List a customer's subscriptions",
    description=SUBSCRIPTIONS_LIST,
    **answers(gw.ListSubscriptionsResponse),
)
async def list_subscriptions(customer_id: str, who: Who, g: Gw, listing: Listing) -> JSON:
    request = gw.ListSubscriptionsRequest(customer_id=customer_id, **listing.fields())
    return js(await g.subscriptions.list_subscriptions(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:cancel",
    summary="Cancel at period end or now",
    **answers(gw.CancelSubscriptionResponse),
)
async def cancel_subscription(subscription_id: str, body: CancelBody, who: Who, g: Gw) -> JSON:
    request = gw.CancelSubscriptionRequest(
        request_id=body.request_id,
        subscription_id=subscription_id,
        timing=CANCELLATION_TIMINGS[body.timing],
        reason=body.reason,
        refund=body.refund,
    )
    return js(await g.subscriptions.cancel_subscription(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:reactivate",
    summary="Undo a cancellation at period end",
    **answers(gw.ReactivateSubscriptionResponse),
)
async def reactivate_subscription(subscription_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gw.ReactivateSubscriptionRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await g.subscriptions.reactivate_subscription(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:pause",
    summary="Pause billing and access",
    **answers(gw.PauseSubscriptionResponse),
)
async def pause_subscription(subscription_id: str, body: PauseBody, who: Who, g: Gw) -> JSON:
    request = gw.PauseSubscriptionRequest(
        request_id=body.request_id,
        subscription_id=subscription_id,
        resume_time=convert.optional_timestamp(body.resume_time),
    )
    return js(await g.subscriptions.pause_subscription(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:resume",
    summary="Resume a paused subscription",
    **answers(gw.ResumeSubscriptionResponse),
)
async def resume_subscription(subscription_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gw.ResumeSubscriptionRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await g.subscriptions.resume_subscription(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:preview-change",
    summary="What a plan change would cost",
    **answers(gw.PreviewPlanChangeResponse),
)
async def preview_plan_change(subscription_id: str, body: PlanChangeBody, who: Who, g: Gw) -> JSON:
    request = gw.PreviewPlanChangeRequest(
        subscription_id=subscription_id, new_plan_id=body.new_plan_id, timing=PLAN_CHANGE_TIMINGS[body.timing]
    )
    return js(await g.subscriptions.preview_plan_change(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:change-plan",
    summary="Upgrade or downgrade",
    **answers(gw.ChangeSubscriptionPlanResponse),
)
async def change_subscription_plan(subscription_id: str, body: PlanChangeBody, who: Who, g: Gw) -> JSON:
    request = gw.ChangeSubscriptionPlanRequest(
        request_id=body.request_id,
        subscription_id=subscription_id,
        new_plan_id=body.new_plan_id,
        timing=PLAN_CHANGE_TIMINGS[body.timing],
    )
    return js(await g.subscriptions.change_subscription_plan(who, request))


# ------------------------------------------------------------------ price changes

EXISTING_SUBSCRIBERS = {
    "grandfathered": pc.EXISTING_SUBSCRIBERS_GRANDFATHERED,
    "at_next_renewal": pc.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
}


@router.get(
    "/v1/subscriptions/{subscription_id}/upcoming-charge",
    summary="The next renewal's charge: date, amount, discount and tax",
    **answers(pc.GetUpcomingChargeResponse),
)
async def get_upcoming_charge(subscription_id: str, who: Who, g: Gw) -> JSON:
    request = pc.GetUpcomingChargeRequest(subscription_id=subscription_id)
    return js(await g.subscriptions.get_upcoming_charge(who, request))


@router.get(
    "/v1/subscriptions/{subscription_id}/price-change",
    summary="A subscription's current and next price and any change on the way",
    **answers(pc.GetPendingPriceChangeResponse),
)
async def get_pending_price_change(subscription_id: str, who: Who, g: Gw) -> JSON:
    request = pc.GetPendingPriceChangeRequest(subscription_id=subscription_id)
    return js(await g.subscriptions.get_pending_price_change(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:consent-to-price-change",
    summary="Accept the price increase awaiting consent",
    **answers(pc.ConsentToPriceChangeResponse),
)
async def consent_to_price_change(subscription_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = pc.ConsentToPriceChangeRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await g.subscriptions.consent_to_price_change(who, request))


@router.post(
    "/v1/subscriptions/{subscription_id}:decline-price-change",
    summary="Refuse the price increase: the subscription ends, uncharged, at the renewal that would charge it",
    **answers(pc.DeclinePriceChangeResponse),
)
async def decline_price_change(subscription_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = pc.DeclinePriceChangeRequest(request_id=body.request_id, subscription_id=subscription_id)
    return js(await g.subscriptions.decline_price_change(who, request))


@router.get(
    "/v1/price-changes/affected-subscribers",
    summary="Dry run of a price: the subscriptions it would reach, their old and new price and first renewal",
    **answers(pc.ListPriceChangeSubscribersResponse),
)
async def list_price_change_subscribers(
    who: Who,
    g: Gw,
    storefront_id: Annotated[str, Query(min_length=1)],
    plan_id: Annotated[str, Query(min_length=1)],
    amount_minor: Annotated[int, Query(ge=0, le=INT64_MAX, description="The new price in minor units.")],
    effective_time: Annotated[datetime | None, Query(description="Unset: now.")] = None,
    existing_subscribers: Literal["grandfathered", "at_next_renewal"] = "grandfathered",
    channel: Annotated[
        Literal["web", "app_store", "google_play", "telecom", "partner", "direct"] | None,
        Query(description="A channel-specific price; unset for every channel."),
    ] = None,
    page_size: PageSize = 0,
    page_token: str = "",
) -> JSON:
    request = pc.ListPriceChangeSubscribersRequest(
        storefront_id=storefront_id,
        plan_id=plan_id,
        amount_minor=amount_minor,
        effective_time=convert.optional_timestamp(effective_time),
        existing_subscribers=EXISTING_SUBSCRIBERS[existing_subscribers],
        channel=CHANNELS[channel] if channel else channel_pb2.CHANNEL_UNSPECIFIED,
        page_size=page_size,
        page_token=page_token,
    )
    return js(await g.subscriptions.list_price_change_subscribers(who, request))


@router.get(
    "/v1/price-changes/impact",
    summary="Each price change's impact per cohort: consented, declined, renewed, churned, revenue before/after",
    **answers(pc.GetPriceChangeImpactResponse),
)
async def get_price_change_impact(who: Who, g: Gw, storefront_id: str = "", plan_id: str = "") -> JSON:
    request = pc.GetPriceChangeImpactRequest(storefront_id=storefront_id, plan_id=plan_id)
    return js(await g.subscriptions.get_price_change_impact(who, request))
