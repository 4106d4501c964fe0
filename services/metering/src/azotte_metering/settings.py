"""Settings of the metering service, read from `AZOTTE_*` environment variables."""

from __future__ import annotations

from azotte_metering.service_layer.ingest import INGEST_LANES
from azotte_platform.settings import ServiceSettings


class MeteringSettings(ServiceSettings):
    """How many events may be in flight before ingest pushes back, how many transactions of a tenant's batches
    run side by side (`ingest_lanes`, each over its share of the customers), the NATS ingest log's partitions, this
    replica's share of them (`i/n`) and its consumers' batch, and how often dedup ids past their retention are
    dropped."""

    ingest_max_in_flight_events: int = 100_000
    ingest_retry_after_s: int = 1
    ingest_lanes: int = INGEST_LANES
    ingest_nats_batch: int = 50
    ingest_partitions: int = 16
    metering_replica: str = "0/1"
    dedup_sweep_interval_s: float = 3600.0
    dedup_sweep_batch: int = 10_000
