"""Every proto <-> domain translation of lifecycle: values of API messages, responses, and event payloads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2
from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.channel_events import ChannelEventKind, ChannelEventOutcome
from azotte_lifecycle.domain.contracts import ContractFeature
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.events import HistoryEntry, PendingPriceChange, SubscriptionEvent, SubscriptionSnapshot
from azotte_lifecycle.domain.policy import (
    CancelMode,
    DuplicateAcrossChannels,
    LifecyclePolicy,
    PolicyOverride,
    PolicyVersion,
    TenantLifecyclePolicy,
    TrialEndBehavior,
)
from azotte_lifecycle.domain.price_changes import (
    AffectedSubscription,
    CohortImpact,
    ExistingSubscribers,
    PriceChangeState,
    PriceOutlook,
    ProposedPrice,
)
from azotte_lifecycle.domain.proration import Proration
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import ChangeTiming, PlanChangePreview, Subscription
from azotte_lifecycle.ports import Price
from azotte_platform.convert import (
    enum_from_pb,
    enum_to_pb,
    money,
    optional_enum,
    optional_from_timestamp,
    optional_timestamp,
    timestamp,
)
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event

# ---------------------------------------------------------------------------------------- values


def channel_to_pb(channel: Channel) -> Any:
    return enum_to_pb("CHANNEL", channel, channel_pb2.Channel)


def channel_from_pb(value: int, field: str = "channel") -> Channel:
    return enum_from_pb(Channel, "CHANNEL", value, channel_pb2.Channel, field)


def feature_to_pb(feature: ContractFeature) -> catalog_pb2.FeatureGrant:
    """A custom feature as the catalog's plans express one: its key and its limit (absent: none)."""
    return catalog_pb2.FeatureGrant(feature_key=feature.feature_key, limit=feature.limit)


def state_to_pb(state: SubscriptionState | None) -> Any:
    return enum_to_pb("SUBSCRIPTION_STATE", state, subscription_state_pb2.SubscriptionState)


def state_from_pb(value: int, field: str = "state") -> SubscriptionState | None:
    pb_enum = subscription_state_pb2.SubscriptionState
    return optional_enum(SubscriptionState, "SUBSCRIPTION_STATE", value, pb_enum, field)


def optional_minor(message: Message, field: str) -> int | None:
    """An optional amount in minor units, or None when unset; negative is INVALID_ARGUMENT."""
    if not message.HasField(field):
        return None
    amount = int(getattr(message, field))
    if amount < 0:
        raise InvalidArgument.field(field, "must not be negative")
    return amount


def identity_to_pb(identity: ChannelIdentity) -> pb.ChannelIdentity:
    return pb.ChannelIdentity(
        kind=enum_to_pb("CHANNEL_IDENTITY_KIND", identity.kind, pb.ChannelIdentityKind),
        value=identity.value,
        issuer=identity.issuer,
    )


def identity_from_pb(message: pb.ChannelIdentity, field: str = "identity") -> ChannelIdentity:
    kind = enum_from_pb(IdentityKind, "CHANNEL_IDENTITY_KIND", message.kind, pb.ChannelIdentityKind, f"{field}.kind")
    return ChannelIdentity(kind, message.value, message.issuer)


def outcome_to_pb(outcome: ChannelEventOutcome) -> Any:
    return enum_to_pb("CHANNEL_EVENT_OUTCOME", outcome, pb.ChannelEventOutcome)


def timing_from_pb(value: int) -> ChangeTiming | None:
    return optional_enum(ChangeTiming, "PLAN_CHANGE_TIMING", value, pb.PlanChangeTiming, "timing")


def cancel_mode_from_pb(value: int) -> CancelMode | None:
    return optional_enum(CancelMode, "CANCEL_MODE", value, pb.CancelMode, "mode")


def billing_origin_from_pb(value: int) -> BillingOrigin:
    return enum_from_pb(BillingOrigin, "BILLING_ORIGIN", value, pb.BillingOrigin, "billing_origin")


def event_kind_from_pb(value: int, field: str) -> ChannelEventKind:
    return enum_from_pb(ChannelEventKind, "CHANNEL_EVENT_KIND", value, pb.ChannelEventKind, field)


def price_from_pb(amount: Money) -> Price:
    """A price as a store reports it (no tax added on top)."""
    return Price(amount.amount_minor, amount.currency_code)


# ---------------------------------------------------------------------------------------- responses


def customer_to_pb(customer: Customer) -> pb.Customer:
    identities = sorted(customer.identities, key=lambda i: (i.kind, i.issuer, i.value))
    return pb.Customer(
        id=customer.id,
        external_id=customer.external_id,
        email=customer.email,
        country_code=customer.country_code,
        identities=[identity_to_pb(i) for i in identities],
        create_time=timestamp(customer.created_at),
    )


