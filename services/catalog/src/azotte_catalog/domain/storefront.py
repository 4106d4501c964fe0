"""Storefronts: a region's currency, tax policy, channels and payment routing layered over the catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from azotte_platform.enums import Channel

from .branding import Branding, validate_branding
from .currency import lookup_currency
from .texts import check_locale
from .validation import Violations, check_name, check_slug, join

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_MAX_RATE_PLACES = 6
MAX_NOTICE_DAYS = 365
# The channels whose store collects the money and keeps a commission.
STORE_BILLED = (Channel.APP_STORE, Channel.GOOGLE_PLAY)


class TaxMode(StrEnum):
    """Whether prices already include tax."""

    INCLUSIVE = "inclusive"
    EXCLUSIVE = "exclusive"


@dataclass(frozen=True)
class TaxPolicy:
    """How tax applies to a storefront's prices; `rate` is a fraction (0.19 for 19 %)."""

    mode: TaxMode
    rate: Decimal


@dataclass(frozen=True)
class RoutingContext:
    """What a payment routing decision looks at."""

    currency: str
    country: str
    amount_minor: int
    payment_method_type: str


@dataclass(frozen=True)
class RoutingCondition:
    """Conditions of a routing rule; an empty tuple or None bound matches anything."""

    currencies: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    payment_method_types: tuple[str, ...] = ()
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None

    def matches(self, ctx: RoutingContext) -> bool:
        """Whether a payment in `ctx` satisfies every condition (amount bounds are inclusive)."""
        return (
            (not self.currencies or ctx.currency in self.currencies)
            and (not self.countries or ctx.country in self.countries)
            and (not self.payment_method_types or ctx.payment_method_type in self.payment_method_types)
            and (self.min_amount_minor is None or ctx.amount_minor >= self.min_amount_minor)
            and (self.max_amount_minor is None or ctx.amount_minor <= self.max_amount_minor)
        )


@dataclass(frozen=True)
class RoutingRule:
    """Ordered PSP choices used when the condition matches."""

    psps: tuple[str, ...]
    condition: RoutingCondition = RoutingCondition()


@dataclass(frozen=True)
class PaymentRouting:
    """A storefront's PSP routing: the first matching rule wins, else the fallback order."""

    rules: tuple[RoutingRule, ...] = ()
    fallback: tuple[str, ...] = ()
    store_commission: tuple[tuple[Channel, Decimal], ...] = ()
    """What each store keeps of what it collects (net of tax), e.g. App Store 0.15 or 0.30."""

    def choose(self, ctx: RoutingContext) -> tuple[str, ...]:
        """The PSPs to try, in order, for a payment in `ctx`."""
        for rule in self.rules:
            if rule.condition.matches(ctx):
                return rule.psps
        return self.fallback


@dataclass(frozen=True)
class Storefront:
    """A regional storefront."""

    id: str
    name: str
    country: str
    currency: str
    tax: TaxPolicy
    locales: tuple[str, ...] = ()
    channels: frozenset[Channel] = frozenset({Channel.WEB})
    routing: PaymentRouting = field(default_factory=PaymentRouting)
    price_increase_notice_days: int = 0
    """How many days before the renewal that first charges a higher price its subscribers are told (0: none)."""
    price_increase_consent_required: bool = False
    """Whether a subscriber must accept a higher price (else the subscription ends at that renewal)."""
    branding: Branding = field(default_factory=Branding)
    disclosure_required: bool = False
    """Whether every plan priced here must have a disclosure text in each of the storefront's locales."""

    def sells_on(self, channel: Channel) -> bool:
        """Whether `channel` is enabled in this storefront."""
        return channel in self.channels


