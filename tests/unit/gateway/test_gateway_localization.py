"""The caller's language at the gateway: Accept-Language with q-values, and amounts formatted per locale (CLDR)."""

from __future__ import annotations

import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.localization import content_language, display_amount, parse_accept_language
from azotte_gateway.service_layer.localization import promotion_text
from azotte_platform.errors import InvalidArgument
from tests.unit.gateway.fakes import FakeSuite, caller


@pytest.mark.parametrize(
    ("header", "locales"),
    [
        ("de-DE", ("de-DE",)),
        ("de-AT, de;q=0.9, en;q=0.5, *;q=0.1", ("de-AT", "de", "en")),
        ("en;q=0.5, fr-CH, de;q=0.8", ("fr-CH", "de", "en")),
        ("en;q=0.5, de;q=0.5", ("en", "de")),
        ("fr;q=0, en", ("en",)),
        ("de-de, DE-at;Q=0.7", ("de-DE", "de-AT")),
        ("en, en;q=0.1", ("en",)),
        ("tlh, en", ("en",)),
        ("", ()),
        (" , *", ()),
    ],
)
def test_accept_language_ranks_by_quality_and_keeps_known_locales(header: str, locales: tuple[str, ...]) -> None:
    assert parse_accept_language(header, "locale") == locales


@pytest.mark.parametrize(
    "header",
    ["!!", "de_DE", ";q=1", "de;q=2", "de;q=-0.1", "de;q=abc", "de;q=NaN", "de;q=0.1234", "de;level=1", "de\x00"],
)
def test_a_malformed_accept_language_names_the_field(header: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_accept_language(header, "locale")
    assert [v.field for v in caught.value.violations] == ["locale"]


def test_an_accept_language_of_too_many_languages_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        parse_accept_language(", ".join(["en"] * 33), "locale")


@pytest.mark.parametrize(
    ("amount_minor", "currency", "exponent", "locale", "shown"),
    [
        (2199, "EUR", 2, "de-DE", "21,99\xa0€"),
        (2199, "EUR", 2, "de", "21,99\xa0€"),
        (2199, "EUR", 2, "de-AT", "€\xa021,99"),
        (1799, "USD", 2, "en-US", "$17.99"),
        (1799, "USD", 2, "es-US", "$17.99"),
        (123456, "EUR", 2, "fr-FR", "1\u202f234,56\xa0€"),
        (500, "JPY", 0, "ja", "￥500"),
        (1000, "BHD", 3, "en", "BHD1.000"),
    ],
)
def test_amounts_are_formatted_for_the_locale_and_currency(
    amount_minor: int, currency: str, exponent: int, locale: str, shown: str
) -> None:
    assert display_amount(amount_minor, currency, exponent, locale) == shown


def test_content_language_names_each_locale_once_in_order() -> None:
    assert content_language(["de", "en", "de", ""]) == "de, en"


# Checkout in the caller's language (use case on the fakes)


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


async def check_out(suite: FakeSuite, locale: str, request_id: str = "checkout-l10n") -> gw.CheckoutResponse:
    request = gw.CheckoutRequest(
        request_id=request_id,
        customer_id="cus_1",
        storefront_id="us",
        plan_id="basic",
        channel=channel_pb2.CHANNEL_WEB,
        payment_method_token="tok_success",
        locale=locale,
    )
    who = caller()
    with who.scope():
        return await suite.gateway().checkout.checkout(who, request)


async def test_a_checkout_answers_its_price_for_the_callers_locale_with_the_storefront_branding(
    suite: FakeSuite,
) -> None:
    answer = await check_out(suite, "de-DE, en;q=0.5")
    assert answer.offer.display_price == "9,99\xa0$"
    assert (answer.offer.branding.name, answer.offer.branding.logo_url) == (
        "Example TV",
        "https://cdn.example.com/logo.svg",
    )
    assert [(e.feature_key, e.display_name, e.display_locale) for e in answer.granted_entitlements] == [
        ("hd", "HD streaming", "en")
    ]


async def test_a_retry_in_another_language_is_the_same_checkout_in_that_language(suite: FakeSuite) -> None:
    first = await check_out(suite, "de-DE")
    again = await check_out(suite, "en-US")
    assert again.subscription.id == first.subscription.id and again.charge.id == first.charge.id
    assert (first.offer.display_price, again.offer.display_price) == ("9,99\xa0$", "$9.99")
    with caller().scope():
        assert len(suite.payments.charges_of("cus_1")) == 1


async def test_a_checkout_offers_the_price_it_charged_though_the_catalog_changed_it_meanwhile(
    suite: FakeSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = suite.catalog.ResolvePrice

    async def then_raised(request: cat.ResolvePriceRequest) -> cat.ResolvePriceResponse:
        answer = await resolve(request)
        suite.catalog.price_minor = 1_999
        return answer

    monkeypatch.setattr(suite.catalog, "ResolvePrice", then_raised)
    answer = await check_out(suite, "en-US")
    assert answer.charge.net.amount_minor == 999
    assert answer.offer.display_price == "$9.99"


async def test_a_malformed_locale_is_refused_before_anything_is_charged(suite: FakeSuite) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await check_out(suite, "de-DE;q=high")
    assert [v.field for v in caught.value.violations] == ["locale"]
    with caller().scope():
        assert suite.payments.charges_of("cus_1") == []


def test_a_promotion_text_falls_back_to_the_language_then_to_its_own_text() -> None:
    promotion = pr.Promotion(
        display_name="Launch offer",
        description="20 % off",
        texts=[pr.PromotionText(locale="de", display_name="Startangebot", disclosure="Erster Monat 20 % günstiger.")],
    )
    german = promotion_text(promotion, ["de-AT", "en"])
    assert (german.locale, german.display_name, german.disclosure) == (
        "de",
        "Startangebot",
        promotion.texts[0].disclosure,
    )
    own = promotion_text(promotion, ["fr-FR"])
    assert (own.locale, own.display_name, own.description) == ("", "Launch offer", "20 % off")
