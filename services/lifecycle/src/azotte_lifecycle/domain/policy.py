"""Lifecycle policy: defined once per tenant, overridable per plan, identical for every channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from azotte_platform.errors import FieldViolation, InvalidArgument
from azotte_platform.reminders import reminder_day_violations

# NOTE: limits a tenant may set; beyond them a policy is a mistake (a year of grace keeps access unpaid).
MAX_GRACE_PERIOD = timedelta(days=60)
MAX_HOLD_PERIOD = timedelta(days=365)
MAX_PAUSE = timedelta(days=365)
MAX_RETRIES = 12


class TrialEndBehavior(StrEnum):
    """What happens when a trial ends."""

    CONVERT = "convert"
    EXPIRE_WITHOUT_PAYMENT_METHOD = "expire_without_payment_method"


class DuplicateAcrossChannels(StrEnum):
    """What a store or partner purchase of a product line the customer holds live on another channel does.

    A store has taken the money already, so nothing refuses it; an Azotte-billed checkout of a product line
    held live on any channel is refused whatever this says (one live subscription per product line).
    """

    ALLOW = "allow"
    FLAG = "flag"


class CancelMode(StrEnum):
    """When a customer cancellation takes effect."""

    AT_PERIOD_END = "at_period_end"
    IMMEDIATE = "immediate"


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Grace, retries, hold, trial end, pause, cancel, cross-channel duplicate and invoice reminder rules for a
    tenant or plan."""

    grace_period: timedelta = timedelta(days=3)
    retry_schedule_days: tuple[int, ...] = (1, 3, 5, 7)
    hold_period: timedelta = timedelta(days=30)
    trial_end_behavior: TrialEndBehavior = TrialEndBehavior.CONVERT
    max_pause: timedelta = timedelta(days=90)
    cancel_mode: CancelMode = CancelMode.AT_PERIOD_END
    duplicate_across_channels: DuplicateAcrossChannels = DuplicateAcrossChannels.ALLOW
    invoice_reminder_days: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        if self.grace_period < timedelta(0):
            violations.append(FieldViolation("grace_period", "must not be negative"))
        if self.hold_period < timedelta(0):
            violations.append(FieldViolation("hold_period", "must not be negative"))
        if self.max_pause < timedelta(0):
            violations.append(FieldViolation("max_pause", "must not be negative"))
        days = self.retry_schedule_days
        if any(day < 1 for day in days) or any(b <= a for a, b in pairwise(days)):
            violations.append(FieldViolation("retry_schedule_days", "must be positive and strictly increasing"))
        # NOTE: the days are signed offsets from an invoice's due date; payments checks them by the same rules.
        violations += reminder_day_violations(self.invoice_reminder_days, "invoice_reminder_days")
        if violations:
            raise InvalidArgument("invalid lifecycle policy", violations)

    def update_violations(self) -> list[FieldViolation]:
        """What an update may not set: lengths past their limits, retries outside the grace + hold window."""
        violations: list[FieldViolation] = []
        for name, longest in (
            ("grace_period", MAX_GRACE_PERIOD),
            ("hold_period", MAX_HOLD_PERIOD),
            ("max_pause", MAX_PAUSE),
        ):
            if getattr(self, name) > longest:
                violations.append(FieldViolation(name, f"must be at most {longest.days} days"))
        days = self.retry_schedule_days
        if len(days) > MAX_RETRIES:
            violations.append(FieldViolation("retry_schedule_days", f"must hold at most {MAX_RETRIES} retries"))
        # NOTE: retries run while the subscription is past due or on hold; a retry day past the end of
        # grace + hold would never run (the subscription has expired by then).
        window = self.grace_period + self.hold_period
        # NOTE: compared in days: a far-off retry day is past any window and past what a timedelta holds.
        if days and days[-1] > window / timedelta(days=1):
            violations.append(
                FieldViolation(
                    "retry_schedule_days",
                    f"the last retry (day {days[-1]}) must fall within grace + hold ({_days(window)} days)",
                )
            )
        return violations

    def retry_due_at(self, first_failure_at: datetime, attempt: int) -> datetime | None:
        """When retry number `attempt` (1-based) is due, or None once the schedule is exhausted."""
        # NOTE: retry days count from the first failed charge of the period (days 1, 3, 5, 7 after it).
        if attempt < 1 or attempt > len(self.retry_schedule_days):
            return None
        return first_failure_at + timedelta(days=self.retry_schedule_days[attempt - 1])

    def trial_end_charges(self, has_payment_method: bool) -> bool:
        """Whether a trial end should be charged (True) or expire the trial (False)."""
        return has_payment_method or self.trial_end_behavior is TrialEndBehavior.CONVERT


