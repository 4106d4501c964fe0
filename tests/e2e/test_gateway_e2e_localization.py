"""Storefronts speak their languages: localized texts, prices formatted per locale, and branding, end to end.

The tenant's catalog is docs/examples/ott-catalog.yaml: German and English texts with disclosures, names in English
(the default locale), a DE storefront (de-DE, en-DE) that carries its branding.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from rich.console import Console

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_gateway.cli.client import GatewayClient
from azotte_gateway.cli.demo import languages_table
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

EURO = "21,99\xa0€"  # family_monthly in the DE storefront, as CLDR writes it for de-DE


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant()


@pytest.fixture(scope="module")
async def channel(suite: RunningSuite) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as opened:
        yield opened


async def german_checkout(shop: TenantApi, customer: str, language: str, request_id: str) -> tuple[dict[str, Any], str]:
    body = {
        "request_id": request_id,
        "customer_id": customer,
        "storefront_id": "de",
        "plan_id": "family_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    answer = await shop.call("POST", "/v1/checkout", json=body, headers={"Accept-Language": language})
    assert answer.status_code == 200, answer.text
    return answer.json(), answer.headers.get("content-language", "")


async def test_a_checkout_in_the_de_storefront_answers_german_names_and_the_euro_price(shop: TenantApi) -> None:
    customer = await shop.customer("DE")
    answer, content_language = await german_checkout(shop, customer, "de-DE", uuid.uuid4().hex)
    offer = answer["offer"]
    assert content_language == "de" and offer["locale"] == "de"
    assert offer["plan_text"]["display_name"] == "Familie"
    assert offer["plan_text"]["disclosure"].startswith("Das Abo verlängert sich monatlich")
    assert offer["display_price"] == EURO
    assert offer["branding"]["name"] == "Streamio"
    assert offer["branding"]["logo_url"] == "https://cdn.example.com/streamio/de/logo.svg"
    assert offer["branding"]["terms_url"] == "https://streamio.example/de/agb"
    german = {
        "hd_streaming": "HD-Streaming",
        "uhd_streaming": "4K-UHD-Streaming",
        "downloads": "Offline-Downloads",
        "family_seats": "Familienmitglieder",
    }
    # NOTE: the checkout answers the entitlements granted within its short wait (all of them, unless very slow).
    granted = {e["feature_key"]: (e["display_name"], e["display_locale"]) for e in answer["granted_entitlements"]}
    assert granted == {key: (german[key], "de") for key in granted}


async def test_a_retry_in_english_is_the_same_checkout_answered_in_english(shop: TenantApi) -> None:
    customer, request_id = await shop.customer("DE"), uuid.uuid4().hex
    first, _ = await german_checkout(shop, customer, "de-DE", request_id)
    again, content_language = await german_checkout(shop, customer, "en-GB, de;q=0.5", request_id)
    assert again["subscription"]["id"] == first["subscription"]["id"]
    assert again["charge"]["id"] == first["charge"]["id"]
    assert content_language == "en" and again["offer"]["plan_text"]["display_name"] == "Family"
    assert again["offer"]["display_price"] == "€21.99"


async def test_texts_fall_back_from_de_at_to_de_then_to_the_storefront_then_to_the_default(shop: TenantApi) -> None:
    async def plan_in(language: str, storefront: str = "") -> tuple[str, str, str]:
        query = f"?storefront_id={storefront}" if storefront else ""
        answer = await shop.call("GET", f"/v1/plans/family_monthly{query}", headers={"Accept-Language": language})
        assert answer.status_code == 200, answer.text
        localized = answer.json()["plan"]["localized"]
        return localized["locale"], localized["display_name"], answer.headers["content-language"]

    assert await plan_in("de-AT") == ("de", "Familie", "de")
    assert await plan_in("fr-CH, de-AT;q=0.5") == ("de", "Familie", "de")
    assert await plan_in("fr-FR", storefront="de") == ("de", "Familie", "de")
    assert await plan_in("fr-FR") == ("en", "Family", "en")


async def test_prices_are_formatted_for_the_callers_locale(shop: TenantApi) -> None:
    async def family_prices(language: str) -> list[str]:
        answer = await shop.call(
            "GET", "/v1/prices?plan_id=family_monthly&storefront_id=de", headers={"Accept-Language": language}
        )
        assert answer.status_code == 200, answer.text
        return [p["display_amount"] for p in answer.json()["prices"]]

    assert await family_prices("de-DE") == [EURO]
    assert await family_prices("de-AT") == ["€\xa021,99"]
    assert await family_prices("") == [EURO]  # the storefront's first locale


async def test_the_storefront_carries_its_branding(shop: TenantApi) -> None:
    storefront = (await shop.ok("GET", "/v1/storefronts/de"))["storefront"]
    assert storefront["branding"]["privacy_url"] == "https://streamio.example/de/datenschutz"
    assert storefront["branding"]["primary_color"] == "#E50914"
    assert storefront["branding"]["support_email"] == "hilfe@streamio.example"
    listed = (await shop.ok("GET", "/v1/storefronts"))["storefronts"]
    assert {s["id"]: s["branding"].get("name", "") for s in listed} == {"de": "Streamio", "us": ""}


async def test_entitlements_are_listed_with_feature_names_in_the_callers_language(shop: TenantApi) -> None:
    customer = await shop.customer("DE")
    checkout, _ = await german_checkout(shop, customer, "de-DE", uuid.uuid4().hex)
    token = checkout["consistency_token"]
    answer = await shop.call(
        "GET",
        f"/v1/customers/{customer}/entitlements?consistency_token={token}",
        headers={"Accept-Language": "de-CH"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-language"] == "de"
    names = {e["feature_key"]: e["display_name"] for e in answer.json()["entitlements"]}
    assert names["downloads"] == "Offline-Downloads"


async def test_a_malformed_accept_language_is_refused_naming_the_header(shop: TenantApi) -> None:
    answer = await shop.call("GET", "/v1/plans/family_monthly", headers={"Accept-Language": "de;q=lots"})
    assert answer.status_code == 400, answer.text
    fields = [v["field"] for d in answer.json()["error"]["details"] for v in d.get("field_violations", [])]
    assert fields == ["Accept-Language"]


async def test_the_dry_run_warns_of_locales_without_texts(shop: TenantApi) -> None:
    answer = await shop.apply_catalog(dry_run=True)
    assert answer.status_code == 200, answer.text
    warned = [w["field"] for w in answer.json()["warnings"]]
    assert "plans[4].texts.es-US" in warned and all(field.endswith("es-US") for field in warned)


async def test_grpc_callers_name_their_locale_and_get_the_locale_used(
    shop: TenantApi, channel: grpc.aio.Channel
) -> None:
    public = gateway_pb2_grpc.GatewayServiceStub(channel)
    auth = (("authorization", f"Bearer {shop.key}"),)
    plan = await public.GetPlan(gw.GetPlanRequest(plan_id="premium_monthly", locale="de-AT"), metadata=auth)
    assert (plan.content_language, plan.plan.localized.display_name) == ("de", "Premium")
    assert list(plan.plan.localized.bullets) == ["4K UHD und HDR", "100 Downloads im Monat", "Jederzeit kündbar"]

    customer = await shop.customer("DE")
    request = gw.CheckoutRequest(
        request_id=uuid.uuid4().hex,
        customer_id=customer,
        storefront_id="de",
        plan_id="family_monthly",
        channel=channel_pb2.CHANNEL_WEB,
        payment_method_token="tok_success",
        locale="de-DE",
    )
    answer = await public.Checkout(request, metadata=auth)
    assert (answer.offer.locale, answer.offer.display_price) == ("de", EURO)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await public.GetPlan(gw.GetPlanRequest(plan_id="premium_monthly", locale="de_DE"), metadata=auth)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_promotion_is_shown_in_the_callers_language(shop: TenantApi) -> None:
    manager = await shop.new_key("manager")
    promotion = {
        "display_name": "Launch offer",
        "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": 2000},
        "targets": {"plan_ids": ["family_monthly"]},
        "texts": [
            {"locale": "de", "display_name": "Startangebot", "disclosure": "20 % Rabatt auf den ersten Monat."},
            {"locale": "en", "display_name": "Launch offer", "disclosure": "20 % off the first month."},
        ],
    }
    created = await shop.ok(
        "POST", "/v1/promotions", json={"request_id": uuid.uuid4().hex, "promotion": promotion}, key=manager
    )
    promotion_id, code = created["promotion"]["id"], f"START{uuid.uuid4().hex[:6].upper()}"
    await shop.ok(
        "POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": uuid.uuid4().hex, "code": code}, key=manager
    )
    await shop.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": uuid.uuid4().hex}, key=manager)

    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": await shop.customer("AT"),
        "storefront_id": "de",
        "plan_id": "family_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
        "promotion_code": code,
    }
    answer = await shop.call("POST", "/v1/checkout", json=body, headers={"Accept-Language": "de-AT"})
    assert answer.status_code == 200, answer.text
    text = answer.json()["offer"]["promotion_text"]
    assert (text["locale"], text["display_name"]) == ("de", "Startangebot")
    assert text["disclosure"] == "20 % Rabatt auf den ersten Monat."


async def test_the_demo_shows_one_plan_in_two_languages(suite: RunningSuite, shop: TenantApi) -> None:
    output = io.StringIO()
    gateway = GatewayClient(suite.base_url, shop.key)
    try:
        table = await asyncio.to_thread(languages_table, gateway, "de", "family_monthly", ("de-DE", "en-GB"))
    finally:
        gateway.close()
    Console(file=output, width=200, emoji=False).print(table)
    shown = output.getvalue()
    assert "Familie" in shown and EURO in shown
    assert "Family" in shown and "€21.99" in shown


async def test_a_feature_renamed_in_the_catalog_is_named_so_in_entitlements_listed_from_then_on(
    shop: TenantApi,
) -> None:
    customer = await shop.customer("DE")
    checkout, _ = await german_checkout(shop, customer, "en-DE", uuid.uuid4().hex)
    path = f"/v1/customers/{customer}/entitlements?consistency_token={checkout['consistency_token']}"

    async def names() -> dict[str, str]:
        answer = await shop.call("GET", path, headers={"Accept-Language": "en"})
        assert answer.status_code == 200, answer.text
        return {e["feature_key"]: e["display_name"] for e in answer.json()["entitlements"]}

    before = (await names())["downloads"]
    manager = await shop.new_key("manager")
    body = {
        "request_id": uuid.uuid4().hex,
        "feature": {"display_name": "Take it with you"},
        "update_mask": "display_name",
    }
    renamed = await shop.call("PATCH", "/v1/features/downloads", json=body, key=manager)
    assert renamed.status_code == 200, renamed.text

    async def named_anew() -> bool:
        return (await names())["downloads"] == "Take it with you"

    # NOTE: the gateway keeps the texts until the catalog's event of the change reaches it.
    await eventually(named_anew, within=5)
    assert before != "Take it with you"
