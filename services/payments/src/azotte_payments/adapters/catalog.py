"""Storefront terms from the catalog service, cached briefly per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from azotte.catalog.v1 import catalog_pb2
from azotte_payments.domain.routing import RoutingCondition, RoutingRule
from azotte_payments.domain.storefront import StorefrontTerms, rules_with_fallback
from azotte_payments.domain.tax import TaxMode, TaxPolicy
from azotte_platform.clock import Clock
from azotte_platform.errors import FailedPrecondition, NotFound

if TYPE_CHECKING:
    from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceAsyncStub

_TAX_MODES = {
    catalog_pb2.TAX_MODE_INCLUSIVE: TaxMode.INCLUSIVE,
    catalog_pb2.TAX_MODE_EXCLUSIVE: TaxMode.EXCLUSIVE,
}


def terms_from_proto(storefront: catalog_pb2.Storefront) -> StorefrontTerms:
    """Map the catalog's storefront onto payment terms."""
    policy = storefront.tax_policy
    try:
        rate = Decimal(policy.rate or "0")
    except InvalidOperation as error:
        raise FailedPrecondition(
            f"storefront {storefront.id} has an unreadable tax rate {policy.rate!r}", reason="STOREFRONT_TAX_INVALID"
        ) from error
    mode = _TAX_MODES.get(policy.mode, TaxMode.EXCLUSIVE)
    rules = tuple(
        RoutingRule(
            rule.psps[0],
            tuple(rule.psps[1:]),
            RoutingCondition(
                currencies=frozenset(rule.condition.currencies),
                country_codes=frozenset(rule.condition.countries),
                payment_method_types=frozenset(rule.condition.payment_method_types),
                min_amount_minor=(
                    rule.condition.min_amount_minor if rule.condition.HasField("min_amount_minor") else None
                ),
                max_amount_minor=(
                    rule.condition.max_amount_minor if rule.condition.HasField("max_amount_minor") else None
                ),
            ),
        )
        for rule in storefront.payment_routing.rules
        if rule.psps
    )
    return StorefrontTerms(
        storefront_id=storefront.id,
        currency=storefront.currency_code,
        country_code=storefront.country_code,
        tax_policy=TaxPolicy(mode, rate, storefront.country_code),
        routing_rules=rules_with_fallback(rules, tuple(storefront.payment_routing.fallback_psps)),
    )


@dataclass(frozen=True)
class _Cached:
    terms: StorefrontTerms
    expires_at: datetime


class StorefrontDirectory:
    """Asks the catalog for storefronts and keeps answers for `ttl`."""

    def __init__(self, stub: CatalogServiceAsyncStub, clock: Clock, ttl: timedelta):
        self._stub = stub
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[tuple[str, str], _Cached] = {}

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        """The storefront's terms (NotFound from the catalog passes through)."""
        now = self._clock.now()
        cached = self._cache.get((tenant_id, storefront_id))
        if cached is not None and cached.expires_at > now:
            return cached.terms
        try:
            response = await self._stub.GetStorefront(catalog_pb2.GetStorefrontRequest(id=storefront_id))
        except NotFound as error:
            raise NotFound(
                f"storefront_id {storefront_id!r}: no such storefront", reason="STOREFRONT_NOT_FOUND"
            ) from error
        terms = terms_from_proto(response.storefront)
        self._cache[(tenant_id, storefront_id)] = _Cached(terms, now + self._ttl)
        return terms
