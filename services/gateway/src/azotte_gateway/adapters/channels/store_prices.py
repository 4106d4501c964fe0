"""What a subscriber paid a store, as Money in the currency's minor units: App Store prices in milliunits,
Google Play prices as `{currencyCode, units, nanos}`. A missing, free or malformed price is None (nothing booked).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision, is_currency

from azotte.common.v1 import money_pb2

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_MINOR = 2**63 - 1


def app_store_price(transaction: dict[str, Any] | Any) -> money_pb2.Money | None:
    """A transaction's `price` (milliunits: 9990 is 9.99) and `currency`."""
    milli, currency = transaction.get("price"), transaction.get("currency")
    if isinstance(milli, bool) or not isinstance(milli, int):
        return None
    return _money(Decimal(milli) / 1000, currency)


def google_play_price(line_item: dict[str, Any] | Any) -> money_pb2.Money | None:
    """A line item's `autoRenewingPlan.recurringPrice` (`units` a decimal string, `nanos` billionths)."""
    plan = line_item.get("autoRenewingPlan")
    price = plan.get("recurringPrice") if isinstance(plan, dict) else None
    if not isinstance(price, dict):
        return None
    units, nanos = price.get("units", "0"), price.get("nanos", 0)
    if not isinstance(units, str | int) or isinstance(nanos, bool) or not isinstance(nanos, int):
        return None
    try:
        major = Decimal(units) + Decimal(nanos) / 10**9
    except InvalidOperation:
        return None
    return _money(major, price.get("currencyCode"))


def _money(major: Decimal, currency: Any) -> money_pb2.Money | None:
    if not isinstance(currency, str) or not _CURRENCY.match(currency) or not is_currency(currency):
        return None
    if not major.is_finite() or not 0 < major < _MAX_MINOR:
        return None
    minor = int(major.scaleb(get_currency_precision(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if not 0 < minor <= _MAX_MINOR:
        return None
    return money_pb2.Money(currency_code=currency, amount_minor=minor)
