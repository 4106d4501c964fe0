"""The PSPs a tenant's charges can reach: the process's sandbox PSPs and the tenant's own accounts.

Each PSP sits behind a circuit breaker (per process): a process-wide PSP's breaker is shared by every
tenant, a tenant account's breaker is the tenant's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from azotte_payments.adapters.psp.adyen_like import AdyenLikePsp
from azotte_payments.adapters.psp.base import HttpPspConfig
from azotte_payments.adapters.psp.stripe_like import StripeLikePsp
from azotte_payments.domain.charge import Attempt
from azotte_payments.domain.circuit_breaker import BreakerSettings, CircuitBreakerBoard
from azotte_payments.domain.declines import PspChargeResult
from azotte_payments.domain.routing import next_psp, record_psp_health
from azotte_payments.errors import NoPspRoute, PspNotConfigured
from azotte_payments.ports import AccountProviders, PaymentServiceProvider, PspChargeRequest
from azotte_payments.settings import PaymentsSettings
from azotte_platform.clock import Clock, shared_now


class PspRegistry:
    """The process's PSP adapters, the tenants' accounts and the breakers (`ports.PaymentServiceProviders`)."""

    def __init__(
        self,
        providers: Mapping[str, PaymentServiceProvider],
        breakers: CircuitBreakerBoard,
        clock: Clock,
        accounts: AccountProviders | None = None,
    ):
        self._providers = dict(providers)
        self.breakers = breakers
        self._clock = clock
        self._accounts = accounts

    @classmethod
    def from_settings(
        cls, settings: PaymentsSettings, clock: Clock, accounts: AccountProviders | None = None
    ) -> PspRegistry:
        """Adapters for every sandbox PSP whose URL is configured, and the tenants' accounts."""
        providers: dict[str, PaymentServiceProvider] = {}
        timeout = settings.psp_timeout_s
        if settings.psp_stripe_like_url:
            stripe = HttpPspConfig(settings.psp_stripe_like_url, settings.psp_stripe_like_api_key, timeout)
            providers["stripe_like"] = StripeLikePsp(stripe)
        if settings.psp_adyen_like_url:
            adyen = HttpPspConfig(settings.psp_adyen_like_url, settings.psp_adyen_like_api_key, timeout)
            providers["adyen_like"] = AdyenLikePsp(adyen, settings.psp_adyen_like_merchant_account)
        breaker_settings = BreakerSettings(
            settings.breaker_failure_threshold, timedelta(seconds=settings.breaker_cooldown_s)
        )
        return cls(providers, CircuitBreakerBoard(breaker_settings), clock, accounts)

    async def for_tenant(self, tenant_id: str) -> TenantPsps:
        """What `tenant_id`'s charges can reach: its own accounts first (by account id), then the process's PSPs."""
        own = await self._accounts.providers_of(tenant_id) if self._accounts else {}
        return TenantPsps(self, tenant_id, own)

    async def aclose(self) -> None:
        """Close every adapter."""
        for provider in self._providers.values():
            await provider.aclose()
        if self._accounts is not None:
            await self._accounts.aclose()


class TenantPsps:
    """One tenant's view of the PSPs (implements `ports.TenantPsps`)."""

    def __init__(self, registry: PspRegistry, tenant_id: str, own: Mapping[str, PaymentServiceProvider]):
        self._registry = registry
        self._tenant = tenant_id
        self._own = own
        self._providers = {**registry._providers, **own}

    def reachable(self, candidates: Sequence[str]) -> tuple[str, ...]:
        """The candidates this tenant has adapters for, in order."""
        known = tuple(psp for psp in candidates if psp in self._providers)
        if not known:
            raise NoPspRoute(f"none of the routed PSPs {list(candidates)} is configured")
        return known

    def provider(self, psp: str) -> PaymentServiceProvider:
        """The adapter of `psp`."""
        if psp not in self._providers:
            raise PspNotConfigured(f"PSP {psp!r} is not configured")
        return self._providers[psp]

    def next_candidate(self, candidates: Sequence[str], attempts: Sequence[Attempt]) -> str | None:
        """Next PSP to try, skipping those whose breaker is open."""
        # NOTE: a breaker is shared by every tenant, so it runs on the base time, never a sandbox tenant's.
        return next_psp(candidates, attempts, self._registry.breakers, shared_now(self._registry._clock), self._key)

    async def charge(self, psp: str, request: PspChargeRequest) -> PspChargeResult:
        """Charge through `psp` and feed the outcome to its breaker."""
        result = await self.provider(psp).charge(request)
        record_psp_health(self._registry.breakers, self._key(psp), result.outcome, shared_now(self._registry._clock))
        return result

    def _key(self, psp: str) -> str:
        """The breaker of a tenant's own account is the tenant's alone."""
        return f"{self._tenant}/{psp}" if psp in self._own else psp