def validate_storefront(sf: Storefront, path: str = "storefront") -> Violations:
    """Every field violation of a storefront on its own."""
    v = Violations()
    check_slug(v, join(path, "id"), sf.id)
    check_name(v, join(path, "name"), sf.name)
    if not _COUNTRY.match(sf.country):
        v.add(join(path, "country"), f"{sf.country!r} is not an ISO 3166-1 alpha-2 code (e.g. 'DE')")
    if lookup_currency(sf.currency) is None:
        v.add(join(path, "currency"), f"{sf.currency!r} is not an active ISO 4217 currency code")
    for i, locale in enumerate(sf.locales):
        check_locale(v, join(join(path, "locales"), i), locale)
    if len(set(sf.locales)) != len(sf.locales):
        v.add(join(path, "locales"), "contains duplicates")
    if sf.disclosure_required and not sf.locales:
        v.add(join(path, "locales"), "required when disclosure_required is true: the locales disclosures are in")
    validate_branding(v, join(path, "branding"), sf.branding)
    if not sf.channels:
        v.add(join(path, "channels"), "at least one channel must be enabled")
    _validate_tax(v, join(path, "tax"), sf.tax)
    if not 0 <= sf.price_increase_notice_days <= MAX_NOTICE_DAYS:
        v.add(join(path, "price_increase_notice_days"), f"must be a number of days from 0 to {MAX_NOTICE_DAYS}")
    if sf.price_increase_consent_required and sf.price_increase_notice_days < 1:
        v.add(
            join(path, "price_increase_consent_required"),
            "needs price_increase_notice_days of at least 1: subscribers are asked when they are told",
        )
    # NOTE: web checkout charges through a PSP, so a storefront selling on the web needs a fallback order.
    _validate_routing(v, join(path, "payment_routing"), sf.routing, needs_fallback=sf.sells_on(Channel.WEB))
    return v


def _validate_tax(v: Violations, path: str, tax: TaxPolicy) -> None:
    exponent = tax.rate.as_tuple().exponent
    if not tax.rate.is_finite() or not Decimal(0) <= tax.rate < Decimal(1):
        v.add(join(path, "rate"), f"{tax.rate} must be a decimal fraction >= 0 and < 1 (e.g. '0.19')")
    elif isinstance(exponent, int) and -exponent > _MAX_RATE_PLACES:
        v.add(join(path, "rate"), f"at most {_MAX_RATE_PLACES} decimal places")


def _validate_routing(v: Violations, path: str, routing: PaymentRouting, *, needs_fallback: bool) -> None:
    for i, rule in enumerate(routing.rules):
        rule_path = join(join(path, "rules"), i)
        _validate_psps(v, join(rule_path, "psps"), rule.psps)
        cond, cond_path = rule.condition, join(rule_path, "when")
        for j, code in enumerate(cond.currencies):
            if lookup_currency(code) is None:
                v.add(
                    join(join(cond_path, "currencies"), j),
                    f"{code!r} is not an active ISO 4217 currency code",
                )
        for j, country in enumerate(cond.countries):
            if not _COUNTRY.match(country):
                v.add(join(join(cond_path, "countries"), j), f"{country!r} is not an ISO 3166-1 alpha-2 code")
        for j, method in enumerate(cond.payment_method_types):
            check_slug(v, join(join(cond_path, "payment_method_types"), j), method)
        for name, bound in (
            ("min_amount_minor", cond.min_amount_minor),
            ("max_amount_minor", cond.max_amount_minor),
        ):
            if bound is not None and bound < 0:
                v.add(join(cond_path, name), "must be >= 0")
        if (
            cond.min_amount_minor is not None
            and cond.max_amount_minor is not None
            and cond.min_amount_minor > cond.max_amount_minor
        ):
            v.add(join(cond_path, "max_amount_minor"), "must be >= min_amount_minor")
    _validate_psps(v, join(path, "fallback"), routing.fallback, allow_empty=not needs_fallback)
    for channel, rate in routing.store_commission:
        at = join(join(path, "store_commission"), str(channel))
        if channel not in STORE_BILLED:
            v.add(at, f"only {', '.join(map(str, STORE_BILLED))} keep a commission")
        exponent = rate.as_tuple().exponent
        if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
            v.add(at, f"{rate} must be a decimal fraction >= 0 and < 1 (e.g. '0.15')")
        elif isinstance(exponent, int) and -exponent > _MAX_RATE_PLACES:
            v.add(at, f"at most {_MAX_RATE_PLACES} decimal places")


def _validate_psps(v: Violations, path: str, psps: tuple[str, ...], allow_empty: bool = False) -> None:
    if not psps and not allow_empty:
        v.add(path, "at least one PSP is required")
    for i, psp in enumerate(psps):
        check_slug(v, join(path, i), psp)
    if len(set(psps)) != len(psps):
        v.add(path, "contains duplicates")
