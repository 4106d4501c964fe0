"""A charge's lines: what its amount is made of (a renewal's recurring price, the usage it bills in arrears,
the credit already paid for that usage, discounts), kept with the charge for its reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from azotte_platform.errors import InvalidArgument

MAX_LINES = 1000
MAX_TEXT = 500
MAX_QUANTITY = 40


class LineKind(StrEnum):
    """What a line bills."""

    UNSPECIFIED = "unspecified"
    RECURRING = "recurring"
    USAGE = "usage"
    USAGE_ADJUSTMENT = "usage_adjustment"
    USAGE_CREDIT = "usage_credit"
    DISCOUNT = "discount"


@dataclass(frozen=True)
class ChargeLine:
    """One line of a charge, in the charge's currency (minor units; credit and discounts are negative)."""

    kind: LineKind
    description: str
    amount_minor: int
    currency_code: str
    meter_key: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    """Sorted by name."""
    quantity: str = ""
    """A decimal string (usage lines)."""


def validate_lines(lines: Sequence[ChargeLine], amount_minor: int, currency_code: str) -> None:
    """Lines are optional; given, each is well formed, in the charge's currency, and together they add up to the
    charge's amount."""
    if not lines:
        return
    if len(lines) > MAX_LINES:
        raise InvalidArgument.field("lines", f"at most {MAX_LINES} lines")
    for index, line in enumerate(lines):
        _validate_line(line, f"lines[{index}]")
        if line.currency_code != currency_code:
            raise InvalidArgument.field(
                f"lines[{index}].amount.currency_code", f"must be the charge currency {currency_code}"
            )
    total = sum(line.amount_minor for line in lines)
    if total != amount_minor:
        raise InvalidArgument.field("lines", f"add up to {total}, not the amount {amount_minor}")


def _validate_line(line: ChargeLine, field: str) -> None:
    if line.kind is LineKind.UNSPECIFIED:
        raise InvalidArgument.field(f"{field}.kind", "is required")
    texts = [("description", line.description), ("meter_key", line.meter_key)]
    texts += [("dimensions", text) for pair in line.dimensions for text in pair]
    for name, text in texts:
        if len(text) > MAX_TEXT:
            raise InvalidArgument.field(f"{field}.{name}", f"must be at most {MAX_TEXT} characters")
    if line.quantity:
        try:
            valid = len(line.quantity) <= MAX_QUANTITY and Decimal(line.quantity).is_finite()
        except InvalidOperation:
            valid = False
        if not valid:
            raise InvalidArgument.field(f"{field}.quantity", "must be a decimal number")
    if line.kind in (LineKind.USAGE_CREDIT, LineKind.DISCOUNT) and line.amount_minor > 0:
        raise InvalidArgument.field(f"{field}.amount.amount_minor", "must not be positive for credit or a discount")
