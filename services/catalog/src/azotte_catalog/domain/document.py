"""Catalog as code: parse a document (YAML/JSON → dict) into domain objects, and export it back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import yaml

from azotte_catalog.errors import CatalogDocumentUnreadable
from azotte_platform.enums import Channel

from .branding import Branding
from .catalog import Catalog, CatalogDocument, PriceEntry, validate_document
from .coverage import check_disclosures
from .feature import Feature, FeatureKind, ResetPeriod
from .mapping import ChannelMapping
from .plan import BillingInterval, FeatureGrant, IntervalUnit, Plan, PlanStatus
from .price import ExistingSubscribers, PriceKey
from .reader import Reader
from .storefront import PaymentRouting, RoutingCondition, RoutingRule, Storefront, TaxMode, TaxPolicy
from .texts import DEFAULT_LOCALE, LocalizedText, Texts, texts_of
from .validation import Violations, join

DOCUMENT_VERSION = 1
Document = dict[str, Any]


class DocumentFormat(StrEnum):
    """How a catalog document is written."""

    YAML = "yaml"
    JSON = "json"


# NOTE: `lifecycle_policy` belongs to lifecycle (it owns the policy) and `promotions` to promotions: the catalog
# accepts these sections and leaves them alone; the gateway's apply hands each to its owner.
_TOP = frozenset(
    {
        "version",
        "default_locale",
        "storefronts",
        "features",
        "plans",
        "prices",
        "channel_mappings",
        "lifecycle_policy",
        "promotions",
    }
)
_STOREFRONT = frozenset(
    {
        "id",
        "name",
        "country",
        "currency",
        "locales",
        "channels",
        "tax",
        "payment_routing",
        "price_increase_notice_days",
        "price_increase_consent_required",
        "disclosure_required",
        "branding",
    }
)
_BRANDING = frozenset(Branding.__dataclass_fields__)
_TAX = frozenset({"mode", "rate"})
_ROUTING = frozenset({"rules", "fallback", "store_commission"})
_COMMISSION = frozenset(str(channel) for channel in Channel)
_RULE = frozenset({"psps", "when"})
_WHEN = frozenset({"currencies", "countries", "payment_method_types", "min_amount_minor", "max_amount_minor"})
_FEATURE = frozenset({"key", "name", "kind", "unit", "reset_period", "texts"})
_FEATURE_TEXT = frozenset({"name", "description"})
_PLAN = frozenset(
    {"id", "name", "family", "rank", "interval", "trial_days", "status", "add_on", "add_ons", "features", "texts"}
)
_PLAN_TEXT = frozenset({"name", "description", "bullets", "disclosure"})
_INTERVAL = frozenset({"unit", "count"})
_GRANT = frozenset({"key", "limit"})
_PRICE = frozenset(
    {"plan", "storefront", "channel", "amount_minor", "currency", "effective_from", "existing_subscribers"}
)
_MAPPING = frozenset({"channel", "external_product_id", "plan", "storefront"})


def load_document_text(text: str, fmt: DocumentFormat) -> object:
    """The data written in a YAML or JSON document, or InvalidArgument on field `document`."""
    try:
        return yaml.safe_load(text) if fmt is DocumentFormat.YAML else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise CatalogDocumentUnreadable.field("document", f"not valid {fmt}: {exc}") from exc


def parse_document(data: object) -> CatalogDocument:
    """A validated CatalogDocument, or InvalidArgument listing every violation with its field path."""
    v = Violations()
    top = Reader(data, "", v, _TOP)
    if top.int_("version", DOCUMENT_VERSION) != DOCUMENT_VERSION:
        v.add("version", f"unsupported; this service reads version {DOCUMENT_VERSION}")
    storefronts = tuple(
        _storefront(Reader(d, join("storefronts", i), v, _STOREFRONT)) for i, d in _items(top, "storefronts")
    )
    doc = CatalogDocument(
        storefronts=storefronts,
        features=tuple(_feature(Reader(d, join("features", i), v, _FEATURE)) for i, d in _items(top, "features")),
        plans=tuple(_plan(Reader(d, join("plans", i), v, _PLAN)) for i, d in _items(top, "plans")),
        prices=tuple(_price(Reader(d, join("prices", i), v, _PRICE), storefronts) for i, d in _items(top, "prices")),
        mappings=tuple(
            _mapping(Reader(d, join("channel_mappings", i), v, _MAPPING)) for i, d in _items(top, "channel_mappings")
        ),
        default_locale=top.str_("default_locale", DEFAULT_LOCALE),
    )
    # NOTE: an object with malformed fields is not validated further, so its placeholders add no noise.
    malformed = {_object_path(item.field) for item in v.items}
    semantic = [*validate_document(doc).items, *check_disclosures(doc).items]
    v.items.extend(item for item in semantic if _object_path(item.field) not in malformed)
    v.raise_if_any("catalog document")
    return doc


def normalize_document(data: object) -> Document:
    """The canonical form of a document: defaults filled in, entries sorted, times in UTC."""
    return document_to_dict(parse_document(data))


def export_document(catalog: Catalog) -> Document:
    """A stored catalog as a document (every price version, with its effective time)."""
    return document_to_dict(
        CatalogDocument(
            storefronts=catalog.storefronts,
            features=catalog.features,
            plans=catalog.plans,
            prices=tuple(
                PriceEntry(p.key, p.amount_minor, p.effective_from, p.existing_subscribers) for p in catalog.prices
            ),
            mappings=catalog.mappings,
            default_locale=catalog.default_locale,
        )
    )


def document_to_dict(doc: CatalogDocument) -> Document:
    """A CatalogDocument in its canonical document form."""
    currencies = {s.id: s.currency for s in doc.storefronts}
    prices = sorted(
        doc.prices,
        key=lambda p: (
            p.key.plan_id,
            p.key.storefront_id,
            p.key.channel or "",
            p.effective_from or datetime.min.replace(tzinfo=UTC),
        ),
    )
    return {
        "version": DOCUMENT_VERSION,
        "default_locale": doc.default_locale,
        "storefronts": [_storefront_dict(s) for s in sorted(doc.storefronts, key=lambda s: s.id)],
        "features": [_feature_dict(f) for f in sorted(doc.features, key=lambda f: f.key)],
        "plans": [_plan_dict(p) for p in sorted(doc.plans, key=lambda p: p.id)],
        "prices": [_price_dict(p, currencies.get(p.key.storefront_id)) for p in prices],
        "channel_mappings": [_mapping_dict(m) for m in sorted(doc.mappings, key=lambda m: m.id)],
    }


def _object_path(field: str) -> str:
    """The top-level object a field belongs to: "plans[2].features[0].key" → "plans[2]"."""
    end = field.find("]")
    return field if end < 0 else field[: end + 1]


def _items(top: Reader, name: str) -> list[tuple[int, object]]:
    return list(enumerate(top.list_(name)))


def _storefront(r: Reader) -> Storefront:
    tax = r.child("tax", _TAX)
    routing = r.child("payment_routing", _ROUTING)
    rules = []
    for i, raw in enumerate(routing.list_("rules")):
        rule = Reader(raw, join(routing.at("rules"), i), r.v, _RULE)
        when = rule.child("when", _WHEN)
        condition = RoutingCondition(
            currencies=when.strs("currencies"),
            countries=when.strs("countries"),
            payment_method_types=when.strs("payment_method_types"),
            min_amount_minor=when.opt_int("min_amount_minor"),
            max_amount_minor=when.opt_int("max_amount_minor"),
        )
        rules.append(RoutingRule(psps=rule.strs("psps"), condition=condition))
    return Storefront(
        id=r.str_("id"),
        name=r.str_("name"),
        country=r.str_("country"),
        currency=r.str_("currency"),
        tax=TaxPolicy(mode=tax.enum("mode", TaxMode), rate=tax.decimal("rate")),
        locales=r.strs("locales"),
        channels=frozenset(r.enums("channels", Channel)),
        routing=PaymentRouting(
            rules=tuple(rules), fallback=routing.strs("fallback"), store_commission=_commission(routing)
        ),
        price_increase_notice_days=r.int_("price_increase_notice_days", 0),
        price_increase_consent_required=r.bool_("price_increase_consent_required", False),
        branding=_branding(r.child("branding", _BRANDING)),
        disclosure_required=r.bool_("disclosure_required", False),
    )


def _commission(routing: Reader) -> tuple[tuple[Channel, Decimal], ...]:
    rates = routing.child("store_commission", _COMMISSION)
    return tuple((channel, rates.decimal(str(channel))) for channel in Channel if rates.has(str(channel)))


def _branding(r: Reader) -> Branding:
    return Branding(**{name: r.str_(name, "") for name in sorted(_BRANDING)})


def _texts(r: Reader, allowed: frozenset[str]) -> Texts:
    """The `texts` mapping of a plan or feature: locale -> its texts."""
    raw = r.data.get("texts")
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        r.v.add(r.at("texts"), "must be a mapping of locale to texts (e.g. de: {name: ...})")
        return ()
    by_locale = {}
    for tag, value in raw.items():
        t = Reader(value, join(r.at("texts"), str(tag)), r.v, allowed)
        by_locale[str(tag)] = LocalizedText(
            name=t.str_("name"),
            description=t.str_("description", ""),
            bullets=t.strs("bullets"),
            disclosure=t.str_("disclosure", ""),
        )
    return texts_of(by_locale)


def _feature(r: Reader) -> Feature:
    return Feature(
        key=r.str_("key"),
        name=r.str_("name"),
        kind=r.enum("kind", FeatureKind),
        unit=r.opt_str("unit"),
        reset_period=r.enum("reset_period", ResetPeriod) if r.has("reset_period") else None,
        texts=_texts(r, _FEATURE_TEXT),
    )


def _plan(r: Reader) -> Plan:
    interval = r.child("interval", _INTERVAL)
    grants = []
    for i, raw in enumerate(r.list_("features")):
        g = Reader(raw, join(r.at("features"), i), r.v, _GRANT)
        grants.append(FeatureGrant(feature_key=g.str_("key"), limit=g.opt_int("limit")))
    return Plan(
        id=r.str_("id"),
        name=r.str_("name"),
        family=r.str_("family"),
        rank=r.int_("rank"),
        interval=BillingInterval(unit=interval.enum("unit", IntervalUnit), count=interval.int_("count", 1)),
        trial_days=r.int_("trial_days", 0),
        grants=tuple(grants),
        is_add_on=r.bool_("add_on", False),
        add_on_ids=r.strs("add_ons"),
        status=r.enum("status", PlanStatus, PlanStatus.DRAFT),
        texts=_texts(r, _PLAN_TEXT),
    )


def _price(r: Reader, storefronts: tuple[Storefront, ...]) -> PriceEntry:
    key = PriceKey(
        plan_id=r.str_("plan"),
        storefront_id=r.str_("storefront"),
        channel=r.enum("channel", Channel) if r.has("channel") else None,
    )
    currency = r.opt_str("currency")
    expected = next((s.currency for s in storefronts if s.id == key.storefront_id), None)
    if currency is not None and expected is not None and currency != expected:
        # NOTE: a price is always in its storefront's currency; the field only restates it.
        r.v.add(
            r.at("currency"),
            f"{currency!r} differs from storefront {key.storefront_id!r} currency {expected!r}",
        )
    return PriceEntry(
        key=key,
        amount_minor=r.int_("amount_minor"),
        effective_from=r.time("effective_from"),
        existing_subscribers=r.enum("existing_subscribers", ExistingSubscribers, ExistingSubscribers.GRANDFATHERED),
    )


def _mapping(r: Reader) -> ChannelMapping:
    return ChannelMapping(
        channel=r.enum("channel", Channel),
        external_product_id=r.str_("external_product_id"),
        plan_id=r.str_("plan"),
        storefront_id=r.opt_str("storefront"),
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _routing_dict(s: Storefront, rules: list[Document]) -> Document:
    routing: Document = {"rules": rules, "fallback": list(s.routing.fallback)}
    if s.routing.store_commission:
        routing["store_commission"] = {str(channel): str(rate) for channel, rate in s.routing.store_commission}
    return routing


def _storefront_dict(s: Storefront) -> Document:
    rules = []
    for rule in s.routing.rules:
        c = rule.condition
        when: Document = {
            name: list(value)
            for name, value in (
                ("currencies", c.currencies),
                ("countries", c.countries),
                ("payment_method_types", c.payment_method_types),
            )
            if value
        }
        when |= {
            name: bound
            for name, bound in (
                ("min_amount_minor", c.min_amount_minor),
                ("max_amount_minor", c.max_amount_minor),
            )
            if bound is not None
        }
        rules.append({"psps": list(rule.psps), "when": when})
    out: Document = {
        "id": s.id,
        "name": s.name,
        "country": s.country,
        "currency": s.currency,
        "locales": list(s.locales),
        "channels": [str(c) for c in Channel if c in s.channels],
        "tax": {"mode": str(s.tax.mode), "rate": str(s.tax.rate)},
        "payment_routing": _routing_dict(s, rules),
    }
    if s.price_increase_notice_days:
        out["price_increase_notice_days"] = s.price_increase_notice_days
    if s.price_increase_consent_required:
        out["price_increase_consent_required"] = True
    if s.disclosure_required:
        out["disclosure_required"] = True
    if s.branding.as_dict():
        out["branding"] = s.branding.as_dict()
    return out


def _texts_dict(texts: Texts) -> Document:
    out: Document = {}
    for tag, text in texts:
        entry: Document = {"name": text.name}
        if text.description:
            entry["description"] = text.description
        if text.bullets:
            entry["bullets"] = list(text.bullets)
        if text.disclosure:
            entry["disclosure"] = text.disclosure
        out[tag] = entry
    return out


def _feature_dict(f: Feature) -> Document:
    out: Document = {"key": f.key, "name": f.name, "kind": str(f.kind)}
    if f.unit is not None:
        out["unit"] = f.unit
    if f.reset_period is not None:
        out["reset_period"] = str(f.reset_period)
    if f.texts:
        out["texts"] = _texts_dict(f.texts)
    return out


def _plan_dict(p: Plan) -> Document:
    out: Document = {
        "id": p.id,
        "name": p.name,
        "family": p.family,
        "rank": p.rank,
        "interval": {"unit": str(p.interval.unit), "count": p.interval.count},
        "trial_days": p.trial_days,
        "status": str(p.status),
        "add_on": p.is_add_on,
        "add_ons": list(p.add_on_ids),
        "features": [{"key": g.feature_key} | ({} if g.limit is None else {"limit": g.limit}) for g in p.grants],
    }
    if p.texts:
        out["texts"] = _texts_dict(p.texts)
    return out


def _price_dict(p: PriceEntry, currency: str | None) -> Document:
    out: Document = {"plan": p.key.plan_id, "storefront": p.key.storefront_id}
    if p.key.channel is not None:
        out["channel"] = str(p.key.channel)
    out["amount_minor"] = p.amount_minor
    if currency is not None:
        out["currency"] = currency
    if p.effective_from is not None:
        out["effective_from"] = _stamp(p.effective_from)
    out["existing_subscribers"] = str(p.existing_subscribers)
    return out


def _mapping_dict(m: ChannelMapping) -> Document:
    out: Document = {
        "channel": str(m.channel),
        "external_product_id": m.external_product_id,
        "plan": m.plan_id,
    }
    if m.storefront_id is not None:
        out["storefront"] = m.storefront_id
    return out
