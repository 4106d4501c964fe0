"""The facts metering publishes (translated to `events.proto` payloads by `adapters/proto.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from azotte_metering.domain.meters import Aggregation


@dataclass(frozen=True, slots=True)
class MeterUsage:
    """What one transaction's new events of a customer add to one (meter, dimension values)."""

    meter_key: str
    aggregation: Aggregation
    dimensions: Mapping[str, str]
    first_event_time: datetime
    last_event_time: datetime
    event_count: int
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    """What one committed ingest transaction added to one customer's usage: `usage.recorded`."""

    customer_id: str
    usage: tuple[MeterUsage, ...]
