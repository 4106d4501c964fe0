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
    # Adyen sandbox accounts' Checkout API (its emulator in tests), and where 3-D Secure sends the shopper back.
    adyen_checkout_url: str = "https://checkout-test.adyen.com"
    adyen_return_url: str = ""
    # Carriers' CAMARA Carrier Billing APIs by carrier name (JSON `{"name": "https://…"}`), and the sandbox carrier's
    # (named `sandbox`; its emulator in the suite). A carrier account names one of them.
    carrier_apis: dict[str, str] = {}
    carrier_sandbox_url: str = ""
    payments_keks: SecretStr = SecretStr("")
    psp_account_cache_s: float = 30.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    storefront_cache_s: float = 30.0
    charge_wait_s: float = 30.0
    reconcile_interval_s: float = 15.0
    reconcile_after_s: float = 30.0
    invoice_overdue_interval_s: float = 60.0
    invoice_render_workers: int = 1
    invoice_render_idle_s: float = 1.0

    def carrier_api_url(self, carrier: str) -> str:
        """Where a carrier's API is ('' when the operator configured no such carrier)."""
        if carrier == "sandbox":
            return self.carrier_sandbox_url
        return self.carrier_apis.get(carrier, "")
