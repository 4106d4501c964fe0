"""Tax of a price under a storefront's tax policy, in integer minor units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from azotte_platform.errors import InvalidArgument


class TaxMode(StrEnum):
    """Whether the storefront's prices already contain tax or get it added on top."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


@dataclass(frozen=True)
class TaxPolicy:
    """A storefront's tax rule: a rate (0.19 for 19 %) and whether prices include it."""

    mode: TaxMode
    rate: Decimal
    country_code: str = ""

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.rate < Decimal(1):
            raise InvalidArgument.field("tax_policy.rate", "must be a fraction in [0, 1)")

    @classmethod
    def none(cls) -> TaxPolicy:
        """No tax (exclusive at a zero rate)."""
        return cls(TaxMode.EXCLUSIVE, Decimal(0))


@dataclass(frozen=True)
class TaxBreakdown:
    """What the customer pays (gross), the tax in it, and what the merchant keeps (net)."""

    gross_minor: int
    tax_minor: int
    net_minor: int


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_for_line(price_minor: int, policy: TaxPolicy) -> TaxBreakdown:
    """Tax of one price line.

    Rule: exclusive adds tax = round(price * r) on top (gross = price + tax, net = price);
    inclusive extracts tax = round(price * r / (1 + r)) from the price (gross = price,
    net = price - tax). Arithmetic is Decimal; each line is rounded once, ROUND_HALF_UP,
    to a whole minor unit.
    """
    if price_minor < 0:
        raise InvalidArgument.field("amount", "must not be negative")
    price = Decimal(price_minor)
    # NOTE: tax is rounded per line, half-up, in minor units (999 incl. 19 % -> 160 tax).
    if policy.mode is TaxMode.INCLUSIVE:
        tax = _round_minor(price * policy.rate / (1 + policy.rate))
        return TaxBreakdown(gross_minor=price_minor, tax_minor=tax, net_minor=price_minor - tax)
    tax = _round_minor(price * policy.rate)
    return TaxBreakdown(gross_minor=price_minor + tax, tax_minor=tax, net_minor=price_minor)


def tax_for_lines(prices_minor: Sequence[int], policy: TaxPolicy) -> TaxBreakdown:
    """Tax of several lines: each line rounded on its own, then summed."""
    lines = [tax_for_line(price, policy) for price in prices_minor]
    return TaxBreakdown(
        gross_minor=sum(line.gross_minor for line in lines),
        tax_minor=sum(line.tax_minor for line in lines),
        net_minor=sum(line.net_minor for line in lines),
    )


def split_refund_tax(
    refund_minor: int, charged: TaxBreakdown, already_refunded: TaxBreakdown | None = None
) -> TaxBreakdown:
    """Tax share of a (partial) refund, pro rata to the charge, rounded half-up."""
    previous = already_refunded or TaxBreakdown(0, 0, 0)
    if charged.gross_minor == 0:
        return TaxBreakdown(refund_minor, 0, refund_minor)
    # NOTE: the tax share is computed on the cumulative refunded amount and differenced,
    # so refunds that add up to the whole charge return exactly the charged tax.
    cumulative = previous.gross_minor + refund_minor
    cumulative_tax = _round_minor(Decimal(cumulative) * charged.tax_minor / charged.gross_minor)
    tax = cumulative_tax - previous.tax_minor
    return TaxBreakdown(gross_minor=refund_minor, tax_minor=tax, net_minor=refund_minor - tax)
