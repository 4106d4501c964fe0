"""Adapters of the tenants' own PSP accounts, built from their unsealed credentials and kept for a while.

A tenant's accounts are read again after `ttl`; an account whose record changed (new credentials, keys
re-wrapped) gets a new adapter, and the old one is closed. Plaintext credentials live only inside adapters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from azotte_payments.adapters.psp.adyen import AdyenPsp
from azotte_payments.adapters.psp.adyen_like import AdyenLikePsp
from azotte_payments.adapters.psp.base import HttpPspConfig
from azotte_payments.adapters.psp.carrier import CarrierBillingPsp, CarrierFlow
from azotte_payments.adapters.psp.stripe import StripePsp
from azotte_payments.adapters.psp.stripe_like import StripeLikePsp
from azotte_payments.domain.psp_account import PspAccount, PspCredentials, PspKind, sealing_binding
from azotte_payments.ports import CredentialSealer, PaymentServiceProvider, PaymentsUnitOfWork
from azotte_payments.settings import PaymentsSettings


@dataclass(frozen=True)
class _Built:
    updated_at: datetime
    provider: PaymentServiceProvider


def build_provider(
    account: PspAccount, credentials: PspCredentials, settings: PaymentsSettings
) -> PaymentServiceProvider:
    """The adapter of one account, pointed at its kind's base URL."""
    timeout = settings.psp_timeout_s
    match account.kind:
        case PspKind.STRIPE:
            return StripePsp(account.account_id, credentials["secret_key"], settings.stripe_api_base, timeout)
        case PspKind.ADYEN:
            return AdyenPsp(
                account.account_id,
                credentials["api_key"],
                credentials["merchant_account"],
                checkout_url=settings.adyen_checkout_url,
                live_url_prefix=credentials.values.get("live_url_prefix", ""),
                return_url=settings.adyen_return_url,
                timeout_s=timeout,
            )
        case PspKind.CARRIER:
            config = HttpPspConfig(settings.carrier_api_url(credentials["carrier"]), credentials["api_key"], timeout)
            return CarrierBillingPsp(account.account_id, config, CarrierFlow(credentials["flow"]))
        case PspKind.STRIPE_LIKE:
            config = HttpPspConfig(settings.psp_stripe_like_url, credentials["api_key"], timeout)
            return StripeLikePsp(config, account.account_id)
        case PspKind.ADYEN_LIKE:
            config = HttpPspConfig(settings.psp_adyen_like_url, credentials["api_key"], timeout)
            return AdyenLikePsp(config, credentials["merchant_account"], account.account_id)


class CachedAccountProviders:
    """Implements `ports.AccountProviders` over the unit of work and the sealer."""

    def __init__(
        self,
        uow_factory: Callable[[], PaymentsUnitOfWork],
        sealer: CredentialSealer,
        settings: PaymentsSettings,
        ttl_s: float,
    ):
        self._uow = uow_factory
        self._sealer = sealer
        self._settings = settings
        self._ttl_s = ttl_s
        self._built: dict[tuple[str, str], _Built] = {}
        self._read_at: dict[str, float] = {}
        self._refreshing = asyncio.Lock()

    async def providers_of(self, tenant_id: str) -> dict[str, PaymentServiceProvider]:
        """The tenant's accounts as adapters, by account id (read again after the TTL)."""
        if self._stale(tenant_id):
            async with self._refreshing:
                if self._stale(tenant_id):
                    await self._refresh(tenant_id)
        return {account: built.provider for (tenant, account), built in self._built.items() if tenant == tenant_id}

    def _stale(self, tenant_id: str) -> bool:
        return time.monotonic() - self._read_at.get(tenant_id, float("-inf")) >= self._ttl_s

    async def aclose(self) -> None:
        """Close every adapter built."""
        for built in self._built.values():
            await built.provider.aclose()
        self._built.clear()

    async def _refresh(self, tenant_id: str) -> None:
        async with self._uow() as uow:
            accounts = await uow.psp_accounts(tenant_id).list()
        current = {account.account_id for account in accounts}
        for key in [key for key in self._built if key[0] == tenant_id and key[1] not in current]:
            await self._built.pop(key).provider.aclose()
        for account in accounts:
            key = (tenant_id, account.account_id)
            built = self._built.get(key)
            if built is not None and built.updated_at == account.updated_at:
                continue
            credentials = self._sealer.unseal(account.sealed, sealing_binding(tenant_id, account.account_id))
            self._built[key] = _Built(account.updated_at, build_provider(account, credentials, self._settings))
            if built is not None:
                await built.provider.aclose()
        self._read_at[tenant_id] = time.monotonic()
