"""Domain events of usage billing: what happened, translated into published events by `adapters/billing_proto.py`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from azotte_metering.domain.charges import Period
from azotte_metering.domain.limits import Limit
from azotte_metering.domain.quotas import QuotaWindow
from azotte_metering.domain.wallets import CreditGrant


@dataclass(frozen=True, slots=True)
class ThresholdCrossed:
    """threshold.crossed: usage reached `percent` of a limit, once per threshold and period."""

    limit: Limit
    percent: int
    level: Decimal
    period: Period


@dataclass(frozen=True, slots=True)
class QuotaUsed:
    """quota.used: a customer's use of a quota feature in its window, measured by a meter, in whole units."""

    customer_id: str
    feature_key: str
    meter_key: str
    used: int
    window: QuotaWindow


@dataclass(frozen=True, slots=True)
class LimitReached:
    """limit.reached: a hard limit cuts its feature off (entitlement suspends it with the limit's denial)."""

    limit: Limit
    level: Decimal
    period: Period


@dataclass(frozen=True, slots=True)
class LimitReleased:
    """limit.released: a limit no longer holds its feature cut off (new period, top-up, raised or removed)."""

    limit: Limit
    level: Decimal
    period: Period


@dataclass(frozen=True, slots=True)
class DowngradeOrdered:
    """limit.downgrade_ordered: a DOWNGRADE limit was reached; the subscription moves to its plan (once a period)."""

    limit: Limit
    level: Decimal
    period: Period


@dataclass(frozen=True, slots=True)
class CreditGranted:
    """credit.granted: credit put in a customer's wallet."""

    customer_id: str
    currency_code: str
    grant: CreditGrant
    balance_minor: int


@dataclass(frozen=True, slots=True)
class WalletRechargeFailed:
    """wallet.recharge_failed: an auto-recharge's charge failed."""

    customer_id: str
    currency_code: str
    recharge_id: str
    amount_minor: int
    failure: str
