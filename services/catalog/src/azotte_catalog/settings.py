"""Settings of the catalog service (AZOTTE_* environment variables)."""

from __future__ import annotations

from azotte_platform.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    """Platform settings plus the catalog's cache and price activation tuning."""

    catalog_cache_ttl_seconds: float = 300.0
    price_activation_batch_size: int = 100
    price_activation_max_idle_seconds: float = 60.0
