"""Gateway settings, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from azotte_platform.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """What the gateway reads on top of every service's settings."""

    rest_host: str = "127.0.0.1"
    rest_port: int = 8080
    # Processes serving the gRPC and REST ports side by side (SO_REUSEPORT); see entrypoints/workers.py.
    gateway_workers: int = 1
    # Where the bootstrap writes the sandbox tenant's first admin key.
    state_dir: Path = Path(".azotte")
    # Per-key token bucket: a burst of `rate_limit_burst` calls, refilled at `rate_limit_per_second`.
    rate_limit_burst: int = 200
    rate_limit_per_second: float = 100.0
    # How long a verified key is trusted before it is read again (revocations on this replica are immediate).
    api_key_cache_seconds: float = 5.0
    # How long features' texts read from the catalog are kept at most (any catalog event of the tenant drops them).
    feature_texts_cache_seconds: float = 60.0
    # How long the storefronts and plans a checkout reads are kept at most (any catalog event of the tenant drops
    # them; the price is asked every time).
    catalog_reads_cache_seconds: float = 60.0
    # How long a checkout waits for the entitlements the new subscription grants.
    checkout_entitlement_wait_seconds: float = 2.0
    # Access answers kept at the edge: until an entitlement event names the customer (or NATS reconnects),
    # at most this long.
    access_cache_seconds: float = 60.0
    # After such an event, answers are not kept for this long (other entitlement replicas catch up).
    access_cache_settle_seconds: float = 0.25
    access_cache_max_customers: int = 200_000
    # A WatchEntitlements stream reads its customer again after this long without an entitlement event.
    watch_resync_seconds: float = 60.0
    # Where Google's OAuth token endpoint, OIDC certificates and Play Developer API answer: Google's own hosts
    # when empty, else all three under this URL (the Play API emulator of a sandbox or a test).
    google_apis_url: str = ""
    # Where the App Store Server API answers: Apple's production or sandbox host (by the app's environment) when
    # empty, else this URL for every app (the App Store Server API fake of a sandbox or a test).
    app_store_api_url: str = ""
    # The key-encryption keys sealing the App Store apps' in-app purchase keys (`id:base64 32-byte key,...`,
    # first active).
    gateway_keks: SecretStr = SecretStr("")
