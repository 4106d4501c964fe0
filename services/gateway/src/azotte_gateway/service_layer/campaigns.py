"""Lifecycle-triggered campaigns (promotions does the work): configure them and read the offers they issued.

NOTE: campaigns and offers are answered as promotions sends them (the re-export policy in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import campaigns_pb2 as gc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation


@dataclass(frozen=True)
class Campaigns:
    """CampaignsService."""

    peers: Peers

    async def create_campaign(self, caller: Caller, request: gc.CreateCampaignRequest) -> gc.CreateCampaignResponse:
        authorize(caller.principal, Permission.MANAGE_CAMPAIGNS)
        require_mutation(request)
        answer = await self.peers.promotions.CreateCampaign(
            pr.CreateCampaignRequest(request_id=request.request_id, campaign=request.campaign)
        )
        return gc.CreateCampaignResponse(campaign=answer.campaign)

    async def get_campaign(self, caller: Caller, request: gc.GetCampaignRequest) -> gc.GetCampaignResponse:
        authorize(caller.principal, Permission.READ_CAMPAIGNS)
        require(request, "campaign_id")
        answer = await self.peers.promotions.GetCampaign(pr.GetCampaignRequest(campaign_id=request.campaign_id))
        return gc.GetCampaignResponse(campaign=answer.campaign)

    async def list_campaigns(self, caller: Caller, request: gc.ListCampaignsRequest) -> gc.ListCampaignsResponse:
        authorize(caller.principal, Permission.READ_CAMPAIGNS)
        answer = await self.peers.promotions.ListCampaigns(
            pr.ListCampaignsRequest(page_size=request.page_size, page_token=request.page_token)
        )
        return gc.ListCampaignsResponse(campaigns=answer.campaigns, next_page_token=answer.next_page_token)

    async def set_campaign_state(
        self, caller: Caller, request: gc.SetCampaignStateRequest
    ) -> gc.SetCampaignStateResponse:
        authorize(caller.principal, Permission.MANAGE_CAMPAIGNS)
        require_mutation(request, "campaign_id")
        answer = await self.peers.promotions.SetCampaignState(
            pr.SetCampaignStateRequest(
                request_id=request.request_id, campaign_id=request.campaign_id, state=request.state
            )
        )
        return gc.SetCampaignStateResponse(campaign=answer.campaign)

    async def list_campaign_offers(
        self, caller: Caller, request: gc.ListCampaignOffersRequest
    ) -> gc.ListCampaignOffersResponse:
        authorize(caller.principal, Permission.READ_CAMPAIGNS)
        answer = await self.peers.promotions.ListCampaignOffers(
            pr.ListCampaignOffersRequest(
                page_size=request.page_size, page_token=request.page_token, filter=request.filter
            )
        )
        return gc.ListCampaignOffersResponse(offers=answer.offers, next_page_token=answer.next_page_token)