def subscription_to_pb(sub: Subscription, outlook: PriceOutlook | None = None) -> pb.Subscription:
    """A subscription as the API shows it, with its price outlook when given (reads)."""
    message = _snapshot_to_pb(sub.snapshot(), sub.created_at)
    if outlook is not None:
        message.price_outlook.CopyFrom(outlook_to_pb(outlook, sub.currency_code))
    return message


def price_change_to_pb(change: PendingPriceChange, currency_code: str) -> pb.PendingPriceChange:
    return pb.PendingPriceChange(
        old_renewal_price=money(change.old_amount_minor, currency_code),
        new_renewal_price=money(change.amount_minor, currency_code),
        effective_time=timestamp(change.effective_at),
        notice_time=optional_timestamp(change.noticed_at),
        consent_required=change.consent_required,
        consent_time=optional_timestamp(change.consented_at),
        decline_time=optional_timestamp(change.declined_at),
        price_effective_time=optional_timestamp(change.price_effective_at),
    )


def outlook_to_pb(outlook: PriceOutlook, currency_code: str) -> pb.PriceOutlook:
    message = pb.PriceOutlook(
        current_price=money(outlook.current_amount_minor, currency_code),
        next_renewal_time=optional_timestamp(outlook.next_renewal_at),
        state=price_change_state_to_pb(outlook.state),
    )
    if outlook.next_amount_minor is not None:
        message.next_price.CopyFrom(money(outlook.next_amount_minor, currency_code))
    if outlook.change is not None:
        message.change.CopyFrom(price_change_to_pb(outlook.change, currency_code))
    return message


def price_change_state_to_pb(state: PriceChangeState) -> Any:
    return enum_to_pb("PRICE_CHANGE_STATE", state, pb.PriceChangeState)


def proposed_price_from_pb(request: pb.ListPriceChangeSubscribersRequest, now: datetime) -> ProposedPrice:
    """The price a dry run considers; unset effective time is now, unspecified rule is grandfathered."""
    existing = optional_enum(
        ExistingSubscribers,
        "EXISTING_SUBSCRIBERS",
        request.existing_subscribers,
        pb.ExistingSubscribers,
        "existing_subscribers",
    )
    channel = optional_enum(Channel, "CHANNEL", request.channel, channel_pb2.Channel, "channel")
    return ProposedPrice(
        request.storefront_id,
        request.plan_id,
        request.amount_minor,
        optional_from_timestamp(request, "effective_time") or now,
        existing or ExistingSubscribers.GRANDFATHERED,
        channel,
    )


def affected_to_pb(subscriber: AffectedSubscription, currency_code: str) -> pb.PriceChangeSubscriber:
    return pb.PriceChangeSubscriber(
        subscription_id=subscriber.subscription_id,
        customer_id=subscriber.customer_id,
        old_renewal_price=money(subscriber.old_amount_minor, currency_code),
        new_renewal_price=money(subscriber.new_amount_minor, currency_code),
        first_renewal_time=timestamp(subscriber.first_renewal_at),
    )


def cohort_to_pb(cohort: CohortImpact) -> pb.PriceChangeCohort:
    return pb.PriceChangeCohort(
        storefront_id=cohort.storefront_id,
        plan_id=cohort.plan_id,
        price_effective_time=timestamp(cohort.price_effective_at),
        cohort=cohort.cohort,
        subscriber_count=cohort.subscribers,
        consented_count=cohort.consented,
        declined_count=cohort.declined,
        renewed_count=cohort.renewed_at_new_price,
        churned_count=cohort.churned,
        revenue_before=money(cohort.revenue_before_minor, cohort.currency_code),
        revenue_after=money(cohort.revenue_after_minor, cohort.currency_code),
    )


def _snapshot_to_pb(snap: SubscriptionSnapshot, created_at: datetime | None = None) -> pb.Subscription:
    """A subscription as the API shows it; an event's snapshot carries no create time."""
    pending = None
    if snap.pending_plan_change is not None:
        change = snap.pending_plan_change
        pending = pb.PendingPlanChange(
            plan_id=change.plan_id,
            renewal_price=money(change.amount_minor, snap.currency_code),
            effective_time=timestamp(change.effective_at),
        )
    price_change = None
    if snap.pending_price_change is not None:
        price_change = price_change_to_pb(snap.pending_price_change, snap.currency_code)
    return pb.Subscription(
        id=snap.subscription_id,
        customer_id=snap.customer_id,
        plan_id=snap.plan_id,
        storefront_id=snap.storefront_id,
        channel=channel_to_pb(snap.channel),
        billing_origin=enum_to_pb("BILLING_ORIGIN", snap.billing_origin, pb.BillingOrigin),
        state=state_to_pb(snap.state),
        cancel_at_period_end=snap.cancel_at_period_end,
        period_index=snap.period_index,
        current_period_start_time=timestamp(snap.current_period_start),
        current_period_end_time=timestamp(snap.current_period_end),
        trial_end_time=optional_timestamp(snap.trial_end),
        grace_end_time=optional_timestamp(snap.grace_end),
        hold_end_time=optional_timestamp(snap.hold_end),
        resume_time=optional_timestamp(snap.resume_at),
        renewal_price=money(snap.renewal_amount_minor, snap.currency_code),
        retry_attempt=snap.retry_attempt,
        pending_plan_change=pending,
        entitled=snap.state.entitled,
        create_time=optional_timestamp(created_at),
        pending_price_change=price_change,
        discount=None if snap.discount is None else recurring_discount_to_pb(snap.discount),
        features=[feature_to_pb(feature) for feature in snap.features],
    )


