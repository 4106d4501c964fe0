"""Settings of the entitlement service (`AZOTTE_*` environment variables)."""

from __future__ import annotations

from azotte_platform.settings import ServiceSettings


class EntitlementSettings(ServiceSettings):
    """Common service settings plus the entitlement service's own."""

    # How often every tenant's grants are reconciled against lifecycle state and the catalog.
    reconcile_interval_seconds: float = 3600.0
    # How long plan features fetched from the catalog are reused.
    plan_cache_ttl_seconds: float = 60.0
    # How long a group invite works when the request does not say.
    invite_ttl_hours: float = 168.0
    # How long an access check or listing with a consistency token waits for the projection to reach it.
    consistency_wait_seconds: float = 2.0
