"""The facts metering publishes (translated to `events.proto` payloads by `adapters/proto.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from azotte_metering.domain.meters import Aggregation


@dataclass(frozen=True, slots=True)
class WindowTotal:
    """A rollup bucket's aggregate after a batch."""

    start: datetime
    end: datetime
    value: Decimal
    event_count: int


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    """What one committed batch added to one (customer, meter, dimension values): `usage.recorded`."""

    customer_id: str
    meter_key: str
    aggregation: Aggregation
    dimensions: Mapping[str, str]
    first_event_time: datetime
    last_event_time: datetime
    event_count: int
    quantity: Decimal
    day_totals: tuple[WindowTotal, ...]