def recurring_discount_to_pb(discount: RecurringDiscount) -> pb.RecurringDiscount:
    message = pb.RecurringDiscount(
        promotion_id=discount.promotion_id,
        redemption_id=discount.redemption_id,
        percent_basis_points=discount.percent_basis_points,
        renewals_left=discount.renewals_left,
    )
    if discount.amount_off_minor:
        message.amount_off.CopyFrom(money(discount.amount_off_minor, discount.currency_code))
    return message


def recurring_discount_from_pb(request: pb.CreateSubscriptionRequest) -> RecurringDiscount | None:
    """The request's discount, if it has one (INVALID_ARGUMENT under `discount.` when it does not make sense)."""
    if not request.HasField("discount"):
        return None
    message = request.discount
    renewals_left = message.renewals_left if message.HasField("renewals_left") else None
    return RecurringDiscount(
        promotion_id=message.promotion_id,
        redemption_id=message.redemption_id,
        percent_basis_points=message.percent_basis_points,
        amount_off_minor=message.amount_off.amount_minor,
        currency_code=message.amount_off.currency_code,
        renewals_left=renewals_left,
    )


def proration_to_pb(proration: Proration, currency_code: str) -> pb.Proration:
    return pb.Proration(
        credit=money(proration.credit_minor, currency_code),
        charge=money(proration.charge_minor, currency_code),
        net=money(proration.net_minor, currency_code),
        effective_time=timestamp(proration.effective_at),
    )


def plan_change_to_pb(
    preview: PlanChangePreview,
    currency_code: str,
    next_renewal_minor: int | None = None,
    discount: RecurringDiscount | None = None,
) -> pb.PlanChange:
    """A plan change as the API shows it; with the next renewal's price, what `discount` takes off it."""
    message = pb.PlanChange(
        new_plan_id=preview.new_plan.plan_id,
        direction=enum_to_pb("PLAN_CHANGE_DIRECTION", preview.direction, pb.PlanChangeDirection),
        timing=enum_to_pb("PLAN_CHANGE_TIMING", preview.timing, pb.PlanChangeTiming),
        proration=proration_to_pb(preview.proration, currency_code),
    )
    if next_renewal_minor is not None:
        message.next_renewal_price.CopyFrom(money(next_renewal_minor, currency_code))
        if discount is not None:
            message.next_renewal_discount.CopyFrom(money(discount.off(next_renewal_minor), currency_code))
    return message


def history_to_pb(entry: HistoryEntry) -> pb.SubscriptionHistoryEntry:
    return pb.SubscriptionHistoryEntry(
        occur_time=timestamp(entry.occurred_at),
        event_type=entry.event_type.value,
        from_state=state_to_pb(entry.from_state),
        to_state=state_to_pb(entry.to_state),
        cause=entry.cause.value,
        cause_ref=entry.cause_ref,
        actor=entry.actor,
    )


# ---------------------------------------------------------------------------------------- event payloads


def event_to_pb(event: SubscriptionEvent) -> events_pb2.SubscriptionEvent:
    """The payload of a subscription.* / trial.* event."""
    snap = event.subscription
    payload = events_pb2.SubscriptionEvent(
        subscription=_snapshot_to_pb(snap),
        previous_state=state_to_pb(event.previous_state),
        cause=event.cause.value,
        cause_ref=event.cause_ref,
        entitled=event.entitled,
        occur_time=timestamp(event.occurred_at),
        previous_plan_id=event.previous_plan_id,
    )
    if event.proration is not None:
        payload.proration.CopyFrom(proration_to_pb(event.proration, snap.currency_code))
    if event.refund_amount_minor:
        payload.refund_amount.CopyFrom(money(event.refund_amount_minor, snap.currency_code))
    if event.price_change is not None:
        payload.price_change.CopyFrom(price_change_to_pb(event.price_change, snap.currency_code))
    if event.discount_minor:
        payload.discount.CopyFrom(money(event.discount_minor, snap.currency_code))
    if event.duplicate_of is not None:
        payload.duplicate_of.CopyFrom(_snapshot_to_pb(event.duplicate_of))
    return payload


