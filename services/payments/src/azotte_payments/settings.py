"""Settings of the payments service, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from pydantic import SecretStr

from azotte_platform.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    """Where the PSPs are, how long to wait for them, and how the breakers and reconciler behave."""

    psp_stripe_like_url: str = ""
    psp_stripe_like_api_key: str = "sk_test_azotte"
    psp_adyen_like_url: str = ""
    psp_adyen_like_api_key: str = "adyen_test_key"
    psp_adyen_like_merchant_account: str = "AzotteECOM"
    psp_timeout_s: float = 10.0
    # Tenants' own accounts: where Stripe is (its emulator in tests), the key-encryption keys of their
    # credentials (`id:base64 32-byte key,...`, the first active), how long their adapters are kept.
    stripe_api_base: str = "https://api.stripe.com"
    payments_keks: SecretStr = SecretStr("")
    psp_account_cache_s: float = 30.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    storefront_cache_s: float = 30.0
    charge_wait_s: float = 30.0
    reconcile_interval_s: float = 15.0
    reconcile_after_s: float = 30.0
