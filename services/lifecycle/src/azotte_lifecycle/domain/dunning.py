"""Due work, renewal charges and their outcomes: the vocabulary of renewal, trial end and dunning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class WorkKind(StrEnum):
    """What the scheduler has to do for a subscription."""

    RENEWAL = "renewal"
    TRIAL_END = "trial_end"
    RETRY = "retry"
    GRACE_END = "grace_end"
    HOLD_END = "hold_end"
    PAUSE_END = "pause_end"
    SCHEDULED_PLAN_CHANGE = "scheduled_plan_change"
    CANCELLATION = "cancellation"
    PRICE_NOTICE = "price_notice"

    @property
    def charges(self) -> bool:
        """Whether doing this work means charging the customer."""
        return self in (WorkKind.RENEWAL, WorkKind.TRIAL_END, WorkKind.RETRY)


# Among items due at the same moment, the earlier kind here runs first.
WORK_PRIORITY: tuple[WorkKind, ...] = (
    WorkKind.CANCELLATION,
    WorkKind.SCHEDULED_PLAN_CHANGE,
    WorkKind.PAUSE_END,
    WorkKind.TRIAL_END,
    WorkKind.RENEWAL,
    WorkKind.RETRY,
    WorkKind.GRACE_END,
    WorkKind.HOLD_END,
    WorkKind.PRICE_NOTICE,
)


@dataclass(frozen=True, slots=True)
class DueWork:
    """The next thing to do for a subscription and when."""

    subscription_id: str
    kind: WorkKind
    due_at: datetime

    def is_due(self, now: datetime) -> bool:
        """Whether the work should run at `now`."""
        return self.due_at <= now


class ChargeOutcome(StrEnum):
    """Normalized result of a renewal charge as lifecycle sees it."""

    SUCCEEDED = "succeeded"
    SOFT_DECLINE = "soft_decline"
    HARD_DECLINE = "hard_decline"
    # A soft decline whose issuer wants the customer to authenticate (SCA): dunning, and a link to authenticate.
    AUTHENTICATION_REQUIRED = "authentication_required"


@dataclass(frozen=True, slots=True)
class RenewalCharge:
    """A charge the subscription needs: period it pays for, attempt number and idempotency key.

    `amount_minor` is what is charged (before tax), `discount_minor` what a promotion took off the price.
    """

    subscription_id: str
    period_index: int
    attempt: int
    amount_minor: int
    currency_code: str
    discount_minor: int = 0

    @property
    def idempotency_key(self) -> str:
        """The payments idempotency key of this charge."""
        return renewal_charge_key(self.subscription_id, self.period_index, self.attempt)


def renewal_charge_key(subscription_id: str, period_index: int, attempt: int) -> str:
    """Idempotency key of the charge for period `period_index`, attempt `attempt` (0 = first try)."""
    # NOTE: a repeat of the same (subscription, period, attempt) must never charge twice.
    return f"lifecycle:renewal:{subscription_id}:{period_index}:{attempt}"


def earliest(candidates: list[DueWork]) -> DueWork | None:
    """The earliest work item, breaking ties by `WORK_PRIORITY`."""
    if not candidates:
        return None
    return min(candidates, key=lambda work: (work.due_at, WORK_PRIORITY.index(work.kind)))
