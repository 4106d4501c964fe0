"""A promotion's discount carried by a subscription: what each renewal takes off, and for how many renewals."""

from __future__ import annotations

from dataclasses import dataclass, replace

from azotte_platform.errors import InvalidArgument

MAX_PERCENT_BASIS_POINTS = 10_000
MAX_RENEWALS = 10_000


@dataclass(frozen=True, slots=True)
class RecurringDiscount:
    """A repeating or forever promotion redeemed at checkout, as the renewals apply it.

    Either `percent_basis_points` (10000 = 100 %) or `amount_off_minor` (in `currency_code`) is set.
    `renewals_left` counts the renewals it still applies to; None: every renewal (a forever discount).
    """

    promotion_id: str
    redemption_id: str
    percent_basis_points: int = 0
    amount_off_minor: int = 0
    currency_code: str = ""
    renewals_left: int | None = None

    def __post_init__(self) -> None:
        if not self.promotion_id:
            raise InvalidArgument.field("discount.promotion_id", "is required")
        if not self.redemption_id:
            raise InvalidArgument.field("discount.redemption_id", "is required")
        if bool(self.percent_basis_points) == bool(self.amount_off_minor):
            raise InvalidArgument.field("discount", "name either percent_basis_points or amount_off")
        if not 0 <= self.percent_basis_points <= MAX_PERCENT_BASIS_POINTS:
            raise InvalidArgument.field("discount.percent_basis_points", "must be between 1 and 10000")
        if self.amount_off_minor < 0:
            raise InvalidArgument.field("discount.amount_off", "must be positive")
        if self.renewals_left is not None and not 0 < self.renewals_left <= MAX_RENEWALS:
            raise InvalidArgument.field("discount.renewals_left", f"must be between 1 and {MAX_RENEWALS}")

    def off(self, amount_minor: int) -> int:
        """What it takes off a renewal priced `amount_minor` (never more than the price)."""
        if self.percent_basis_points:
            # NOTE: rounded half up to the minor unit in integers, as promotions rounds the checkout's discount.
            return min(amount_minor, (amount_minor * self.percent_basis_points + 5_000) // 10_000)
        return min(amount_minor, self.amount_off_minor)

    def after_renewal(self) -> RecurringDiscount | None:
        """The discount once a renewal it applied to was paid: one renewal fewer left (None: used up)."""
        if self.renewals_left is None:
            return self
        if self.renewals_left == 1:
            return None
        return replace(self, renewals_left=self.renewals_left - 1)
