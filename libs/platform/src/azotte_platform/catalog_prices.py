"""How long a catalog price answer holds: from the moment its version took effect until the next version does."""

from __future__ import annotations

from datetime import datetime

from azotte.catalog.v1 import catalog_pb2
from azotte_platform.convert import from_timestamp


def price_holds(answer: catalog_pb2.ResolvePriceResponse, at: datetime) -> bool:
    """Whether ResolvePrice asked for `at` would answer `answer` again (the catalog unchanged meanwhile)."""
    if answer.HasField("effective_time") and at < from_timestamp(answer.effective_time):
        return False
    return not answer.HasField("next_change_time") or at < from_timestamp(answer.next_change_time)
