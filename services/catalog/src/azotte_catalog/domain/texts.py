"""Localized texts: what plans and features say in each BCP 47 locale, and the fallback chain that picks one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from azotte_platform.locales import LocaleProblem, canonical_locale, lineage, lookup_chain

from .validation import Violations, check_name, join

DEFAULT_LOCALE = "en"
MAX_DESCRIPTION = 2000
MAX_BULLETS = 10
MAX_BULLET = 200
MAX_DISCLOSURE = 4000


@dataclass(frozen=True)
class LocalizedText:
    """A resource's texts in one locale; a storefront that requires it shows `disclosure` before a purchase."""

    name: str
    description: str = ""
    bullets: tuple[str, ...] = ()
    disclosure: str = ""
    """The renewal and cancellation terms (e.g. "renews monthly at 21,99 € until cancelled")."""


Texts = tuple[tuple[str, LocalizedText], ...]
"""Texts by locale tag, sorted by tag (a tuple, so resources stay hashable and compare by value)."""


def texts_of(by_locale: Mapping[str, LocalizedText]) -> Texts:
    """Texts in their canonical order."""
    return tuple(sorted(by_locale.items()))


@dataclass(frozen=True)
class ResolvedText:
    """The text a reader gets, and the locale it is actually in."""

    locale: str
    text: LocalizedText


def canonical_tag(tag: str) -> str | None:
    """The canonical BCP 47 spelling of a locale Babel (CLDR) knows ('de-at' -> 'de-AT'), or None."""
    try:
        return canonical_locale(tag)
    except LocaleProblem:
        return None


def check_locale(v: Violations, path: str, tag: str) -> None:
    """A locale tag Babel knows, written canonically (so that texts are looked up by one spelling)."""
    canonical = canonical_tag(tag)
    if canonical is None:
        v.add(path, f"{tag!r} is not a known BCP 47 locale (e.g. 'de-DE', 'de', 'pt-BR')")
    elif canonical != tag:
        v.add(path, f"{tag!r} must be written {canonical!r}")


def fallback_chain(requested: Iterable[str], storefront_locales: Sequence[str], default_locale: str) -> tuple[str, ...]:
    """The locales a read tries, in order: each requested one and its parents (de-AT -> de), then the
    storefront's first locale, then the catalog's default locale; each once."""
    return lookup_chain((*requested, *storefront_locales[:1], default_locale))


def resolve_text(texts: Texts, default_name: str, chain: Sequence[str], default_locale: str) -> ResolvedText:
    """The first text of the chain; without one, the resource's own name, which is in the default locale."""
    by_locale = dict(texts)
    for tag in chain:
        if tag in by_locale:
            return ResolvedText(tag, by_locale[tag])
    return ResolvedText(default_locale, LocalizedText(name=default_name))


def covered(texts: Texts, tag: str, default_locale: str) -> bool:
    """Whether a reader in `tag` gets text in its own language: a text of it or of a parent, or the
    resource's own name when the catalog's default locale is of that lineage."""
    mine = set(lineage(tag))
    return any(locale in mine for locale, _ in texts) or bool(mine & set(lineage(default_locale)))


def disclosure_locale(texts: Texts, tag: str) -> str | None:
    """The locale whose disclosure a reader in `tag` is shown (None when no text of its lineage has one)."""
    by_locale = dict(texts)
    return next((t for t in lineage(tag) if t in by_locale and by_locale[t].disclosure.strip()), None)


def validate_texts(v: Violations, path: str, texts: Texts, *, full: bool) -> None:
    """Each locale tag and its text; `full` texts (plans) may carry bullets and a disclosure, others not."""
    for tag, text in texts:
        at = join(path, tag)
        check_locale(v, at, tag)
        check_name(v, join(at, "name"), text.name)
        if len(text.description) > MAX_DESCRIPTION:
            v.add(join(at, "description"), f"at most {MAX_DESCRIPTION} characters")
        if len(text.disclosure) > MAX_DISCLOSURE:
            v.add(join(at, "disclosure"), f"at most {MAX_DISCLOSURE} characters")
        if len(text.bullets) > MAX_BULLETS:
            v.add(join(at, "bullets"), f"at most {MAX_BULLETS} bullets")
        for i, bullet in enumerate(text.bullets):
            if not bullet.strip() or len(bullet) > MAX_BULLET:
                v.add(join(join(at, "bullets"), i), f"must be non-blank and at most {MAX_BULLET} characters")
        if not full:
            if text.bullets:
                v.add(join(at, "bullets"), "only plans have marketing bullets")
            if text.disclosure:
                v.add(join(at, "disclosure"), "only plans have a disclosure")
