"""Service settings read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service reads; a service subclasses it to add its own."""

    model_config = SettingsConfigDict(env_prefix="AZOTTE_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/azotte"
    nats_url: str = "nats://127.0.0.1:4222"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    metrics_port: int = 0
    log_level: str = "INFO"
    sandbox_clock: bool = True
    relay_batch_size: int = 500
    db_pool_size: int = 10
    catalog_addr: str = "127.0.0.1:50061"
    lifecycle_addr: str = "127.0.0.1:50062"
    payments_addr: str = "127.0.0.1:50063"
    entitlement_addr: str = "127.0.0.1:50064"
    promotions_addr: str = "127.0.0.1:50065"
    metering_addr: str = "127.0.0.1:50066"
