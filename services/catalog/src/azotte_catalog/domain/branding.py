"""A storefront's branding: what a paywall or checkout page shows of the storefront's identity."""

from __future__ import annotations

import string
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from .validation import Violations, join

MAX_URL = 2048
MAX_NAME = 200
COLORS = ("primary_color", "accent_color", "background_color", "text_color")
URLS = ("logo_url", "support_url", "terms_url", "privacy_url")


@dataclass(frozen=True)
class Branding:
    """Every field is optional ("" = not set); URLs are https, colours `#RRGGBB` (or `#RGB`)."""

    name: str = ""
    logo_url: str = ""
    primary_color: str = ""
    accent_color: str = ""
    background_color: str = ""
    text_color: str = ""
    support_email: str = ""
    support_url: str = ""
    terms_url: str = ""
    privacy_url: str = ""

    def as_dict(self) -> dict[str, str]:
        """The fields that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def validate_branding(v: Violations, path: str, branding: Branding) -> None:
    """Field violations of a storefront's branding."""
    if len(branding.name) > MAX_NAME or (branding.name and not branding.name.strip()):
        v.add(join(path, "name"), f"must be non-blank and at most {MAX_NAME} characters")
    for name in URLS:
        value = getattr(branding, name)
        if value:
            problem = _url_problem(value)
            if problem:
                v.add(join(path, name), problem)
    for name in COLORS:
        value = getattr(branding, name)
        if value and not _is_hex_color(value):
            v.add(join(path, name), f"{value!r} is not a hex colour like '#E50914' or '#FFF'")
    if branding.support_email and not _is_email(branding.support_email):
        v.add(join(path, "support_email"), f"{branding.support_email!r} is not an email address")


def _url_problem(value: str) -> str | None:
    if len(value) > MAX_URL:
        return f"at most {MAX_URL} characters"
    try:
        parts = urlsplit(value)
    except ValueError as error:
        return f"not a URL: {error}"
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        return f"{value!r} must be an https URL (e.g. 'https://example.com/logo.svg')"
    return None


def _is_hex_color(value: str) -> bool:
    digits = value[1:]
    return value.startswith("#") and len(digits) in (3, 6) and all(c in string.hexdigits for c in digits)


def _is_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    return (
        bool(at and local)
        and len(value) <= 254
        and not any(c.isspace() or c in "<>,;\"'" for c in value)
        and len(labels) >= 2
        and all(labels)
    )
