"""Localized texts and storefront branding in the catalog: fallback, validation, document, diff and coverage."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte_catalog.domain.branding import Branding
from azotte_catalog.domain.catalog import Catalog
from azotte_catalog.domain.diff import Change, ResourceKind, diff_catalog
from azotte_catalog.domain.document import export_document, normalize_document, parse_document
from azotte_catalog.domain.texts import (
    LocalizedText,
    canonical_tag,
    fallback_chain,
    resolve_text,
    texts_of,
)
from azotte_platform.errors import InvalidArgument

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Document = dict[str, Any]


def localized_document() -> Document:
    """Two storefronts, three locales (de-DE, de-AT, en-GB), a plan and a feature with texts."""
    return {
        "default_locale": "en",
        "storefronts": [
            {
                "id": "de",
                "name": "Deutschland",
                "country": "DE",
                "currency": "EUR",
                "locales": ["de-DE", "en-GB"],
                "channels": ["web"],
                "tax": {"mode": "inclusive", "rate": "0.19"},
                "payment_routing": {"fallback": ["adyen"]},
                "disclosure_required": True,
                "branding": {
                    "name": "Streamio",
                    "logo_url": "https://cdn.example.com/de/logo.svg",
                    "primary_color": "#E50914",
                    "support_email": "hilfe@example.com",
                    "terms_url": "https://example.com/de/agb",
                    "privacy_url": "https://example.com/de/datenschutz",
                },
            },
            {
                "id": "at",
                "name": "Österreich",
                "country": "AT",
                "currency": "EUR",
                "locales": ["de-AT"],
                "channels": ["web"],
                "tax": {"mode": "inclusive", "rate": "0.20"},
                "payment_routing": {"fallback": ["adyen"]},
            },
        ],
        "features": [
            {
                "key": "hd_streaming",
                "name": "HD streaming",
                "kind": "boolean",
                "texts": {"de": {"name": "HD-Streaming"}},
            },
        ],
        "plans": [
            {
                "id": "premium",
                "name": "Premium",
                "family": "ott",
                "rank": 20,
                "interval": {"unit": "month"},
                "status": "active",
                "features": [{"key": "hd_streaming"}],
                "texts": {
                    "de": {
                        "name": "Premium",
                        "description": "Alles in HD",
                        "bullets": ["Ohne Werbung", "Jederzeit kündbar"],
                        "disclosure": "Verlängert sich monatlich, bis du kündigst.",
                    },
                    "en": {"name": "Premium", "disclosure": "Renews monthly until you cancel."},
                },
            },
        ],
        "prices": [
            {"plan": "premium", "storefront": "de", "amount_minor": 2199},
            {"plan": "premium", "storefront": "at", "amount_minor": 2199},
        ],
    }


def violations(doc: Document) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_document(doc)
    return {v.field: v.description for v in caught.value.violations}


# Fallback


def test_fallback_chain_goes_from_region_to_language_to_storefront_to_default() -> None:
    assert fallback_chain(["de-AT"], ["de-DE", "en-GB"], "en") == ("de-AT", "de", "de-DE", "en")
    assert fallback_chain(["fr-CH", "de-AT"], [], "en") == ("fr-CH", "fr", "de-AT", "de", "en")
    assert fallback_chain([], ["en-GB"], "en") == ("en-GB", "en")


def test_resolve_prefers_the_most_specific_text_and_reports_the_locale_used() -> None:
    texts = texts_of({"de": LocalizedText("Premium DE"), "de-AT": LocalizedText("Premium AT")})
    assert resolve_text(texts, "Premium", fallback_chain(["de-AT"], [], "en"), "en").locale == "de-AT"
    resolved = resolve_text(texts, "Premium", fallback_chain(["de-CH"], [], "en"), "en")
    assert (resolved.locale, resolved.text.name) == ("de", "Premium DE")


def test_resolve_falls_back_to_the_storefront_then_to_the_resource_name_in_the_default_locale() -> None:
    texts = texts_of({"de-DE": LocalizedText("Premium DE")})
    assert resolve_text(texts, "Premium", fallback_chain(["fr"], ["de-DE"], "en"), "en").locale == "de-DE"
    resolved = resolve_text(texts, "Premium", fallback_chain(["fr"], [], "en"), "en")
    assert (resolved.locale, resolved.text.name) == ("en", "Premium")


@pytest.mark.parametrize(("tag", "canonical"), [("de-at", "de-AT"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")])
def test_locale_tags_are_canonicalized_by_babel(tag: str, canonical: str) -> None:
    assert canonical_tag(tag) == canonical


@pytest.mark.parametrize("tag", ["", "!!", "de_DE", "xx-YY", "en-US-x-private", "de\x00"])
def test_malformed_or_unknown_locale_tags_are_refused(tag: str) -> None:
    assert canonical_tag(tag) is None


# The document


def test_texts_and_branding_round_trip_through_export() -> None:
    doc = localized_document()
    catalog = diff_catalog(Catalog(), parse_document(doc), NOW).result
    exported = export_document(catalog)
    # NOTE: prices are left out: an export dates the first prices, which the document left undated.
    assert {**exported, "prices": []} == {**normalize_document(doc), "prices": []}
    premium = exported["plans"][0]
    assert premium["texts"]["de"]["bullets"] == ["Ohne Werbung", "Jederzeit kündbar"]
    assert exported["features"][0]["texts"] == {"de": {"name": "HD-Streaming"}}
    assert exported["storefronts"][1]["branding"]["logo_url"] == "https://cdn.example.com/de/logo.svg"
    assert exported["storefronts"][1]["disclosure_required"] is True
    assert exported["default_locale"] == "en"


def test_a_missing_required_disclosure_is_refused_naming_its_path() -> None:
    doc = localized_document()
    del doc["plans"][0]["texts"]["de"]["disclosure"]
    problems = violations(doc)
    assert "plans[0].texts.de.disclosure" in problems
    assert "storefront 'de'" in problems["plans[0].texts.de.disclosure"]


def test_a_missing_disclosure_without_a_text_names_the_storefront_locale() -> None:
    doc = localized_document()
    del doc["plans"][0]["texts"]["en"]
    assert "plans[0].texts.en-GB.disclosure" in violations(doc)


def test_disclosures_are_not_required_where_the_storefront_does_not_ask() -> None:
    doc = localized_document()
    doc["storefronts"][0]["disclosure_required"] = False
    for text in doc["plans"][0]["texts"].values():
        text.pop("disclosure")
    parse_document(doc)


def test_missing_texts_are_warnings_per_resource_and_locale() -> None:
    doc = localized_document()
    doc["storefronts"][1]["locales"] = ["de-AT", "fr-FR"]
    diff = diff_catalog(Catalog(), parse_document(doc), NOW)
    warned = {w.field for w in diff.warnings}
    # NOTE: de-AT is covered by `de`, en-GB by the names (the default locale is en); fr-FR by nothing.
    assert warned == {"plans[0].texts.fr-FR", "features[0].texts.fr-FR"}
    assert all("storefront 'at'" in w.description for w in diff.warnings)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["plans"][0]["texts"].update({"de_DE": {"name": "x"}}), "plans[0].texts.de_DE"),
        (lambda d: d["plans"][0]["texts"].update({"de-de": {"name": "x"}}), "plans[0].texts.de-de"),
        (lambda d: d["plans"][0]["texts"]["de"].update({"name": " "}), "plans[0].texts.de.name"),
        (lambda d: d["plans"][0]["texts"]["de"].update({"bullets": ["x"] * 11}), "plans[0].texts.de.bullets"),
        (lambda d: d["plans"][0]["texts"]["de"].update({"description": "x" * 2001}), "plans[0].texts.de.description"),
        (lambda d: d["plans"][0]["texts"]["de"].update({"colour": "red"}), "plans[0].texts.de.colour"),
        (lambda d: d["plans"][0].update({"texts": ["de"]}), "plans[0].texts"),
        (lambda d: d["features"][0]["texts"]["de"].update({"bullets": ["x"]}), "features[0].texts.de.bullets"),
        (lambda d: d["storefronts"][0]["locales"].append("klingon"), "storefronts[0].locales[2]"),
        (lambda d: d.update({"default_locale": "xx"}), "default_locale"),
        (
            lambda d: d["storefronts"][0]["branding"].update({"logo_url": "http://x.com/a.png"}),
            "storefronts[0].branding.logo_url",
        ),
        (
            lambda d: d["storefronts"][0]["branding"].update({"terms_url": "javascript:alert(1)"}),
            "storefronts[0].branding.terms_url",
        ),
        (
            lambda d: d["storefronts"][0]["branding"].update({"primary_color": "#GG0000"}),
            "storefronts[0].branding.primary_color",
        ),
        (
            lambda d: d["storefronts"][0]["branding"].update({"accent_color": "red"}),
            "storefronts[0].branding.accent_color",
        ),
        (
            lambda d: d["storefronts"][0]["branding"].update({"support_email": "not an email"}),
            "storefronts[0].branding.support_email",
        ),
        (lambda d: d["storefronts"][0]["branding"].update({"font": "Arial"}), "storefronts[0].branding.font"),
    ],
)
def test_bad_texts_locales_and_branding_name_their_field(change: Any, field: str) -> None:
    doc = localized_document()
    change(doc)
    assert field in violations(doc)


def test_the_dry_run_diff_names_the_texts_and_branding_that_change() -> None:
    doc = localized_document()
    catalog = diff_catalog(Catalog(), parse_document(doc), NOW).result
    changed = copy.deepcopy(doc)
    changed["plans"][0]["texts"]["de"]["name"] = "Premium Plus"
    changed["plans"][0]["texts"]["fr"] = {"name": "Premium", "disclosure": "Se renouvelle chaque mois."}
    changed["storefronts"][0]["branding"]["primary_color"] = "#000000"
    changed["default_locale"] = "de"
    diff = diff_catalog(catalog, parse_document(changed), NOW + timedelta(days=1))
    updated = {(e.kind, e.id): e.fields for e in diff.of(Change.UPDATED)}
    assert updated == {
        (ResourceKind.PLAN, "premium"): ("texts.de", "texts.fr"),
        (ResourceKind.STOREFRONT, "de"): ("branding.primary_color",),
        (ResourceKind.CATALOG, "catalog"): ("default_locale",),
    }
    assert diff.result.default_locale == "de"


def test_branding_fields_are_optional_and_exported_only_when_set() -> None:
    assert Branding(name="Streamio").as_dict() == {"name": "Streamio"}
    doc = localized_document()
    del doc["storefronts"][0]["branding"]
    exported = normalize_document(doc)
    assert "branding" not in exported["storefronts"][1]
