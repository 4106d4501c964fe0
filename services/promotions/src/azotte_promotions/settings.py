"""Settings of the promotions service, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from pydantic import SecretStr

from azotte_platform.settings import ServiceSettings


class PromotionsSettings(ServiceSettings):
    """How long a reservation holds without confirmation, how often the sweeps run, and the keys sealing secrets."""

    reservation_ttl_s: float = 900.0
    reservation_sweep_interval_s: float = 15.0
    reservation_sweep_batch: int = 500
    trial_ending_sweep_interval_s: float = 60.0
    trial_ending_sweep_batch: int = 200
    # The key-encryption keys sealing tenants' App Store subscription keys (`id:base64 32-byte key,...`, first active).
    promotions_keks: SecretStr = SecretStr("")
