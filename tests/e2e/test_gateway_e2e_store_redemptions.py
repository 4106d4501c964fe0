"""Store offer redemptions through the real stack: an App Store purchase made with a promotional offer and a Google
Play purchase made with an offer each count once against the promotion mapped to them (redelivery and the offer's
renewals count nothing more), and the promotion's limit then holds for the web checkout too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from azotte_gateway.sandbox_channels.app_store_signing import SigningAppStore
from azotte_gateway.sandbox_channels.google_play_signing import API_ACCOUNT, SigningGoogle
from tests.e2e import test_gateway_e2e_google_play as play
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_app_store import app_body, post, subscriber
from tests.e2e.test_gateway_e2e_channels_app_store import transaction


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def store() -> SigningAppStore:
    return SigningAppStore()


@pytest.fixture(scope="module")
def google() -> SigningGoogle:
    return SigningGoogle()


@pytest.fixture(scope="module")
async def emulator(suite: RunningSuite, google: SigningGoogle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=suite.suite.auxiliary_urls["AZOTTE_GOOGLE_APIS_URL"]) as http:
        (await http.post("/emulator/jwks", json=google.jwks())).raise_for_status()
        account = {"public_key_pem": google.api_public_key_pem(), "packages": [play.PACKAGE]}
        (await http.put(f"/emulator/service-accounts/{API_ACCOUNT}", json=account)).raise_for_status()
        yield http


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite, store: SigningAppStore, google: SigningGoogle, emulator: Any) -> TenantApi:
    """The OTT catalog, the App Store app `ios` and the Google Play app `android`."""
    tenant = await suite.new_tenant()
    await tenant.ok("POST", "/v1/app-store-apps", json=app_body(store))
    await tenant.ok("POST", "/v1/google-play-apps", json=play.app_body(google, tenant.tenant_id))
    return tenant


async def promotion_with_offers(shop: TenantApi, max_redemptions: int) -> str:
    promotion = {
        "display_name": "Spring in the stores",
        "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 3000},
        "limits": {"max_redemptions": max_redemptions},
        "store_offers": {"app_store_offer_id": "spring_30", "google_play_offer_id": "spring-30"},
    }
    created = await shop.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion})
    promotion_id = str(created["promotion"]["id"])
    await shop.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()})
    await shop.ok("POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": rid(), "code": "SPRING30"})
    return promotion_id


async def confirmed(shop: TenantApi, promotion_id: str) -> int:
    usage = (await shop.ok("GET", f"/v1/promotions/{promotion_id}"))["promotion"].get("usage", {})
    return int(usage.get("confirmed_count", 0))


async def test_store_purchases_with_offers_count_once_each_against_the_promotions_limit(
    shop: TenantApi, store: SigningAppStore, google: SigningGoogle, emulator: httpx.AsyncClient
) -> None:
    promotion_id = await promotion_with_offers(shop, max_redemptions=2)

    _, token = await subscriber(shop)
    original, start = str(uuid.uuid4().int)[:16], datetime.now(UTC)
    bought = transaction(original, token, start, offerType=2, offerIdentifier="spring_30", price=6990)
    notice = store.notification("SUBSCRIBED", "INITIAL_BUY", signed_at=start, transaction=bought)
    for _ in range(2):  # Apple redelivers until answered
        assert (await post(shop, notice)).status_code == 200
    assert await confirmed(shop, promotion_id) == 1

    renewed_at = start + timedelta(seconds=1)
    renewal = transaction(original, token, renewed_at, offerType=2, offerIdentifier="spring_30", price=6990)
    assert (await post(shop, store.notification("DID_RENEW", signed_at=renewed_at, transaction=renewal))).is_success
    assert await confirmed(shop, promotion_id) == 1

    account = uuid.uuid4().hex
    link = {"request_id": rid(), "identity": {"kind": "GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID", "value": account}}
    await shop.ok("POST", f"/v1/customers/{await shop.customer()}:linkChannelIdentity", json=link)
    purchase = play.state("SUBSCRIPTION_STATE_ACTIVE", account)
    purchase["lineItems"][0]["offerDetails"]["offerId"] = "spring-30"
    answer = await play.deliver(shop, google, emulator, 4, f"token-{rid()}", purchase)
    assert answer.status_code == 200, answer.text
    assert await confirmed(shop, promotion_id) == 2

    # The two store redemptions used the limit: the web checkout's code is refused as exhausted.
    body = {"storefront_id": "us", "plan_id": "premium_monthly", "channel": "web", "customer_id": await shop.customer()}
    refused = (await shop.ok("POST", "/v1/promotion-codes/SPRING30:validate", json=body))["validation"]
    assert [i["reason"] for i in refused["ineligibilities"]] == ["INELIGIBILITY_REASON_PROMOTION_EXHAUSTED"]
