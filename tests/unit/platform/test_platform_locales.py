"""BCP 47 locale tags read by Babel: canonical spelling, malformed versus unknown tags, and lookup parents."""

from __future__ import annotations

import pytest

from azotte_platform.locales import MalformedLocale, UnknownLocale, canonical_locale, lineage, lookup_chain, parents


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("de", "de"),
        ("de-at", "de-AT"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sr-Latn-RS", "sr-Latn-RS"),
    ],
)
def test_known_locales_have_one_canonical_spelling(tag: str, canonical: str) -> None:
    assert canonical_locale(tag) == canonical


@pytest.mark.parametrize("tag", ["", "!!", "de_DE", "en-US-x-private", "de\x00", "d e"])
def test_what_is_not_a_language_tag_is_malformed(tag: str) -> None:
    with pytest.raises(MalformedLocale):
        canonical_locale(tag)


@pytest.mark.parametrize("tag", ["tlh", "xx-YY", "i-klingon"])
def test_a_well_formed_tag_cldr_does_not_know_is_unknown(tag: str) -> None:
    with pytest.raises(UnknownLocale):
        canonical_locale(tag)


def test_a_lookup_falls_back_from_the_most_specific_tag() -> None:
    assert parents("zh-Hant-TW") == ("zh-Hant", "zh")
    assert parents("de") == ()
    assert lineage("de-AT") == ("de-AT", "de")
    assert lookup_chain(["de-AT", "de-CH", "en-GB", "de"]) == ("de-AT", "de", "de-CH", "en-GB", "en")
