"""Whether a document's texts cover the locales of the storefronts that sell its plans.

A missing text is a warning (readers get the fallback); a missing disclosure in a storefront that requires
one is an error, because the storefront may not sell without showing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from azotte_platform.errors import FieldViolation
from azotte_platform.locales import lineage

from .catalog import CatalogDocument
from .storefront import Storefront
from .texts import Texts, covered, disclosure_locale
from .validation import Violations, join


@dataclass(frozen=True)
class _Reader:
    """A resource shown in a storefront's locale: where it sits in the document, and its texts."""

    path: str
    texts: Texts
    storefront: Storefront
    locale: str


def text_warnings(doc: CatalogDocument) -> tuple[FieldViolation, ...]:
    """One warning per (resource, locale) a storefront shows without a text in that locale's language."""
    found: dict[str, FieldViolation] = {}
    for r in _shown(doc):
        if covered(r.texts, r.locale, doc.default_locale):
            continue
        path = join(join(r.path, "texts"), r.locale)
        if path not in found:
            message = (
                f"no text for locale {r.locale} (storefront {r.storefront.id!r}); readers get the fallback "
                f"(the storefront's first locale, then {doc.default_locale})"
            )
            found[path] = FieldViolation(path, message)
    return tuple(found.values())


def check_disclosures(doc: CatalogDocument) -> Violations:
    """Errors for each plan priced in a storefront that requires a disclosure without one in each of its locales."""
    v = Violations()
    seen: set[str] = set()
    for r in _shown(doc):
        if not r.storefront.disclosure_required or not r.path.startswith("plans"):
            continue
        if disclosure_locale(r.texts, r.locale) is not None:
            continue
        # NOTE: the path names the text a reader in that locale gets (de-AT is served from de when only de exists).
        have = {tag for tag, _ in r.texts}
        tag = next((t for t in lineage(r.locale) if t in have), r.locale)
        path = join(join(join(r.path, "texts"), tag), "disclosure")
        if path not in seen:
            seen.add(path)
            v.add(path, f"required: storefront {r.storefront.id!r} shows the renewal terms in {r.locale}")
    return v


def _shown(doc: CatalogDocument) -> Iterator[_Reader]:
    """Every plan priced in a storefront, then every feature those plans grant, once per storefront locale."""
    storefronts = {s.id: s for s in doc.storefronts}
    selling: dict[str, list[Storefront]] = {}
    for price in doc.prices:
        storefront = storefronts.get(price.key.storefront_id)
        shops = selling.setdefault(price.key.plan_id, [])
        if storefront is not None and storefront not in shops:
            shops.append(storefront)
    features: dict[str, list[Storefront]] = {}
    for i, plan in enumerate(doc.plans):
        for storefront in selling.get(plan.id, ()):
            yield from (_Reader(join("plans", i), plan.texts, storefront, tag) for tag in storefront.locales)
            for grant in plan.grants:
                shops = features.setdefault(grant.feature_key, [])
                if storefront not in shops:
                    shops.append(storefront)
    for j, feature in enumerate(doc.features):
        for storefront in features.get(feature.key, ()):
            yield from (_Reader(join("features", j), feature.texts, storefront, tag) for tag in storefront.locales)
