"""REST endpoints of lifecycle-triggered campaigns and the retention offers they issued."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Query
from google.protobuf import json_format
from pydantic import WithJsonSchema

from azotte.gateway.v1 import campaigns_pb2 as gc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["campaigns"])
READ = "Needs `read_campaigns` (viewer and up)."
MANAGE = "Needs `manage_campaigns` (manager and up)."
CampaignJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "allOf": [{"$ref": f"#/components/schemas/{response_model(pr.Campaign).__name__}"}],
            "description": "A campaign; create and update times and offers_issued are ignored.",
        }
    ),
]
OfferFilter = Annotated[
    str,
    Query(description="AIP-160 filter: `campaign_id`, `customer_id` with `=`, joined by `AND`.", max_length=2048),
]
STATES = {"active": pr.CAMPAIGN_STATE_ACTIVE, "paused": pr.CAMPAIGN_STATE_PAUSED}


class CampaignBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "campaign": {}}

    campaign: CampaignJson | None = None


@router.post(
    "/v1/campaigns",
    summary="Create a lifecycle-triggered campaign",
    description=MANAGE + " On its `trigger`, a subscriber matching `conditions` gets a personal single-use code of "
    "`promotion_id` (valid `offer_valid_days`), at most `max_offers_per_customer` times, never within "
    "`quiet_period_days` of their last offer; `campaign.offer_issued` carries the code to webhooks.",
    **answers(gc.CreateCampaignResponse),
)
async def create_campaign(body: CampaignBody, who: Who, g: Gw) -> JSON:
    request = gc.CreateCampaignRequest(request_id=body.request_id)
    if body.campaign is not None:
        try:
            request.campaign.CopyFrom(json_format.ParseDict(body.campaign, pr.Campaign()))
        except (json_format.ParseError, TypeError, ValueError) as error:
            raise InvalidArgument.field("campaign", str(error)) from None
    return js(await g.campaigns.create_campaign(who, request))


@router.get("/v1/campaigns", summary="List campaigns", description=READ, **answers(gc.ListCampaignsResponse))
async def list_campaigns(who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "") -> JSON:
    return js(
        await g.campaigns.list_campaigns(who, gc.ListCampaignsRequest(page_size=page_size, page_token=page_token))
    )


@router.get(
    "/v1/campaigns/{campaign_id}",
    summary="A campaign and how many offers it issued",
    description=READ,
    **answers(gc.GetCampaignResponse),
)
async def get_campaign(campaign_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.campaigns.get_campaign(who, gc.GetCampaignRequest(campaign_id=campaign_id)))


async def _set_state(campaign_id: str, state: Literal["active", "paused"], body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gc.SetCampaignStateRequest(request_id=body.request_id, campaign_id=campaign_id, state=STATES[state])
    return js(await g.campaigns.set_campaign_state(who, request))


@router.post(
    "/v1/campaigns/{campaign_id}:pause",
    summary="Pause a campaign",
    description=MANAGE,
    **answers(gc.SetCampaignStateResponse),
)
async def pause_campaign(campaign_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    return await _set_state(campaign_id, "paused", body, who, g)


@router.post(
    "/v1/campaigns/{campaign_id}:resume",
    summary="Resume a paused campaign",
    description=MANAGE,
    **answers(gc.SetCampaignStateResponse),
)
async def resume_campaign(campaign_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    return await _set_state(campaign_id, "active", body, who, g)


@router.get(
    "/v1/campaign-offers",
    summary="The retention offers campaigns issued, newest first",
    description=READ,
    **answers(gc.ListCampaignOffersResponse),
)
async def list_campaign_offers(
    who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "", filter: OfferFilter = ""
) -> JSON:
    request = gc.ListCampaignOffersRequest(page_size=page_size, page_token=page_token, filter=filter)
    return js(await g.campaigns.list_campaign_offers(who, request))
