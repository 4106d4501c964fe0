"""Quota features measured by meters: a customer's use of each in a period, in whole units."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from azotte_metering.domain.charges import UsageTotal
from azotte_metering.domain.meters import Meter

INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class QuotaUse:
    """The use of a quota feature in a period: the meter's quantity over the usage it counts, rounded up."""

    feature_key: str
    meter_key: str
    used: int


def quota_uses(meters: Sequence[Meter], totals: Sequence[UsageTotal]) -> list[QuotaUse]:
    """The use of every quota feature of `meters`, from a customer's usage totals of one period."""
    uses = []
    for meter in meters:
        mine = [total for total in totals if total.meter_key == meter.key]
        for quota in meter.quota_features:
            quantity = sum((total.quantity for total in mine if quota.counts(total.dimensions)), Decimal(0))
            uses.append(QuotaUse(quota.feature_key, meter.key, min(max(math.ceil(quantity), 0), INT64_MAX)))
    return uses
