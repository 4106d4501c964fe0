"""BCP 47 locale tags, read by Babel (CLDR) and never by hand: one canonical spelling per locale, and the
tags a lookup falls back through (RFC 4647: 'de-AT' -> 'de')."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError


class LocaleProblem(ValueError):
    """A tag that names no locale this platform can serve."""


class MalformedLocale(LocaleProblem):
    """Not a BCP 47 language tag ('de_DE', '!!', '')."""


class UnknownLocale(LocaleProblem):
    """A well-formed tag CLDR has no data for ('tlh', 'xx-YY'): no text or format can be in it."""


def canonical_locale(tag: str) -> str:
    """The canonical spelling of a locale CLDR knows: 'de-at' -> 'de-AT', 'zh-hant-tw' -> 'zh-Hant-TW'."""
    try:
        parsed = Locale.parse(tag, sep="-")
    except UnknownLocaleError as error:
        raise UnknownLocale(f"{tag!r} is not a locale CLDR knows") from error
    except (ValueError, TypeError) as error:
        raise MalformedLocale(f"{tag!r} is not a BCP 47 language tag (e.g. 'de-DE')") from error
    return "-".join(part for part in (parsed.language, parsed.script, parsed.territory, parsed.variant) if part)


def parents(tag: str) -> tuple[str, ...]:
    """The more general tags of a canonical tag, most specific first: 'zh-Hant-TW' -> ('zh-Hant', 'zh')."""
    parts = tag.split("-")
    return tuple("-".join(parts[:n]) for n in range(len(parts) - 1, 0, -1))


def lineage(tag: str) -> tuple[str, ...]:
    """A tag and its parents: 'de-AT' -> ('de-AT', 'de')."""
    return (tag, *parents(tag))


def lookup_chain(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags a text lookup tries, in order: each tag followed by its parents, each once.

    ('de-AT', 'en-GB') -> ('de-AT', 'de', 'en-GB', 'en').
    """
    chain: dict[str, None] = {}
    for tag in tags:
        chain.update(dict.fromkeys(lineage(tag)))
    return tuple(chain)
