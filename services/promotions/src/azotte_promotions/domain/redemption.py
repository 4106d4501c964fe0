"""A redemption: one checkout's use of a promotion, reserved, then confirmed (charge succeeded) or released
(charge failed, or the reservation timed out)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_promotions.domain.events import PromotionRedeemed
from azotte_promotions.domain.promotion import DiscountDuration
from azotte_promotions.errors import RedemptionConfirmed, RedemptionReleased

EXPIRED = "expired"
"""The release reason of a reservation that timed out."""


class RedemptionState(StrEnum):
    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    RELEASED = "released"


@dataclass(slots=True)
class Redemption:
    """What a checkout redeemed, and how far it got."""

    tenant_id: str
    id: str
    request_id: str
    promotion_id: str
    customer_id: str
    currency_code: str
    gross_minor: int
    discount_minor: int
    expires_at: datetime
    created_at: datetime
    code: str = ""
    batch_id: str = ""
    plan_id: str = ""
    product_line: str = ""
    storefront_id: str = ""
    channel: Channel | None = None
    duration: DiscountDuration = DiscountDuration.ONCE
    duration_periods: int = 0
    extra_trial_days: int = 0
    renewal_percent_basis_points: int = 0
    renewal_amount_off_minor: int = 0
    """A repeating or forever discount: what each later period takes off (a percent, or an amount in the
    redemption's currency)."""
    state: RedemptionState = RedemptionState.RESERVED
    charge_id: str = ""
    release_reason: str = ""
    confirmed_at: datetime | None = None
    released_at: datetime | None = None
    events: list[object] = field(default_factory=list)

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.discount_minor

    @property
    def timed_out(self) -> bool:
        """Released because its reservation timed out (a late confirmation may take it again)."""
        return self.state is RedemptionState.RELEASED and self.release_reason == EXPIRED

    def confirm(self, charge_id: str, now: datetime) -> bool:
        """Settle a reservation whose charge succeeded; False when it already was (a repeat)."""
        if self.state is RedemptionState.CONFIRMED:
            return False
        if self.state is RedemptionState.RELEASED and not self.timed_out:
            raise RedemptionReleased(
                f"redemption {self.id!r} was released ({self.release_reason}) and cannot be confirmed",
                metadata={"state": self.state.value},
            )
        # NOTE: a timed-out reservation reaches here only after its counts were taken again.
        self.state, self.charge_id, self.confirmed_at = RedemptionState.CONFIRMED, charge_id, now
        self.release_reason, self.released_at = "", None
        self.events.append(PromotionRedeemed(self.snapshot()))
        return True

    def release(self, reason: str, now: datetime) -> bool:
        """Give the reservation back; False when it already was released (a repeat)."""
        if self.state is RedemptionState.RELEASED:
            return False
        if self.state is RedemptionState.CONFIRMED:
            raise RedemptionConfirmed(
                f"redemption {self.id!r} is confirmed; refund its charge instead", metadata={"state": self.state.value}
            )
        self.state, self.release_reason, self.released_at = RedemptionState.RELEASED, reason, now
        return True

    def snapshot(self) -> Redemption:
        return replace(self, events=[])

    def pull_events(self) -> list[object]:
        events, self.events = self.events, []
        return events
