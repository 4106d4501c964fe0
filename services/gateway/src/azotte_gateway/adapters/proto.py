"""Every translation between the services' messages, the gateway's domain and its public messages.

NOTE: what gateway.proto re-exports and what it translates (services/gateway/README.md): a catalog
resource the tenant declares itself (Storefront, Plan, Price, CatalogChange) is answered as the catalog
sends it; anything that carries internal fields or names its states differently is a gateway message,
built here. The shared vocabulary (Channel, SubscriptionState, Money) is copied as is.
"""

from __future__ import annotations

from typing import Any, TypeVar

from azotte.common.v1.money_pb2 import Money
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.domain.api_keys import ApiKey
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_platform import convert
from azotte_platform.errors import InvalidArgument

_DENIALS = {
    ent.ACCESS_REASON_NO_GRANT: gw.ACCESS_DENIAL_REASON_NO_ENTITLEMENT,
    ent.ACCESS_REASON_EXPIRED: gw.ACCESS_DENIAL_REASON_EXPIRED,
    ent.ACCESS_REASON_ON_HOLD: gw.ACCESS_DENIAL_REASON_ON_HOLD,
    ent.ACCESS_REASON_PAUSED: gw.ACCESS_DENIAL_REASON_PAUSED,
    ent.ACCESS_REASON_SUSPENDED: gw.ACCESS_DENIAL_REASON_SUSPENDED,
    ent.ACCESS_REASON_QUOTA_EXHAUSTED: gw.ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED,
}
_SOURCES = {
    ent.GRANT_SOURCE_SUBSCRIPTION: gw.ACCESS_SOURCE_KIND_SUBSCRIPTION,
    ent.GRANT_SOURCE_GROUP: gw.ACCESS_SOURCE_KIND_GROUP,
    ent.GRANT_SOURCE_PROMOTION: gw.ACCESS_SOURCE_KIND_PROMOTION,
    ent.GRANT_SOURCE_PARTNER: gw.ACCESS_SOURCE_KIND_PARTNER,
    ent.GRANT_SOURCE_MANUAL: gw.ACCESS_SOURCE_KIND_MANUAL,
}
_CHARGE_STATES = {
    pay.CHARGE_STATUS_PENDING: gw.CHARGE_STATE_PENDING,
    pay.CHARGE_STATUS_UNKNOWN: gw.CHARGE_STATE_PENDING,
    pay.CHARGE_STATUS_SUCCEEDED: gw.CHARGE_STATE_SUCCEEDED,
    pay.CHARGE_STATUS_FAILED: gw.CHARGE_STATE_FAILED,
    pay.CHARGE_STATUS_VOIDED: gw.CHARGE_STATE_VOIDED,
}
_REFUND_STATES = {
    pay.REFUND_STATUS_PENDING: gw.REFUND_STATE_PENDING,
    pay.REFUND_STATUS_SUCCEEDED: gw.REFUND_STATE_SUCCEEDED,
    pay.REFUND_STATUS_FAILED: gw.REFUND_STATE_FAILED,
}
_CANCEL_MODES = {
    gw.CANCELLATION_TIMING_UNSPECIFIED: lc.CANCEL_MODE_UNSPECIFIED,
    gw.CANCELLATION_TIMING_AT_PERIOD_END: lc.CANCEL_MODE_AT_PERIOD_END,
    gw.CANCELLATION_TIMING_IMMEDIATELY: lc.CANCEL_MODE_IMMEDIATE,
}
_PLAN_CHANGE_TIMINGS = {
    gw.PLAN_CHANGE_TIMING_UNSPECIFIED: lc.PLAN_CHANGE_TIMING_UNSPECIFIED,
    gw.PLAN_CHANGE_TIMING_IMMEDIATELY: lc.PLAN_CHANGE_TIMING_IMMEDIATE,
    gw.PLAN_CHANGE_TIMING_AT_PERIOD_END: lc.PLAN_CHANGE_TIMING_PERIOD_END,
}
_GATEWAY_TIMINGS = {value: key for key, value in _PLAN_CHANGE_TIMINGS.items()}
_ROLE = "API_KEY_ROLE"
_T = TypeVar("_T")
_MODE = "TENANT_MODE"


