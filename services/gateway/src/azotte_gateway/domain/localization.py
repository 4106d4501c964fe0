"""The caller's language: an Accept-Language value parsed with its q-values, and amounts formatted for display.

Locale tags are read by Babel (CLDR), never by hand: a malformed tag or q-value is INVALID_ARGUMENT naming the
request's field; a well-formed tag CLDR does not know is skipped, since no text or format can be in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import format_currency

from azotte_platform.errors import InvalidArgument
from azotte_platform.locales import MalformedLocale, UnknownLocale, canonical_locale

MAX_LANGUAGES = 32
_MAX_Q_DIGITS = 3


def parse_accept_language(value: str, field: str) -> tuple[str, ...]:
    """The canonical locale tags of an Accept-Language value (or of one tag), best first (RFC 9110 §12.5.4).

    `de-AT, de;q=0.9, en;q=0.5, *;q=0.1` -> ('de-AT', 'de', 'en'): `*` and q=0 entries are left out, equal
    q-values keep their order.
    """
    ranked: list[tuple[Decimal, int, str]] = []
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if len(entries) > MAX_LANGUAGES:
        raise InvalidArgument.field(field, f"at most {MAX_LANGUAGES} languages")
    for position, entry in enumerate(entries):
        tag, *parameters = (part.strip() for part in entry.split(";"))
        q = _quality(parameters, field, entry)
        if tag == "*" or q == 0:
            continue
        locale = _locale(tag, field)
        if locale is not None and locale not in (known for _, _, known in ranked):
            ranked.append((-q, position, locale))
    return tuple(locale for _, _, locale in sorted(ranked))


def content_language(locales: Iterable[str]) -> str:
    """A Content-Language value naming each locale once, in order (`de, en`)."""
    return ", ".join(dict.fromkeys(tag for tag in locales if tag))


def display_amount(amount_minor: int, currency: str, exponent: int, locale: str) -> str:
    """An amount in minor units as a reader in `locale` expects to see it (CLDR): 2199 EUR in de-DE -> '21,99 €'."""
    return format_currency(Decimal(amount_minor).scaleb(-exponent), currency, locale=Locale.parse(locale, sep="-"))


def _quality(parameters: list[str], field: str, entry: str) -> Decimal:
    q = Decimal(1)
    for parameter in parameters:
        name, _, text = parameter.partition("=")
        if name.strip().lower() != "q":
            raise InvalidArgument.field(field, f"{entry!r}: only a q parameter is allowed")
        try:
            q = Decimal(text.strip())
        except InvalidOperation:
            q = Decimal(-1)
        exponent = q.as_tuple().exponent
        if not q.is_finite() or not 0 <= q <= 1 or (isinstance(exponent, int) and -exponent > _MAX_Q_DIGITS):
            raise InvalidArgument.field(field, f"{entry!r}: q must be a number from 0 to 1 with at most 3 decimals")
    return q


def _locale(tag: str, field: str) -> str | None:
    try:
        return canonical_locale(tag)
    except UnknownLocale:
        return None
    except MalformedLocale as error:
        raise InvalidArgument.field(field, str(error)) from None
