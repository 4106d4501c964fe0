"""Store offers: the tenant's App Store subscription key, an App Store promotional offer signed for one purchase, and
the redemptions stores report (counted against the same limits as a web checkout's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.eligibility import Checkout
from azotte_promotions.domain.promotion import PromotionState
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.domain.store_offers import AppStoreOffer, SubscriptionKey, app_account_token, product_id
from azotte_promotions.errors import StoreOfferNotFound, StoreOfferUnavailable, SubscriptionKeyMissing
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer import redemptions
from azotte_promotions.service_layer.promotions import load

STORE_CHANNELS = (Channel.APP_STORE, Channel.GOOGLE_PLAY)


async def set_subscription_key(uow: PromotionsUnitOfWork, key: SubscriptionKey) -> SubscriptionKey:
    """Keep the tenant's key once it proves to be a P-256 private key."""
    key.check()
    await uow.subscription_keys.put(key, uow.clock.now())
    return key


@dataclass(frozen=True, slots=True)
class SignedOffer:
    offer: AppStoreOffer
    signature: str


async def sign_app_store_offer(
    uow: PromotionsUnitOfWork, tenant: str, promotion_id: str, product: str, token: str
) -> SignedOffer:
    """The App Store promotional offer of an active promotion, signed for one purchase (a fresh nonce)."""
    product, token = product_id(product), app_account_token(token)
    promotion = await load(uow, tenant, promotion_id)
    d, now = promotion.definition, uow.clock.now()
    offer_id = d.store_offers.app_store_offer_id
    if not offer_id:
        raise StoreOfferUnavailable(f"promotion {promotion_id!r} maps to no App Store promotional offer")
    on_sale = (d.start_at is None or d.start_at <= now) and (d.end_at is None or now < d.end_at)
    if promotion.state is not PromotionState.ACTIVE or not on_sale:
        raise StoreOfferUnavailable(f"promotion {promotion_id!r} is not on sale now")
    if d.targets.channels and Channel.APP_STORE not in d.targets.channels:
        raise StoreOfferUnavailable(f"promotion {promotion_id!r} does not apply on the App Store")
    key = await uow.subscription_keys.get(tenant)
    if key is None:
        raise SubscriptionKeyMissing("set the App Store subscription key first (SetAppStoreSubscriptionKey)")
    timestamp_ms = int(now.timestamp() * 1000)
    offer = AppStoreOffer(key.bundle_id, key.key_id, product, offer_id, token, str(uuid.uuid4()), timestamp_ms)
    return SignedOffer(offer, key.sign(offer))


@dataclass(frozen=True, slots=True)
class StoreRedemption:
    """A purchase a store reports, made with the store offer `offer_id`."""

    request_id: str
    channel: Channel
    offer_id: str
    checkout: Checkout
    transaction_id: str


async def record_store_redemption(
    uow: PromotionsUnitOfWork, tenant: str, reported: StoreRedemption, ttl: timedelta
) -> Redemption:
    """Reserve and confirm at once the redemption of the promotion the store offer maps to: its limits, budget and
    rules hold as for a web checkout, and `promotion.redeemed` says so."""
    if reported.channel not in STORE_CHANNELS:
        raise InvalidArgument.field("channel", "must be CHANNEL_APP_STORE or CHANNEL_GOOGLE_PLAY")
    if not reported.offer_id:
        raise InvalidArgument.field("offer_id", "is required")
    if not reported.transaction_id:
        raise InvalidArgument.field("transaction_id", "is required")
    promotion = await uow.promotions.find_by_store_offer(tenant, reported.channel, reported.offer_id)
    if promotion is None:
        raise StoreOfferNotFound(f"no promotion maps to the {reported.channel} offer {reported.offer_id!r}")
    checkout = replace(reported.checkout, channel=reported.channel)
    reserve = redemptions.ReserveRequest(reported.request_id, checkout, promotion_id=promotion.id)
    reserved = await redemptions.reserve(uow, tenant, reserve, ttl)
    charge = f"{reported.channel.value}:{reported.transaction_id}"
    return await redemptions.confirm(uow, tenant, reserved.id, charge)