# --- requests to the services ---------------------------------------------------------------------


def _known(table: dict[Any, _T], value: int, pb_enum: Any, field: str) -> _T:
    """The value `table` maps a public enum number to; a number the enum does not define is INVALID_ARGUMENT."""
    if value not in table:
        raise InvalidArgument.field(field, f"must be one of {', '.join(pb_enum.keys())}")
    return table[value]


def cancel_mode(timing: gw.CancellationTiming.ValueType) -> lc.CancelMode.ValueType:
    """The lifecycle cancel mode of a public cancellation timing."""
    return _known(_CANCEL_MODES, timing, gw.CancellationTiming, "timing")


def plan_change_timing(timing: gw.PlanChangeTiming.ValueType) -> lc.PlanChangeTiming.ValueType:
    """The lifecycle plan change timing of a public one."""
    return _known(_PLAN_CHANGE_TIMINGS, timing, gw.PlanChangeTiming, "timing")


def role(value: ta.ApiKeyRole.ValueType) -> Role:
    """The role an API key is created with."""
    return convert.enum_from_pb(Role, _ROLE, value, ta.ApiKeyRole, "role")


def tenant_mode(value: ta.TenantMode.ValueType) -> TenantMode:
    """The mode a tenant is created in."""
    return convert.enum_from_pb(TenantMode, _MODE, value, ta.TenantMode, "mode")


# --- answers of the services, as tenants see them -------------------------------------------------


def customer(source: lc.Customer) -> gw.Customer:
    """A lifecycle customer, without the channel identities lifecycle keeps."""
    return gw.Customer(
        id=source.id,
        external_id=source.external_id,
        email=source.email,
        country_code=source.country_code,
        create_time=source.create_time,
    )


def subscription(source: lc.Subscription) -> gw.Subscription:
    """A lifecycle subscription, without its billing bookkeeping."""
    result = gw.Subscription(
        id=source.id,
        customer_id=source.customer_id,
        plan_id=source.plan_id,
        storefront_id=source.storefront_id,
        channel=source.channel,
        state=source.state,
        cancel_at_period_end=source.cancel_at_period_end,
        scheduled_plan_id=source.pending_plan_change.plan_id,
    )
    for name in (
        "current_period_start_time",
        "current_period_end_time",
        "trial_end_time",
        "resume_time",
        "create_time",
    ):
        if source.HasField(name):
            getattr(result, name).CopyFrom(getattr(source, name))
    return result


def _charge_state(source: pay.Charge) -> gw.ChargeState.ValueType:
    if source.status == pay.CHARGE_STATUS_SUCCEEDED and source.refunded.amount_minor > 0:
        fully = source.refunded.amount_minor >= source.gross.amount_minor
        return gw.CHARGE_STATE_REFUNDED if fully else gw.CHARGE_STATE_PARTIALLY_REFUNDED
    return _CHARGE_STATES.get(source.status, gw.CHARGE_STATE_UNSPECIFIED)


def charge(source: pay.Charge) -> gw.Charge:
    """A payments charge split into gross, tax and net, without its attempts and PSP references."""
    result = gw.Charge(
        id=source.id,
        customer_id=source.customer_id,
        subscription_id=source.subscription_id,
        state=_charge_state(source),
        decline_reason=source.decline.reason,
    )
    for name in ("gross", "tax", "net", "discount", "refunded", "create_time"):
        if source.HasField(name):
            getattr(result, name).CopyFrom(getattr(source, name))
    return result


def refund(source: pay.Refund) -> gw.Refund:
    """A payments refund."""
    return gw.Refund(
        id=source.id,
        charge_id=source.charge_id,
        state=_REFUND_STATES.get(source.status, gw.REFUND_STATE_UNSPECIFIED),
        amount=source.amount,
        reason=source.reason,
        create_time=source.create_time,
    )


