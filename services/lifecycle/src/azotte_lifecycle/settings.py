"""Settings of the lifecycle service, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from azotte_platform.settings import ServiceSettings


class LifecycleSettings(ServiceSettings):
    """The scheduler's batch size and timings (peer addresses come from ServiceSettings)."""

    scheduler_batch_size: int = 400
    scheduler_parallel_batches: int = 2
    scheduler_max_idle_s: float = 30.0
    scheduler_unsettled_delay_s: float = 300.0
    scheduler_enabled: bool = True
    # How long a plan's terms and its prices read from the catalog are kept at most (a price until the next
    # version takes effect; the catalog's change events drop them sooner).
    plan_cache_ttl_seconds: float = 60.0
