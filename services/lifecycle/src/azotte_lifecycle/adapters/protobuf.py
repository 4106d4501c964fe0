"""Domain objects to and from their protobuf messages (API responses and event payloads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf import duration_pb2, timestamp_pb2

from azotte.common.v1 import channel_pb2, money_pb2, subscription_state_pb2
from azotte.lifecycle.v1 import events_pb2, lifecycle_pb2
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.domain.events import HistoryEntry, SubscriptionEvent, SubscriptionSnapshot
from azotte_lifecycle.domain.policy import (
    CancelMode,
    LifecyclePolicy,
    PolicyOverride,
    TenantLifecyclePolicy,
    TrialEndBehavior,
)
from azotte_lifecycle.domain.proration import Proration
from azotte_lifecycle.domain.states import Channel, SubscriptionState
from azotte_lifecycle.domain.subscription import PlanChangePreview, Subscription
from azotte_platform.errors import InvalidArgument

E = TypeVar("E", bound=StrEnum)


def enum_to_pb(prefix: str, member: StrEnum | None, pb_enum: Any) -> Any:
    """`SubscriptionState.PAST_DUE` -> `SUBSCRIPTION_STATE_PAST_DUE` (0 for None)."""
    return 0 if member is None else pb_enum.Value(f"{prefix}_{member.name}")


def enum_from_pb(domain: type[E], prefix: str, value: int, pb_enum: Any, field: str) -> E:
    """The domain member of a proto enum value; unspecified or unknown is INVALID_ARGUMENT."""
    name = pb_enum.Name(value) if value in pb_enum.values() else ""
    member = name.removeprefix(f"{prefix}_")
    if value == 0 or member not in domain.__members__:
        raise InvalidArgument.field(field, f"must be one of {', '.join(m.name for m in domain)}")
    return domain[member]


def optional_enum(domain: type[E], prefix: str, value: int, pb_enum: Any, field: str) -> E | None:
    """Like `enum_from_pb` but unspecified means None."""
    return None if value == 0 else enum_from_pb(domain, prefix, value, pb_enum, field)


def optional_minor(message: Any, field: str) -> int | None:
    """An optional amount in minor units, or None when unset; negative is INVALID_ARGUMENT."""
    if not message.HasField(field):
        return None
    amount = int(getattr(message, field))
    if amount < 0:
        raise InvalidArgument.field(field, "must not be negative")
    return amount


def channel_to_pb(channel: Channel) -> Any:
    return enum_to_pb("CHANNEL", channel, channel_pb2.Channel)


def channel_from_pb(value: int, field: str = "channel") -> Channel:
    return enum_from_pb(Channel, "CHANNEL", value, channel_pb2.Channel, field)


def state_to_pb(state: SubscriptionState | None) -> Any:
    return enum_to_pb("SUBSCRIPTION_STATE", state, subscription_state_pb2.SubscriptionState)


def ts(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp, or None to leave the field unset."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def from_ts(message: Any, field: str) -> datetime | None:
    """The aware UTC datetime of a Timestamp field, or None when unset."""
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def money(amount_minor: int, currency_code: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency_code, amount_minor=amount_minor)


def identity_to_pb(identity: ChannelIdentity) -> lifecycle_pb2.ChannelIdentity:
    return lifecycle_pb2.ChannelIdentity(
        kind=enum_to_pb("CHANNEL_IDENTITY_KIND", identity.kind, lifecycle_pb2.ChannelIdentityKind),
        value=identity.value,
        issuer=identity.issuer,
    )


def identity_from_pb(message: lifecycle_pb2.ChannelIdentity, field: str = "identity") -> ChannelIdentity:
    kind = enum_from_pb(
        IdentityKind, "CHANNEL_IDENTITY_KIND", message.kind, lifecycle_pb2.ChannelIdentityKind, f"{field}.kind"
    )
    return ChannelIdentity(kind, message.value, message.issuer)


def customer_to_pb(customer: Customer) -> lifecycle_pb2.Customer:
    identities = sorted(customer.identities, key=lambda i: (i.kind, i.issuer, i.value))
    return lifecycle_pb2.Customer(
        id=customer.id,
        external_id=customer.external_id,
        email=customer.email,
        country_code=customer.country_code,
        identities=[identity_to_pb(i) for i in identities],
        create_time=ts(customer.created_at),
    )


def subscription_to_pb(sub: Subscription, created_at: datetime | None = None) -> lifecycle_pb2.Subscription:
    return snapshot_to_pb(sub.snapshot(), created_at)


def snapshot_to_pb(snap: SubscriptionSnapshot, created_at: datetime | None = None) -> lifecycle_pb2.Subscription:
    pending = None
    if snap.pending_plan_change is not None:
        change = snap.pending_plan_change
        pending = lifecycle_pb2.PendingPlanChange(
            plan_id=change.plan_id,
            renewal_price=money(change.amount_minor, snap.currency_code),
            effective_time=ts(change.effective_at),
        )
    return lifecycle_pb2.Subscription(
        id=snap.subscription_id,
        customer_id=snap.customer_id,
        plan_id=snap.plan_id,
        storefront_id=snap.storefront_id,
        channel=channel_to_pb(snap.channel),
        billing_origin=enum_to_pb("BILLING_ORIGIN", snap.billing_origin, lifecycle_pb2.BillingOrigin),
        state=state_to_pb(snap.state),
        cancel_at_period_end=snap.cancel_at_period_end,
        period_index=snap.period_index,
        current_period_start_time=ts(snap.current_period_start),
        current_period_end_time=ts(snap.current_period_end),
        trial_end_time=ts(snap.trial_end),
        grace_end_time=ts(snap.grace_end),
        hold_end_time=ts(snap.hold_end),
        resume_time=ts(snap.resume_at),
        renewal_price=money(snap.renewal_amount_minor, snap.currency_code),
        retry_attempt=snap.retry_attempt,
        pending_plan_change=pending,
        entitled=snap.state.entitled,
        create_time=ts(created_at),
    )


def proration_to_pb(proration: Proration, currency_code: str) -> lifecycle_pb2.Proration:
    return lifecycle_pb2.Proration(
        credit=money(proration.credit_minor, currency_code),
        charge=money(proration.charge_minor, currency_code),
        net=money(proration.net_minor, currency_code),
        effective_time=ts(proration.effective_at),
    )


def plan_change_to_pb(preview: PlanChangePreview, currency_code: str) -> lifecycle_pb2.PlanChange:
    return lifecycle_pb2.PlanChange(
        new_plan_id=preview.new_plan.plan_id,
        direction=enum_to_pb("PLAN_CHANGE_DIRECTION", preview.direction, lifecycle_pb2.PlanChangeDirection),
        timing=enum_to_pb("PLAN_CHANGE_TIMING", preview.timing, lifecycle_pb2.PlanChangeTiming),
        proration=proration_to_pb(preview.proration, currency_code),
    )


def event_to_pb(event: SubscriptionEvent) -> events_pb2.SubscriptionEvent:
    """The payload of a subscription.* / trial.* event."""
    snap = event.subscription
    payload = events_pb2.SubscriptionEvent(
        subscription=snapshot_to_pb(snap),
        previous_state=state_to_pb(event.previous_state),
        cause=event.cause.value,
        cause_ref=event.cause_ref,
        entitled=event.entitled,
        occur_time=ts(event.occurred_at),
        previous_plan_id=event.previous_plan_id,
    )
    if event.proration is not None:
        payload.proration.CopyFrom(proration_to_pb(event.proration, snap.currency_code))
    if event.refund_amount_minor:
        payload.refund_amount.CopyFrom(money(event.refund_amount_minor, snap.currency_code))
    return payload


def history_to_pb(entry: HistoryEntry) -> lifecycle_pb2.SubscriptionHistoryEntry:
    return lifecycle_pb2.SubscriptionHistoryEntry(
        occur_time=ts(entry.occurred_at),
        event_type=entry.event_type.value,
        from_state=state_to_pb(entry.from_state),
        to_state=state_to_pb(entry.to_state),
        cause=entry.cause.value,
        cause_ref=entry.cause_ref,
    )


def duration(delta: timedelta) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromTimedelta(delta)
    return message


def _override_fields(source: LifecyclePolicy | PolicyOverride, message: Any) -> None:
    for name in ("grace_period", "hold_period", "max_pause"):
        value = getattr(source, name)
        if value is not None:
            getattr(message, name).CopyFrom(duration(value))
    if source.retry_schedule_days is not None:
        message.retry_schedule.days.extend(source.retry_schedule_days)
    message.trial_end_behavior = enum_to_pb(
        "TRIAL_END_BEHAVIOR", source.trial_end_behavior, lifecycle_pb2.TrialEndBehavior
    )
    message.cancel_mode = enum_to_pb("CANCEL_MODE", source.cancel_mode, lifecycle_pb2.CancelMode)


def policy_to_pb(policy: TenantLifecyclePolicy) -> lifecycle_pb2.LifecyclePolicy:
    message = lifecycle_pb2.LifecyclePolicy()
    _override_fields(policy.default, message)
    for plan_id, override in policy.plan_overrides.items():
        _override_fields(override, message.plan_overrides[plan_id])
    return message


_POLICY_PATHS = {
    "grace_period": "grace_period",
    "retry_schedule": "retry_schedule_days",
    "hold_period": "hold_period",
    "trial_end_behavior": "trial_end_behavior",
    "max_pause": "max_pause",
    "cancel_mode": "cancel_mode",
}


def _policy_values(message: Any, field: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("grace_period", "hold_period", "max_pause"):
        if message.HasField(name):
            values[name] = getattr(message, name).ToTimedelta()
    if message.HasField("retry_schedule"):
        values["retry_schedule_days"] = tuple(message.retry_schedule.days)
    behavior = optional_enum(
        TrialEndBehavior,
        "TRIAL_END_BEHAVIOR",
        message.trial_end_behavior,
        lifecycle_pb2.TrialEndBehavior,
        f"{field}.trial_end_behavior",
    )
    mode = optional_enum(
        CancelMode, "CANCEL_MODE", message.cancel_mode, lifecycle_pb2.CancelMode, f"{field}.cancel_mode"
    )
    values.update({k: v for k, v in (("trial_end_behavior", behavior), ("cancel_mode", mode)) if v is not None})
    return values


def policy_from_pb(
    message: lifecycle_pb2.LifecyclePolicy, current: TenantLifecyclePolicy, paths: Sequence[str]
) -> TenantLifecyclePolicy:
    """The policy after an update: the whole message when `paths` is empty, else the masked fields."""
    values = _policy_values(message, "policy")
    overrides = {
        plan: PolicyOverride(**_policy_values(o, f"policy.plan_overrides[{plan}]"))
        for plan, o in message.plan_overrides.items()
    }
    if not paths:
        return TenantLifecyclePolicy(LifecyclePolicy(**values), overrides)
    defaults = LifecyclePolicy()
    changes: dict[str, Any] = {}
    for path in paths:
        if path == "plan_overrides":
            continue
        name = _POLICY_PATHS.get(path)
        if name is None:
            raise InvalidArgument.field("update_mask", f"{path!r} is not a field of LifecyclePolicy")
        # NOTE: a masked field absent from the message goes back to its default.
        changes[name] = values.get(name, getattr(defaults, name))
    return TenantLifecyclePolicy(
        replace(current.default, **changes),
        overrides if "plan_overrides" in paths else current.plan_overrides,
    )
