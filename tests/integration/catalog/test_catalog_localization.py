"""Localized texts and branding on the catalog service: apply, export, dry-run diff, localized reads."""

from __future__ import annotations

from typing import Any

import yaml

from azotte.catalog.v1 import catalog_pb2 as pb
from tests.integration.catalog.catalog_support import TenantStub, example, example_data, invalid_fields

# NOTE: docs/examples/ott-catalog.yaml has two storefronts in four locales (en-US, es-US, de-DE, en-DE), German
# and English texts with disclosures, and a DE storefront that carries its branding.
FAMILY = 4  # plans[4] is family_monthly


def apply_request(document: str | dict[str, Any], request_id: str = "", validate_only: bool = False) -> Any:
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    return pb.ApplyCatalogRequest(
        document=text, format=pb.DOCUMENT_FORMAT_YAML, validate_only=validate_only, request_id=request_id
    )


def language(*locales: str, storefront_id: str = "") -> pb.TextPreference:
    return pb.TextPreference(locales=locales, storefront_id=storefront_id)


async def test_a_localized_document_applies_with_warnings_and_exports_its_texts(tenant: TenantStub) -> None:
    applied = await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "l10n-1"))
    assert applied.applied
    # NOTE: es-US has no Spanish text: a warning per plan and feature, never an error.
    warned = {w.field for w in applied.warnings}
    assert f"plans[{FAMILY}].texts.es-US" in warned and "features[0].texts.es-US" in warned
    assert all("es-US" in field for field in warned)

    exported = yaml.safe_load((await tenant.ExportCatalog(pb.ExportCatalogRequest())).document)
    family = next(p for p in exported["plans"] if p["id"] == "family_monthly")
    assert family["texts"]["de"]["name"] == "Familie"
    assert family["texts"]["en"]["disclosure"].startswith("The subscription renews monthly")
    de = next(s for s in exported["storefronts"] if s["id"] == "de")
    assert de["branding"]["logo_url"] == "https://cdn.example.com/streamio/de/logo.svg"
    assert exported["default_locale"] == "en"

    again = await tenant.ApplyCatalog(apply_request(yaml.safe_dump(exported, allow_unicode=True), "l10n-2"))
    assert {c.change_type for c in again.changes} == {pb.CHANGE_TYPE_UNCHANGED}


async def test_a_dry_run_shows_which_texts_change_and_writes_nothing(tenant: TenantStub) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "base"))
    document = example_data("ott-catalog.yaml")
    document["plans"][FAMILY]["texts"]["de"]["name"] = "Familie Plus"
    document["plans"][FAMILY]["texts"]["es"] = {"name": "Familia"}
    document["storefronts"][1]["branding"]["primary_color"] = "#00A8E1"
    preview = await tenant.ApplyCatalog(apply_request(document, validate_only=True))
    updated = {
        (c.resource_type, c.resource_id): list(c.changed_fields)
        for c in preview.changes
        if c.change_type == pb.CHANGE_TYPE_UPDATED
    }
    assert updated == {
        ("plan", "family_monthly"): ["texts.de", "texts.es"],
        ("storefront", "de"): ["branding.primary_color"],
    }
    assert not preview.applied
    assert f"plans[{FAMILY}].texts.es-US" not in {w.field for w in preview.warnings}
    plan = (await tenant.GetPlan(pb.GetPlanRequest(id="family_monthly", language=language("de-DE")))).plan
    assert plan.localized.display_name == "Familie"


async def test_a_missing_required_disclosure_is_refused_naming_its_path(tenant: TenantStub) -> None:
    document = example_data("ott-catalog.yaml")
    document["storefronts"][1]["disclosure_required"] = True
    await tenant.ApplyCatalog(apply_request(document, "required"))
    del document["plans"][FAMILY]["texts"]["de"]["disclosure"]
    fields = await invalid_fields(tenant.ApplyCatalog(apply_request(document, "no-disclosure")))
    assert fields == [f"plans[{FAMILY}].texts.de.disclosure"]
    exported = yaml.safe_load((await tenant.ExportCatalog(pb.ExportCatalogRequest())).document)
    de = next(s for s in exported["storefronts"] if s["id"] == "de")
    assert de["disclosure_required"] is True
    assert next(p for p in exported["plans"] if p["id"] == "family_monthly")["texts"]["de"]["disclosure"]


async def test_reads_answer_in_the_callers_language_with_the_locale_used(tenant: TenantStub) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "reads"))

    async def plan_text(*locales: str, storefront_id: str = "") -> tuple[str, str]:
        request = pb.GetPlanRequest(id="family_monthly", language=language(*locales, storefront_id=storefront_id))
        localized = (await tenant.GetPlan(request)).plan.localized
        return localized.locale, localized.display_name

    assert await plan_text("de-AT") == ("de", "Familie")
    assert await plan_text("fr-FR", storefront_id="de") == ("de", "Familie")
    assert await plan_text("fr-FR") == ("en", "Family")
    assert await plan_text() == ("en", "Family")

    plans = (await tenant.ListPlans(pb.ListPlansRequest(language=language("de")))).plans
    assert {p.id: p.localized.display_name for p in plans}["premium_annual"] == "Premium (jährlich)"
    premium = next(p for p in plans if p.id == "premium_monthly")
    assert list(premium.localized.bullets)[-1] == "Jederzeit kündbar"
    assert len(premium.texts) == 2

    features = (await tenant.ListFeatures(pb.ListFeaturesRequest(language=language("de-CH")))).features
    assert {f.key: (f.localized.locale, f.localized.display_name) for f in features}["family_seats"] == (
        "de",
        "Familienmitglieder",
    )

    storefront = (await tenant.GetStorefront(pb.GetStorefrontRequest(id="de"))).storefront
    assert (storefront.branding.name, storefront.branding.terms_url) == ("Streamio", "https://streamio.example/de/agb")


async def test_an_unknown_locale_in_a_read_names_its_field(tenant: TenantStub) -> None:
    await tenant.ApplyCatalog(apply_request(example("ott-catalog.yaml"), "bad-locale"))
    request = pb.GetPlanRequest(id="family_monthly", language=language("de-DE", "not a locale"))
    assert await invalid_fields(tenant.GetPlan(request)) == ["language.locales[1]"]
