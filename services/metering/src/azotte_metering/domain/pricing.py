"""Usage prices and what a quantity costs under each pricing model: Decimal arithmetic, never floats.

Every amount here is in the currency's minor units (cents) as a Decimal, so unit prices can hold
fractions of a cent (like Stripe's `unit_amount_decimal`): "0.02" is two hundredths of a cent per
token. Only a charge line rounds, once, to whole minor units (`to_minor`).

Models:
- per unit: quantity x unit price;
- graduated: each tier prices the units that fall into it, plus its flat fee once reached;
- volume: the tier the whole quantity falls into prices every unit, plus that tier's flat fee;
- package: a price per started package of `package_size` units (rounded up);
- percentage: a rate of each transaction's amount plus a fixed fee, clamped per transaction to a
  minimum and maximum.
Included units (part of a plan) are free; the overage beyond them is priced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from azotte_platform.errors import InvalidArgument

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_DIGITS = 30
"""Longest decimal accepted (digits before and after the point)."""
MAX_DECIMALS = 12
MAX_MAGNITUDE = 18
MAX_TIERS = 50


class PricingModel(StrEnum):
    """How a quantity is priced."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"
    PERCENTAGE = "percentage"


CURRENCY = re.compile(r"^[A-Z]{3}$")
"""An ISO 4217 alphabetic code's shape."""


def parse_decimal(text: str, field: str, *, allow_empty: bool = False) -> Decimal | None:
    """A finite, non-negative decimal from its string form; anything else is INVALID_ARGUMENT naming `field`."""
    if not text.strip():
        if allow_empty:
            return None
        raise InvalidArgument.field(field, "is required: a decimal number such as 0.25")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidArgument.field(field, f"{text[:40]!r} is not a decimal number") from None
    if not value.is_finite():
        raise InvalidArgument.field(field, "must be a finite number")
    if value < 0:
        raise InvalidArgument.field(field, "must not be negative")
    exponent = value.as_tuple().exponent
    if len(value.as_tuple().digits) > MAX_DIGITS or not isinstance(exponent, int) or exponent < -MAX_DECIMALS:
        raise InvalidArgument.field(field, f"has more than {MAX_DIGITS} digits or {MAX_DECIMALS} decimals")
    if value and value.adjusted() >= MAX_MAGNITUDE:
        raise InvalidArgument.field(field, f"must be below 1e{MAX_MAGNITUDE}")
    return value


def to_minor(amount: Decimal) -> int:
    """An amount in minor units rounded to a whole minor unit (half up)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to `up_to` (inclusive; None = no end) at `unit_price` each, plus `flat_fee` once reached."""

    up_to: Decimal | None
    unit_price: Decimal = ZERO
    flat_fee: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Percentage:
    """`rate` percent of each transaction's amount plus `fixed_fee`, kept within the per-transaction bounds."""

    rate: Decimal
    fixed_fee: Decimal = ZERO
    min_per_transaction: Decimal | None = None
    max_per_transaction: Decimal | None = None

    def of(self, amount: Decimal) -> Decimal:
        fee = amount * self.rate / HUNDRED + self.fixed_fee
        if self.min_per_transaction is not None:
            fee = max(fee, self.min_per_transaction)
        if self.max_per_transaction is not None:
            fee = min(fee, self.max_per_transaction)
        return fee


@dataclass(frozen=True, slots=True)
class PriceModel:
    """A pricing model with its parameters and the units included for free."""

    model: PricingModel
    unit_price: Decimal = ZERO
    """Per unit (per unit model) or per package (package model)."""
    package_size: int = 1
    tiers: tuple[Tier, ...] = ()
    percentage: Percentage | None = None
    included_units: Decimal = ZERO

    def __post_init__(self) -> None:
        _validate(self)

    def billable(self, quantity: Decimal) -> Decimal:
        """The overage: units beyond those included."""
        return max(quantity - self.included_units, ZERO)

    def amount(self, quantity: Decimal) -> Decimal:
        """What `quantity` units cost, unrounded (a percentage prices `quantity` as one transaction's amount)."""
        billable = self.billable(quantity)
        match self.model:
            case PricingModel.PER_UNIT:
                return billable * self.unit_price
            case PricingModel.PACKAGE:
                packages = (billable / self.package_size).to_integral_value(rounding=ROUND_CEILING)
                return packages * self.unit_price
            case PricingModel.GRADUATED:
                return graduated(self.tiers, billable)
            case PricingModel.VOLUME:
                return volume(self.tiers, billable)
            case PricingModel.PERCENTAGE:
                assert self.percentage is not None
                return self.percentage.of(billable) if billable > 0 else ZERO

    def amount_of_transactions(self, amounts: Iterable[Decimal]) -> Decimal:
        """What a series of transactions costs: a percentage applies its bounds to each one; other models
        price their total."""
        if self.model is PricingModel.PERCENTAGE:
            assert self.percentage is not None
            return sum((self.percentage.of(amount) for amount in amounts), ZERO)
        return self.amount(sum(amounts, ZERO))