def _days(length: timedelta) -> str:
    return f"{length / timedelta(days=1):g}"


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """Per-plan overrides; None keeps the tenant's value."""

    grace_period: timedelta | None = None
    retry_schedule_days: tuple[int, ...] | None = None
    hold_period: timedelta | None = None
    trial_end_behavior: TrialEndBehavior | None = None
    max_pause: timedelta | None = None
    cancel_mode: CancelMode | None = None
    duplicate_across_channels: DuplicateAcrossChannels | None = None
    invoice_reminder_days: tuple[int, ...] | None = None

    @property
    def empty(self) -> bool:
        """Whether it overrides nothing."""
        return self == PolicyOverride()

    def apply_to(self, base: LifecyclePolicy) -> LifecyclePolicy:
        """Return `base` with this override's fields layered on top."""
        return replace(
            base,
            grace_period=base.grace_period if self.grace_period is None else self.grace_period,
            retry_schedule_days=(
                base.retry_schedule_days if self.retry_schedule_days is None else self.retry_schedule_days
            ),
            hold_period=base.hold_period if self.hold_period is None else self.hold_period,
            trial_end_behavior=self.trial_end_behavior or base.trial_end_behavior,
            max_pause=base.max_pause if self.max_pause is None else self.max_pause,
            cancel_mode=self.cancel_mode or base.cancel_mode,
            duplicate_across_channels=self.duplicate_across_channels or base.duplicate_across_channels,
            invoice_reminder_days=(
                base.invoice_reminder_days if self.invoice_reminder_days is None else self.invoice_reminder_days
            ),
        )


@dataclass(frozen=True, slots=True)
class TenantLifecyclePolicy:
    """A tenant's default policy and its per-plan overrides."""

    default: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    plan_overrides: Mapping[str, PolicyOverride] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Validate every effective policy up front so a bad override fails at update time.
        for override in self.plan_overrides.values():
            override.apply_to(self.default)
        object.__setattr__(self, "plan_overrides", MappingProxyType(dict(self.plan_overrides)))

    def for_plan(self, plan_id: str) -> LifecyclePolicy:
        """The effective policy of a plan."""
        override = self.plan_overrides.get(plan_id)
        return self.default if override is None else override.apply_to(self.default)

    def with_plan_override(self, plan_id: str, override: PolicyOverride) -> TenantLifecyclePolicy:
        """This policy with `plan_id`'s override replaced (removed when it overrides nothing)."""
        overrides = dict(self.plan_overrides)
        overrides.pop(plan_id, None)
        if not override.empty:
            overrides[plan_id] = override
        return TenantLifecyclePolicy(self.default, overrides)

    def update_violations(self) -> list[FieldViolation]:
        """`LifecyclePolicy.update_violations` of the default and of each plan's effective policy."""
        violations = self.default.update_violations()
        for plan_id, override in sorted(self.plan_overrides.items()):
            violations += [
                FieldViolation(f"plan_overrides[{plan_id}].{v.field}", v.description)
                for v in override.apply_to(self.default).update_violations()
            ]
        return violations


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """A stored version of a tenant's policy: 1 for the first update, 0 for the built-in default."""

    version: int
    policy: TenantLifecyclePolicy
    created_at: datetime | None = None
    actor: str = ""
