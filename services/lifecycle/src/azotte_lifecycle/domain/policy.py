"""Lifecycle policy: defined once per tenant, overridable per plan, identical for every channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from azotte_platform.errors import FieldViolation, InvalidArgument


class TrialEndBehavior(StrEnum):
    """What happens when a trial ends."""

    CONVERT = "convert"
    EXPIRE_WITHOUT_PAYMENT_METHOD = "expire_without_payment_method"


class CancelMode(StrEnum):
    """When a customer cancellation takes effect."""

    AT_PERIOD_END = "at_period_end"
    IMMEDIATE = "immediate"


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Grace, retries, hold, trial end, pause and cancel rules for a tenant or plan."""

    grace_period: timedelta = timedelta(days=3)
    retry_schedule_days: tuple[int, ...] = (1, 3, 5, 7)
    hold_period: timedelta = timedelta(days=30)
    trial_end_behavior: TrialEndBehavior = TrialEndBehavior.CONVERT
    max_pause: timedelta = timedelta(days=90)
    cancel_mode: CancelMode = CancelMode.AT_PERIOD_END

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
        if violations:
            raise InvalidArgument("invalid lifecycle policy", violations)

    def retry_due_at(self, first_failure_at: datetime, attempt: int) -> datetime | None:
        """When retry number `attempt` (1-based) is due, or None once the schedule is exhausted."""
        # NOTE: retry days count from the first failed charge of the period (days 1, 3, 5, 7 after it).
        if attempt < 1 or attempt > len(self.retry_schedule_days):
            return None
        return first_failure_at + timedelta(days=self.retry_schedule_days[attempt - 1])

    def trial_end_charges(self, has_payment_method: bool) -> bool:
        """Whether a trial end should be charged (True) or expire the trial (False)."""
        return has_payment_method or self.trial_end_behavior is TrialEndBehavior.CONVERT


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """Per-plan overrides; None keeps the tenant's value."""

    grace_period: timedelta | None = None
    retry_schedule_days: tuple[int, ...] | None = None
    hold_period: timedelta | None = None
    trial_end_behavior: TrialEndBehavior | None = None
    max_pause: timedelta | None = None
    cancel_mode: CancelMode | None = None

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