def graduated(tiers: Sequence[Tier], quantity: Decimal) -> Decimal:
    """Each tier prices the units falling into it; a tier's flat fee applies once any unit reaches it."""
    total = ZERO
    floor = ZERO
    for tier in tiers:
        if quantity <= floor:
            break
        ceiling = quantity if tier.up_to is None else min(quantity, tier.up_to)
        total += (ceiling - floor) * tier.unit_price + tier.flat_fee
        if tier.up_to is None:
            break
        floor = tier.up_to
    return total


def volume(tiers: Sequence[Tier], quantity: Decimal) -> Decimal:
    """The tier the whole quantity falls into prices every unit, plus its flat fee (nothing for no units)."""
    if quantity <= 0:
        return ZERO
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return quantity * tier.unit_price + tier.flat_fee
    raise AssertionError("the last tier has no end")  # validated: never reached


def _validate(price: PriceModel) -> None:
    if price.included_units < 0:
        raise InvalidArgument.field("included_units", "must not be negative")
    match price.model:
        case PricingModel.PACKAGE:
            if price.package_size < 1:
                raise InvalidArgument.field("package_size", "must be at least 1")
        case PricingModel.GRADUATED | PricingModel.VOLUME:
            _validate_tiers(price.tiers)
        case PricingModel.PERCENTAGE:
            _validate_percentage(price.percentage)
            if price.included_units:
                raise InvalidArgument.field("included_units", "does not apply to a percentage price")


def _validate_tiers(tiers: Sequence[Tier]) -> None:
    if not tiers:
        raise InvalidArgument.field("tiers", "a tiered price needs at least one tier")
    if len(tiers) > MAX_TIERS:
        raise InvalidArgument.field("tiers", f"at most {MAX_TIERS} tiers")
    previous = ZERO
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            raise InvalidArgument.field(f"tiers[{index}].up_to", "only the last tier may be open-ended")
        if last and tier.up_to is not None:
            raise InvalidArgument.field(f"tiers[{index}].up_to", "the last tier must be open-ended (no up_to)")
        if tier.up_to is not None and tier.up_to <= previous:
            raise InvalidArgument.field(f"tiers[{index}].up_to", "must be greater than the previous tier's")
        previous = tier.up_to if tier.up_to is not None else previous


def _validate_percentage(percentage: Percentage | None) -> None:
    if percentage is None:
        raise InvalidArgument.field("percentage", "a percentage price needs its rate")
    if percentage.rate > HUNDRED:
        raise InvalidArgument.field("percentage.rate", "must be at most 100")
    low, high = percentage.min_per_transaction, percentage.max_per_transaction
    if low is not None and high is not None and low > high:
        raise InvalidArgument.field("percentage.max_per_transaction", "must not be below the minimum")


@dataclass(frozen=True, slots=True)
class UsagePrice:
    """The price of a meter's usage (or of its usage with some dimension values) under a plan in a storefront."""

    storefront_id: str
    plan_id: str
    meter_key: str
    currency_code: str
    price: PriceModel
    dimensions: Mapping[str, str] = field(default_factory=dict)


def matching(prices: Iterable[UsagePrice], dimensions: Mapping[str, str]) -> UsagePrice | None:
    """The price for usage with these dimension values: the most specific price whose every dimension matches.

    A price without dimensions applies to all usage of its meter; one for `model=gpt-4o` only to that
    model's usage, and wins over the first.
    """
    best: UsagePrice | None = None
    for price in prices:
        fits = all(dimensions.get(name) == value for name, value in price.dimensions.items())
        if fits and (best is None or len(price.dimensions) > len(best.dimensions)):
            best = price
    return best
