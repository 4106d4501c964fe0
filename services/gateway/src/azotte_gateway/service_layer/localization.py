"""Answers in the caller's language: the catalog's texts for a request's `locale`, feature names of entitlements,
and the offer a checkout page shows (texts, price formatted for the locale, the storefront's branding)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.localization import display_amount, parse_accept_language
from azotte_gateway.ports import Peers
from azotte_platform.locales import lookup_chain
from azotte_platform.tenant_cache import TenantCache

FEATURE_PAGE = 500
DEFAULT_DISPLAY_LOCALE = "en"
"""How a storefront without locales shows its prices to a caller who names none."""


def language(locale: str, storefront_id: str = "") -> cat.TextPreference:
    """The catalog's TextPreference for a request's `locale` (a tag or an Accept-Language list)."""
    return cat.TextPreference(locales=parse_accept_language(locale, "locale"), storefront_id=storefront_id)


async def feature_texts(peers: Peers, preference: cat.TextPreference) -> dict[str, cat.LocalizedText]:
    """Every feature's text in the preferred language, by feature key."""
    texts: dict[str, cat.LocalizedText] = {}
    token = ""
    while True:
        page = await peers.catalog.ListFeatures(
            cat.ListFeaturesRequest(page_size=FEATURE_PAGE, page_token=token, language=preference)
        )
        texts.update((f.key, f.localized) for f in page.features)
        token = page.next_page_token
        if not token:
            return texts


class FeatureTexts:
    """Every feature's text in a preferred language (`feature_texts`), kept per tenant and language (`cache`:
    dropped for a tenant when the catalog announces a change)."""

    def __init__(self, peers: Peers, ttl_seconds: float):
        self._peers = peers
        self.cache: TenantCache[tuple[tuple[str, ...], str], dict[str, cat.LocalizedText]] = TenantCache(ttl_seconds)

    async def __call__(self, preference: cat.TextPreference) -> dict[str, cat.LocalizedText]:
        key = (tuple(preference.locales), preference.storefront_id)
        return await self.cache.get(key, lambda: feature_texts(self._peers, preference))


async def with_display_amounts(peers: Peers, prices: Sequence[cat.Price], preferred: Sequence[str]) -> list[str]:
    """Set each price's `display_amount` for the caller's first locale, else its storefront's first locale;
    answer the locale each is formatted for."""
    storefronts: dict[str, cat.Storefront] = {}
    used = []
    for price in prices:
        if price.storefront_id not in storefronts:
            got = await peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=price.storefront_id))
            storefronts[price.storefront_id] = got.storefront
        storefront = storefronts[price.storefront_id]
        locale = next(iter(preferred), None) or next(iter(storefront.locales), DEFAULT_DISPLAY_LOCALE)
        amount = price.amount
        price.display_amount = display_amount(
            amount.amount_minor, amount.currency_code, storefront.currency_exponent, locale
        )
        used.append(locale)
    return used


def name_entitlements(entitlements: Iterable[gw.Entitlement], texts: dict[str, cat.LocalizedText]) -> None:
    """Give each entitlement its feature's display name and the locale the name is in."""
    for entitlement in entitlements:
        text = texts.get(entitlement.feature_key)
        if text is not None:
            entitlement.display_name = text.display_name
            entitlement.display_locale = text.locale


@dataclass(frozen=True)
class Priced:
    """What the catalog answered a checkout: the storefront, the plan (its texts in the caller's language) and the
    price charged."""

    storefront: cat.Storefront
    plan: cat.Plan
    price: cat.ResolvePriceResponse


async def checkout_offer(
    peers: Peers, request: gw.CheckoutRequest, answer: gw.CheckoutResponse, priced: Priced | None = None
) -> gw.CheckoutOffer:
    """What the checkout page shows of the plan bought, in the request's language, with the storefront's branding;
    from `priced` when the checkout just ran, else asked of the catalog."""
    preference = language(request.locale, request.storefront_id)
    if priced is None:
        priced = await _priced(peers, request, answer, preference)
    storefront, plan, price = priced.storefront, priced.plan, priced.price
    # NOTE: the price is formatted for the caller's own locale (de-AT reads "€ 21,99"), else for the texts' one.
    shown_in = next(
        (t for t in (*preference.locales, plan.localized.locale, *storefront.locales) if t), DEFAULT_DISPLAY_LOCALE
    )
    offer = gw.CheckoutOffer(
        locale=plan.localized.locale,
        plan_text=plan.localized,
        display_price=display_amount(
            price.amount.amount_minor, price.amount.currency_code, storefront.currency_exponent, shown_in
        ),
        branding=storefront.branding,
    )
    if answer.HasField("promotion"):
        got = await peers.promotions.GetPromotion(pr.GetPromotionRequest(promotion_id=answer.promotion.promotion_id))
        offer.promotion_text.CopyFrom(promotion_text(got.promotion, (*preference.locales, *storefront.locales[:1])))
    return offer


async def _priced(
    peers: Peers, request: gw.CheckoutRequest, answer: gw.CheckoutResponse, preference: cat.TextPreference
) -> Priced:
    """The storefront, the plan in the caller's language and the price at the subscription's start."""
    got_storefront, got_plan, price = await asyncio.gather(
        peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=request.storefront_id)),
        peers.catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id, language=preference)),
        peers.catalog.ResolvePrice(
            cat.ResolvePriceRequest(
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
                channel=request.channel,
                at_time=answer.subscription.create_time if answer.subscription.HasField("create_time") else None,
            )
        ),
    )
    return Priced(got_storefront.storefront, got_plan.plan, price)


def promotion_text(promotion: pr.Promotion, locales: Iterable[str]) -> cat.LocalizedText:
    """A promotion's text for a reader of `locales` (each falling back to its parents), else its own text."""
    by_locale = {t.locale: t for t in promotion.texts}
    found = next((by_locale[tag] for tag in lookup_chain(locales) if tag in by_locale), None)
    if found is None:
        return cat.LocalizedText(display_name=promotion.display_name, description=promotion.description)
    return cat.LocalizedText(
        locale=found.locale,
        display_name=found.display_name,
        description=found.description,
        disclosure=found.disclosure,
    )
