"""Lifecycle-triggered campaigns: configure them, and react to a subscriber's moment with a personal retention
offer (a single-use code bound to the customer, or a longer trial) within the frequency cap and outside the quiet
period."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import timedelta

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_promotions.domain.campaigns import Campaign, CampaignAction, CampaignOffer, CampaignState, Moment
from azotte_promotions.domain.events import CampaignOfferIssued
from azotte_promotions.domain.promotion import PromotionState
from azotte_promotions.errors import CampaignNotFound
from azotte_promotions.ports import PromotionsUnitOfWork, TrialExtensions
from azotte_promotions.service_layer import codes
from azotte_promotions.service_layer.promotions import load


async def create_campaign(uow: PromotionsUnitOfWork, tenant: str, campaign: Campaign) -> Campaign:
    """A new campaign of an existing promotion (id chosen or generated)."""
    campaign.check()
    if campaign.promotion_id:
        await load(uow, tenant, campaign.promotion_id)
    campaign.id = campaign.id or f"camp_{secrets.token_hex(8)}"
    campaign.created_at = campaign.updated_at = uow.clock.now()
    await uow.campaigns.add(campaign)
    return campaign


async def get_campaign(uow: PromotionsUnitOfWork, tenant: str, campaign_id: str) -> Campaign:
    if not campaign_id:
        raise InvalidArgument.field("campaign_id", "is required")
    campaign = await uow.campaigns.get(tenant, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"campaign {campaign_id!r} not found")
    return campaign


async def list_campaigns(uow: PromotionsUnitOfWork, tenant: str, paging: PageRequest) -> Page[Campaign]:
    rows = await uow.campaigns.find(tenant, paging.limit, paging.after_key())
    return paging.page(rows, lambda c: [c.created_at.isoformat(), c.id])


async def set_state(uow: PromotionsUnitOfWork, tenant: str, campaign_id: str, state: CampaignState) -> Campaign:
    campaign = await get_campaign(uow, tenant, campaign_id)
    if campaign.state is not state:
        campaign.state, campaign.updated_at = state, uow.clock.now()
        await uow.campaigns.save(campaign)
    return campaign


async def list_offers(
    uow: PromotionsUnitOfWork, tenant: str, paging: PageRequest, campaign_id: str | None, customer_id: str | None
) -> Page[CampaignOffer]:
    rows = await uow.campaigns.find_offers(
        tenant, paging.limit, campaign_id=campaign_id, customer_id=customer_id, after=paging.after_key()
    )
    return paging.page(rows, lambda o: [o.moment.at.isoformat(), o.id])


def offer_id(tenant: str, campaign_id: str, event_id: str) -> str:
    """One offer per campaign and triggering event: its id derives from them."""
    return "offer_" + hashlib.sha256(f"{tenant}\0{campaign_id}\0{event_id}".encode()).hexdigest()[:24]


async def react(
    uow: PromotionsUnitOfWork,
    tenant: str,
    moment: Moment,
    trials: TrialExtensions,
    only: Collection[str] | None = None,
) -> list[CampaignOffer]:
    """Issue the offers of every active campaign (of `only` those, when given) the moment triggers for its
    subscriber.

    NOTE: the offer's row is unique per (campaign, event) and per (campaign, customer, ordinal): a campaign that
    answered the event already, or a concurrent offer that took the customer's ordinal, leaves no usable code.
    """
    issued: list[CampaignOffer] = []
    for campaign in await uow.campaigns.active_for(tenant, moment.trigger):
        if (only is not None and campaign.id not in only) or not campaign.reaches(moment):
            continue
        the_offer_id = offer_id(tenant, campaign.id, moment.event_id)
        if await uow.campaigns.has_offer(tenant, the_offer_id):
            continue
        count = await uow.campaigns.offers_of(tenant, campaign.id, moment.customer_id)
        if count >= campaign.max_offers_per_customer:
            continue
        quiet_until = campaign.quiet_until(await uow.campaigns.last_offer_at(tenant, moment.customer_id))
        if quiet_until is not None and moment.at < quiet_until:
            continue
        if campaign.action is CampaignAction.EXTEND_TRIAL:
            offer = await _extend_trial(uow, tenant, campaign, moment, the_offer_id, count + 1, trials)
        else:
            offer = await _issue_code(uow, tenant, campaign, moment, the_offer_id, count + 1)
        if offer is not None:
            issued.append(offer)
    return issued


async def _issue_code(
    uow: PromotionsUnitOfWork, tenant: str, campaign: Campaign, moment: Moment, the_offer_id: str, ordinal: int
) -> CampaignOffer | None:
    promotion = await load(uow, tenant, campaign.promotion_id)
    if promotion.state is not PromotionState.ACTIVE:
        return None
    expires_at = moment.at + timedelta(days=campaign.offer_valid_days)
    batch = await codes.create_batch(uow, tenant, promotion.id, 1, expires_at=expires_at)
    [code] = await uow.codes.export(tenant, batch.id, 1, None)
    offer = CampaignOffer(tenant, the_offer_id, campaign.id, moment, promotion.id, code, expires_at, ordinal)
    if not await uow.campaigns.add_offer(offer):
        await uow.codes.revoke_batch(tenant, batch.id, moment.at)
        return None
    await uow.codes.bind(tenant, code, moment.customer_id)
    uow.emit(tenant, CampaignOfferIssued(offer, promotion.definition.discount))
    return offer


async def _extend_trial(
    uow: PromotionsUnitOfWork,
    tenant: str,
    campaign: Campaign,
    moment: Moment,
    the_offer_id: str,
    ordinal: int,
    trials: TrialExtensions,
) -> CampaignOffer | None:
    """Have lifecycle move the trial end (once: the offer's id is the request id), then record the offer."""
    assert moment.trial_end is not None  # NOTE: extend_trial campaigns react to a trial ending only (check)
    days = campaign.trial_extension_days
    if not await trials.extend_trial(the_offer_id, moment.subscription_id, days):
        return None
    new_end = moment.trial_end + timedelta(days=days)
    offer = CampaignOffer(tenant, the_offer_id, campaign.id, moment, "", "", new_end, ordinal, days)
    if not await uow.campaigns.add_offer(offer):
        return None
    uow.emit(tenant, CampaignOfferIssued(offer, None))
    return offer
