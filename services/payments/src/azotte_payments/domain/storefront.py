"""What payments needs to know about a storefront: currency, country, tax and PSP routing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from azotte_payments.domain.routing import RoutingCondition, RoutingRule
from azotte_platform.tax import TaxPolicy


@dataclass(frozen=True)
class StorefrontTerms:
    """A storefront's payment terms as the catalog defines them."""

    storefront_id: str
    currency: str
    country_code: str
    tax_policy: TaxPolicy
    routing_rules: tuple[RoutingRule, ...]
    # What each store keeps of what it collects, by channel ('CHANNEL_APP_STORE'); none: no commission.
    store_commission: Mapping[str, Decimal] = field(default_factory=dict)


def rules_with_fallback(rules: tuple[RoutingRule, ...], fallback_psps: tuple[str, ...]) -> tuple[RoutingRule, ...]:
    """The storefront's rules followed by a catch-all rule for its fallback PSPs."""
    # NOTE: when no rule matches, the storefront's fallback order applies.
    if not fallback_psps:
        return rules
    return (*rules, RoutingRule(fallback_psps[0], fallback_psps[1:], RoutingCondition()))