def payment_method(source: pay.PaymentMethod) -> gw.PaymentMethod:
    """A payments method without its provider token."""
    return gw.PaymentMethod(
        id=source.id,
        customer_id=source.customer_id,
        brand=source.brand,
        last4=source.last4,
        is_default=source.is_default,
        create_time=source.create_time,
    )


def access_decision(feature_key: str, access: ent.CheckAccessResponse | ent.FeatureAccess) -> gw.AccessDecision:
    """An entitlement access answer as a decision."""
    decision = gw.AccessDecision(feature_key=feature_key, allowed=access.allowed)
    if not access.allowed:
        decision.denial_reason = _DENIALS.get(access.reason, gw.ACCESS_DENIAL_REASON_NO_ENTITLEMENT)
    if access.HasField("remaining"):
        decision.remaining_quota = access.remaining
    if access.HasField("valid_until"):
        decision.valid_until_time.CopyFrom(access.valid_until)
    if access.HasField("limit"):
        decision.quota_limit = access.limit
    if access.HasField("used"):
        decision.quota_used = access.used
    decision.sources.extend(
        gw.AccessSource(kind=_SOURCES.get(s.source, gw.ACCESS_SOURCE_KIND_UNSPECIFIED), reference=s.source_ref)
        for s in access.sources
    )
    return decision


def entitlement(source: ent.Entitlement) -> gw.Entitlement:
    """One feature a customer may use now, with the subscription that grants it (if any)."""
    access = source.access
    result = gw.Entitlement(feature_key=access.feature_key)
    subscription_refs = [s.source_ref for s in access.sources if s.source == ent.GRANT_SOURCE_SUBSCRIPTION]
    if subscription_refs:
        result.subscription_id = subscription_refs[0]
    starts = [g.valid_from for g in source.grants if g.HasField("valid_from")]
    if starts:
        result.start_time.CopyFrom(min(starts, key=lambda t: (t.seconds, t.nanos)))
    if access.HasField("valid_until"):
        result.end_time.CopyFrom(access.valid_until)
    if access.HasField("limit"):
        result.quota_limit = access.limit
    if access.HasField("used"):
        result.quota_used = access.used
    return result


def plan_change_quote(change: lc.PlanChange, next_period_amount: Money | None = None) -> gw.PlanChangeQuote:
    """What a lifecycle plan change costs (tax included in amount_due when the storefront's prices include it)."""
    proration = change.proration
    due = proration.net.amount_minor if proration.net.amount_minor > 0 else 0
    currency = proration.net.currency_code or proration.charge.currency_code
    quote = gw.PlanChangeQuote(
        new_plan_id=change.new_plan_id,
        timing=_GATEWAY_TIMINGS.get(change.timing, gw.PLAN_CHANGE_TIMING_UNSPECIFIED),
        amount_due=convert.money(due, currency),
        proration_credit=proration.credit,
    )
    if next_period_amount is not None:
        quote.next_period_amount.CopyFrom(next_period_amount)
    if proration.HasField("effective_time"):
        quote.effective_time.CopyFrom(proration.effective_time)
    return quote


# --- the gateway's own resources ------------------------------------------------------------------


def api_key(key: ApiKey) -> ta.ApiKey:
    """A stored key as the public message (its prefix, never its secret or hash)."""
    message = ta.ApiKey(
        id=key.id,
        display_name=key.name,
        role=convert.enum_to_pb(_ROLE, key.role, ta.ApiKeyRole),
        prefix=key.prefix,
        create_time=convert.timestamp(key.created_at),
    )
    if key.expires_at is not None:
        message.expire_time.CopyFrom(convert.timestamp(key.expires_at))
    if key.revoked_at is not None:
        message.revoke_time.CopyFrom(convert.timestamp(key.revoked_at))
    return message


def tenant(source: Tenant) -> ta.Tenant:
    """A tenant as the public message."""
    return ta.Tenant(id=source.id, display_name=source.name, mode=convert.enum_to_pb(_MODE, source.mode, ta.TenantMode))