def to_event(tenant_id: str, event: SubscriptionEvent) -> Event:
    """The event published for a subscription's domain event."""
    return Event(tenant_id, event.event_type.value, event_to_pb(event))


def consistency_token(events: Iterable[Event]) -> str:
    """The consistency token of a write: the ids of the subscription events it publishes, which entitlement
    applies to its access projection ("" when the write published none, so there is nothing to wait for).

    NOTE: the format `ct1.<event id>.<event id>...` is read by entitlement only; callers treat it as opaque.
    """
    ids = [event.id for event in events if event.type.startswith(("subscription.", "trial."))]
    return "ct1." + ".".join(ids) if ids else ""


# ---------------------------------------------------------------------------------------- policy


def _duration(delta: timedelta) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromTimedelta(delta)
    return message


def _override_fields(source: LifecyclePolicy | PolicyOverride, message: Any) -> None:
    for name in ("grace_period", "hold_period", "max_pause"):
        value = getattr(source, name)
        if value is not None:
            getattr(message, name).CopyFrom(_duration(value))
    # NOTE: a day list set empty ("none") is still set, unlike one a plan leaves to the tenant's.
    for days, field in (
        (source.retry_schedule_days, message.retry_schedule),
        (source.invoice_reminder_days, message.invoice_reminder_days),
    ):
        if days is not None:
            field.SetInParent()
            field.days.extend(days)
    message.trial_end_behavior = enum_to_pb("TRIAL_END_BEHAVIOR", source.trial_end_behavior, pb.TrialEndBehavior)
    message.cancel_mode = enum_to_pb("CANCEL_MODE", source.cancel_mode, pb.CancelMode)
    message.duplicate_across_channels = enum_to_pb(
        "DUPLICATE_ACROSS_CHANNELS", source.duplicate_across_channels, pb.DuplicateAcrossChannels
    )


def policy_to_pb(policy: TenantLifecyclePolicy) -> pb.LifecyclePolicy:
    message = pb.LifecyclePolicy()
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
    "duplicate_across_channels": "duplicate_across_channels",
    "invoice_reminder_days": "invoice_reminder_days",
}


def _policy_values(message: Any, field: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("grace_period", "hold_period", "max_pause"):
        if message.HasField(name):
            values[name] = getattr(message, name).ToTimedelta()
    if message.HasField("retry_schedule"):
        values["retry_schedule_days"] = tuple(message.retry_schedule.days)
    if message.HasField("invoice_reminder_days"):
        values["invoice_reminder_days"] = tuple(sorted(message.invoice_reminder_days.days))
    behavior = optional_enum(
        TrialEndBehavior,
        "TRIAL_END_BEHAVIOR",
        message.trial_end_behavior,
        pb.TrialEndBehavior,
        f"{field}.trial_end_behavior",
    )
    mode = optional_enum(CancelMode, "CANCEL_MODE", message.cancel_mode, pb.CancelMode, f"{field}.cancel_mode")
    duplicates = optional_enum(
        DuplicateAcrossChannels,
        "DUPLICATE_ACROSS_CHANNELS",
        message.duplicate_across_channels,
        pb.DuplicateAcrossChannels,
        f"{field}.duplicate_across_channels",
    )
    chosen = (("trial_end_behavior", behavior), ("cancel_mode", mode), ("duplicate_across_channels", duplicates))
    values.update({k: v for k, v in chosen if v is not None})
    return values


def policy_from_pb(
    message: pb.LifecyclePolicy, current: TenantLifecyclePolicy, paths: Sequence[str]
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


def override_from_pb(message: pb.LifecyclePolicy, current: PolicyOverride, paths: Sequence[str]) -> PolicyOverride:
    """A plan's override after an update from `message`'s top-level fields: all of them when `paths` is
    empty, else the masked ones (a masked field left unset goes back to the tenant's value)."""
    values = _policy_values(message, "policy")
    if not paths:
        return PolicyOverride(**values)
    changes: dict[str, Any] = {}
    for path in paths:
        name = _POLICY_PATHS.get(path)
        if name is None:
            raise InvalidArgument.field("update_mask", f"{path!r} is not a field of a plan's policy")
        changes[name] = values.get(name)
    return replace(current, **changes)


def policy_version_to_pb(version: PolicyVersion) -> pb.LifecyclePolicyVersion:
    return pb.LifecyclePolicyVersion(
        version=version.version,
        policy=policy_to_pb(version.policy),
        create_time=optional_timestamp(version.created_at),
        actor=version.actor,
    )
