"""JSON forms of the subscription aggregate and the tenant policy, as stored in JSONB columns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from azotte_lifecycle.domain.events import PendingPlanChange
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import (
    CancelMode,
    LifecyclePolicy,
    PolicyOverride,
    TenantLifecyclePolicy,
    TrialEndBehavior,
)
from azotte_lifecycle.domain.states import BillingOrigin, Channel, SubscriptionState
from azotte_lifecycle.domain.subscription import Subscription

_TIMES = (
    "current_period_start",
    "current_period_end",
    "period_anchor",
    "trial_end",
    "first_failure_at",
    "grace_end",
    "hold_end",
    "next_retry_at",
    "paused_at",
    "resume_at",
    "last_channel_event_at",
)
_PLAIN = (
    "id",
    "tenant_id",
    "customer_id",
    "plan_id",
    "storefront_id",
    "currency_code",
    "renewal_amount_minor",
    "period_index",
    "current_period_amount_minor",
    "anchor_period_index",
    "cancel_at_period_end",
    "retry_attempt",
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _interval(interval: BillingInterval) -> dict[str, Any]:
    return {"unit": interval.unit.value, "count": interval.count}


def _parse_interval(data: dict[str, Any]) -> BillingInterval:
    return BillingInterval(IntervalUnit(data["unit"]), int(data["count"]))


def subscription_to_json(sub: Subscription) -> dict[str, Any]:
    """The aggregate's state (history, events and seen channel event ids live elsewhere)."""
    data: dict[str, Any] = {name: getattr(sub, name) for name in _PLAIN}
    data.update({name: _time(getattr(sub, name)) for name in _TIMES})
    data.update(
        channel=sub.channel.value,
        billing_origin=sub.billing_origin.value,
        state=sub.state.value,
        interval=_interval(sub.interval),
    )
    change = sub.pending_plan_change
    data["pending_plan_change"] = None
    if change is not None:
        data["pending_plan_change"] = {
            "plan_id": change.plan_id,
            "amount_minor": change.amount_minor,
            "interval": _interval(change.interval),
            "effective_at": change.effective_at.isoformat(),
        }
    return data


def subscription_from_json(data: dict[str, Any]) -> Subscription:
    """Rebuild the aggregate stored by `subscription_to_json`."""
    change = data.get("pending_plan_change")
    pending = None
    if change is not None:
        pending = PendingPlanChange(
            change["plan_id"],
            int(change["amount_minor"]),
            _parse_interval(change["interval"]),
            datetime.fromisoformat(change["effective_at"]),
        )
    times = {name: _parse(data.get(name)) for name in _TIMES}
    return Subscription(
        **{name: data[name] for name in _PLAIN},
        **times,  # type: ignore[arg-type]
        channel=Channel(data["channel"]),
        billing_origin=BillingOrigin(data["billing_origin"]),
        state=SubscriptionState(data["state"]),
        interval=_parse_interval(data["interval"]),
        pending_plan_change=pending,
    )


_POLICY_FIELDS = (
    "grace_period",
    "retry_schedule_days",
    "hold_period",
    "trial_end_behavior",
    "max_pause",
    "cancel_mode",
)


def _policy_fields(source: LifecyclePolicy | PolicyOverride) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _POLICY_FIELDS:
        value = getattr(source, name)
        if isinstance(value, timedelta):
            value = value.total_seconds()
        elif isinstance(value, tuple):
            value = list(value)
        elif value is not None:
            value = str(value)
        out[name] = value
    return out


def _policy_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _POLICY_FIELDS:
        raw = data.get(name)
        if raw is None:
            continue
        if name in ("grace_period", "hold_period", "max_pause"):
            values[name] = timedelta(seconds=float(raw))
        elif name == "retry_schedule_days":
            values[name] = tuple(int(day) for day in raw)
        elif name == "trial_end_behavior":
            values[name] = TrialEndBehavior(raw)
        else:
            values[name] = CancelMode(raw)
    return values


def policy_to_json(policy: TenantLifecyclePolicy) -> dict[str, Any]:
    """A tenant policy and its per-plan overrides as JSON."""
    return {
        "default": _policy_fields(policy.default),
        "plan_overrides": {plan: _policy_fields(o) for plan, o in policy.plan_overrides.items()},
    }


def policy_from_json(data: dict[str, Any]) -> TenantLifecyclePolicy:
    """Rebuild the policy stored by `policy_to_json`."""
    return TenantLifecyclePolicy(
        default=LifecyclePolicy(**_policy_values(data["default"])),
        plan_overrides={
            plan: PolicyOverride(**_policy_values(raw)) for plan, raw in data.get("plan_overrides", {}).items()
        },
    )
