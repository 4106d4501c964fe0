"""Settings of the promotions service, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from azotte_platform.settings import ServiceSettings


class PromotionsSettings(ServiceSettings):
    """How long a reservation holds without confirmation, and how often the sweep releases timed-out ones."""

    reservation_ttl_s: float = 900.0
    reservation_sweep_interval_s: float = 15.0
    reservation_sweep_batch: int = 500
    trial_ending_sweep_interval_s: float = 60.0
    trial_ending_sweep_batch: int = 200
