"""Every translation between the services' messages, the gateway's domain and its public messages.

NOTE: what gateway.proto re-exports and what it translates (services/gateway/README.md): a catalog
resource the tenant declares itself (Storefront, Plan, Price, CatalogChange) is answered as the catalog
sends it; anything that carries internal fields or names its states differently is a gateway message,
built here. The shared vocabulary (Channel, SubscriptionState, Money) is copied as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from azotte.common.v1.money_pb2 import Money
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import billing_pb2 as bl
from azotte.gateway.v1 import customers_pb2 as cu
from azotte.gateway.v1 import families_pb2 as fam
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import grants_pb2 as gr
from azotte.gateway.v1 import policy_pb2 as po
from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.metering.v1 import wallets_pb2
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.domain.api_keys import ApiKey
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.portal_users import PortalUser, portal_role
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
    ent.ACCESS_REASON_SPEND_LIMIT_REACHED: gw.ACCESS_DENIAL_REASON_SPEND_LIMIT_REACHED,
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
    """A lifecycle customer with its channel identities."""
    return gw.Customer(
        id=source.id,
        external_id=source.external_id,
        email=source.email,
        country_code=source.country_code,
        create_time=source.create_time,
        identities=[
            gw.ChannelIdentity(
                kind=_same(i.kind, lc.ChannelIdentityKind, gw.ChannelIdentityKind), value=i.value, issuer=i.issuer
            )
            for i in source.identities
        ],
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
    if source.HasField("price_outlook"):
        outlook = source.price_outlook
        result.current_price.CopyFrom(outlook.current_price)
        if outlook.HasField("next_price"):
            result.next_price.CopyFrom(outlook.next_price)
        if outlook.HasField("next_renewal_time"):
            result.next_renewal_time.CopyFrom(outlook.next_renewal_time)
        result.price_change.CopyFrom(price_change(outlook))
    if source.HasField("discount"):
        discount = source.discount
        result.renewal_discount.CopyFrom(
            gw.RenewalDiscount(
                promotion_id=discount.promotion_id,
                percent_basis_points=discount.percent_basis_points,
                amount_off=discount.amount_off if discount.HasField("amount_off") else None,
                renewals_left=discount.renewals_left if discount.HasField("renewals_left") else None,
            )
        )
    return result


def price_change_state(state: lc.PriceChangeState.ValueType) -> gw.PriceChangeState.ValueType:
    return gw.PriceChangeState.Value(lc.PriceChangeState.Name(state))


def price_change(outlook: lc.PriceOutlook) -> gw.PriceChange:
    """A subscription's price change as tenants see it (lifecycle's outlook, named by state)."""
    result = gw.PriceChange(state=price_change_state(outlook.state))
    if not outlook.HasField("change"):
        result.old_price.CopyFrom(outlook.current_price)
        result.new_price.CopyFrom(outlook.current_price)
        return result
    change = outlook.change
    result.old_price.CopyFrom(change.old_renewal_price)
    result.new_price.CopyFrom(change.new_renewal_price)
    result.consent_required = change.consent_required
    for name in ("effective_time", "notice_time", "consent_time", "decline_time"):
        if change.HasField(name):
            getattr(result, name).CopyFrom(getattr(change, name))
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
    result.lines.extend(charge_line(line) for line in source.lines)
    return result


def upcoming_charge_lines(
    amount: Money, discount: Money, usage: wallets_pb2.PreviewUsageChargesResponse
) -> list[gw.ChargeLine]:
    """The lines of a renewal to come: its recurring price (and discount), then the usage so far of the period it
    ends, less what prepaid credit already paid, as the renewal's charge will carry them."""
    currency = amount.currency_code
    lines = [
        gw.ChargeLine(
            kind=gw.CHARGE_LINE_KIND_RECURRING,
            amount=convert.money(amount.amount_minor + discount.amount_minor, currency),
        )
    ]
    if discount.amount_minor:
        lines.append(
            gw.ChargeLine(kind=gw.CHARGE_LINE_KIND_DISCOUNT, amount=convert.money(-discount.amount_minor, currency))
        )
    for line in usage.lines:
        lines.append(
            _usage_line(gw.CHARGE_LINE_KIND_USAGE, line.meter_key, line.dimensions, line.quantity, line.amount)
        )
    for adjustment in usage.adjustments:
        lines.append(
            _usage_line(
                gw.CHARGE_LINE_KIND_USAGE_ADJUSTMENT,
                adjustment.meter_key,
                adjustment.dimensions,
                adjustment.quantity,
                adjustment.amount,
            )
        )
    paid = usage.subtotal.amount_minor - usage.due.amount_minor
    if paid > 0:
        lines.append(gw.ChargeLine(kind=gw.CHARGE_LINE_KIND_USAGE_CREDIT, amount=convert.money(-paid, currency)))
    return lines


def _usage_line(
    kind: gw.ChargeLineKind.ValueType, meter_key: str, dimensions: Mapping[str, str], quantity: str, amount: Money
) -> gw.ChargeLine:
    return gw.ChargeLine(kind=kind, meter_key=meter_key, dimensions=dict(dimensions), quantity=quantity, amount=amount)


def charge_line(source: pay.ChargeLine) -> gw.ChargeLine:
    """A line of a payments charge (the kinds have the same names)."""
    return gw.ChargeLine(
        kind=gw.ChargeLineKind.Value(pay.ChargeLineKind.Name(source.kind)),
        description=source.description,
        meter_key=source.meter_key,
        dimensions=dict(source.dimensions),
        quantity=source.quantity,
        amount=source.amount,
    )


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
        type=gw.PaymentMethodType.Value(pay.PaymentMethodType.Name(source.type)),
    )


# --- billing: credit, the revenue report and the ledger (BillingService) ---------------------------

_MOVEMENT_KINDS = {
    pay.CREDIT_MOVEMENT_KIND_GRANT: bl.CREDIT_MOVEMENT_KIND_GRANT,
    pay.CREDIT_MOVEMENT_KIND_REFUND: bl.CREDIT_MOVEMENT_KIND_REFUND,
    pay.CREDIT_MOVEMENT_KIND_SPEND: bl.CREDIT_MOVEMENT_KIND_SPEND,
    pay.CREDIT_MOVEMENT_KIND_RELEASE: bl.CREDIT_MOVEMENT_KIND_RELEASE,
}
_REVENUE_DIMENSIONS = {
    bl.REVENUE_DIMENSION_PERIOD: pay.REVENUE_DIMENSION_PERIOD,
    bl.REVENUE_DIMENSION_STOREFRONT: pay.REVENUE_DIMENSION_STOREFRONT,
    bl.REVENUE_DIMENSION_CHANNEL: pay.REVENUE_DIMENSION_CHANNEL,
    bl.REVENUE_DIMENSION_PLAN: pay.REVENUE_DIMENSION_PLAN,
}


def credit_balance(source: pay.CreditBalance) -> bl.CreditBalance:
    """A payments credit balance."""
    return bl.CreditBalance(customer_id=source.customer_id, balance=source.balance)


def credit_movement_kind(kind: bl.CreditMovementKind.ValueType) -> pay.CreditMovementKind.ValueType:
    """The payments kind of a public movement kind (unspecified stays unspecified)."""
    inverse = {public: internal for internal, public in _MOVEMENT_KINDS.items()}
    return inverse.get(kind, pay.CREDIT_MOVEMENT_KIND_UNSPECIFIED)


def credit_movement(source: pay.CreditMovement) -> bl.CreditMovement:
    """A payments credit movement."""
    return bl.CreditMovement(
        id=source.id,
        customer_id=source.customer_id,
        kind=_MOVEMENT_KINDS.get(source.kind, bl.CREDIT_MOVEMENT_KIND_UNSPECIFIED),
        amount=source.amount,
        balance_after=source.balance_after,
        charge_id=source.charge_id,
        reason=source.reason,
        create_time=source.create_time,
    )


def revenue_dimension(dimension: bl.RevenueDimension.ValueType) -> pay.RevenueDimension.ValueType:
    """The payments dimension of a public one; unspecified or unknown is INVALID_ARGUMENT on `group_by`."""
    if dimension not in _REVENUE_DIMENSIONS:
        raise InvalidArgument.field("group_by", "must be PERIOD, STOREFRONT, CHANNEL or PLAN")
    return _REVENUE_DIMENSIONS[dimension]


def revenue_row(source: pay.RevenueRow) -> bl.RevenueRow:
    """A payments revenue row."""
    return bl.RevenueRow(
        period=source.period,
        storefront_id=source.storefront_id,
        channel=source.channel,
        plan_id=source.plan_id,
        gross_sales=source.gross_sales,
        discounts=source.discounts,
        refunds=source.refunds,
        net_revenue=source.net_revenue,
        tax=source.tax,
        store_commission=source.store_commission,
        proceeds=source.proceeds,
    )


def ledger_currency_balance(source: pay.CurrencyTrialBalance) -> bl.LedgerCurrencyBalance:
    """One currency of the payments trial balance."""
    return bl.LedgerCurrencyBalance(
        currency_code=source.currency_code,
        accounts=[bl.LedgerAccountBalance(account=a.account, balance=a.balance) for a in source.accounts],
        total_minor=source.total_minor,
    )


def changes_by_itself_at(access: ent.CheckAccessResponse) -> datetime | None:
    """When an access answer changes with no event: its grants end, or its quota's usage period does."""
    moments = [
        getattr(access, name).ToDatetime(tzinfo=UTC)
        for name in ("valid_until", "usage_period_end")
        if access.HasField(name)
    ]
    return min(moments, default=None)


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
    if access.HasField("usage_period_end"):
        decision.quota_reset_time.CopyFrom(access.usage_period_end)
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
    if access.HasField("usage_period_end"):
        result.quota_reset_time.CopyFrom(access.usage_period_end)
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
    if change.HasField("next_renewal_discount"):
        quote.next_period_discount.CopyFrom(change.next_renewal_discount)
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


# --- grants by hand (GrantsService) ---------------------------------------------------------------

_CORRECTIONS = {
    ent.DRIFT_CORRECTION_KIND_GRANT: gr.GRANT_CORRECTION_KIND_GRANTED,
    ent.DRIFT_CORRECTION_KIND_REVOKE: gr.GRANT_CORRECTION_KIND_REVOKED,
    ent.DRIFT_CORRECTION_KIND_CHANGE: gr.GRANT_CORRECTION_KIND_CHANGED,
}


def grant(source: ent.Grant) -> gr.Grant:
    """An entitlement grant, its source named as access sources are."""
    result = gr.Grant(
        grant_id=source.grant_id,
        customer_id=source.customer_id,
        feature_key=source.feature_key,
        source=_SOURCES.get(source.source.source, gw.ACCESS_SOURCE_KIND_UNSPECIFIED),
        source_ref=source.source.source_ref,
        start_time=source.valid_from,
    )
    if source.HasField("valid_until"):
        result.end_time.CopyFrom(source.valid_until)
    if source.HasField("limit"):
        result.limit = source.limit
    if source.HasField("audit"):
        audit = source.audit
        result.audit.CopyFrom(gr.GrantAudit(actor=audit.actor, time=audit.time, reason=audit.reason))
    return result


def feature_suspension(source: ent.FeatureSuspension) -> gr.FeatureSuspension:
    return gr.FeatureSuspension(
        customer_id=source.customer_id,
        feature_key=source.feature_key,
        reason=source.reason,
        suspend_time=source.suspend_time,
    )


def grant_correction(source: ent.DriftCorrection) -> gr.GrantCorrection:
    result = gr.GrantCorrection(
        kind=_CORRECTIONS.get(source.kind, gr.GRANT_CORRECTION_KIND_UNSPECIFIED), grant=grant(source.grant)
    )
    if source.HasField("previous"):
        result.previous.CopyFrom(grant(source.previous))
    return result


# --- families -------------------------------------------------------------------------------------

_INVITE_STATES = {
    ent.GROUP_INVITE_STATE_PENDING: fam.FAMILY_INVITE_STATE_PENDING,
    ent.GROUP_INVITE_STATE_ACCEPTED: fam.FAMILY_INVITE_STATE_ACCEPTED,
    ent.GROUP_INVITE_STATE_EXPIRED: fam.FAMILY_INVITE_STATE_EXPIRED,
}


def family(source: ent.Group) -> fam.Family:
    """An entitlement group as the owner's family, with the seats left for invites."""
    available = source.seat_limit - source.seats_used - source.pending_invite_count
    return fam.Family(
        family_id=source.group_id,
        owner_customer_id=source.owner_customer_id,
        subscription_id=source.subscription_id,
        seat_limit=source.seat_limit,
        seats_used=source.seats_used,
        pending_invite_count=source.pending_invite_count,
        seats_available=max(available, 0),
    )


def family_member(source: ent.GroupMember) -> fam.FamilyMember:
    """A group member with their access to the shared features."""
    return fam.FamilyMember(
        customer_id=source.customer_id,
        join_time=source.join_time,
        invite_code=source.invite_code,
        access=[access_decision(a.feature_key, a) for a in source.access],
    )


def family_invite(source: ent.GroupInvite) -> fam.FamilyInvite:
    return fam.FamilyInvite(
        code=source.code,
        family_id=source.group_id,
        create_time=source.create_time,
        expire_time=source.expire_time,
        state=_INVITE_STATES.get(source.state, fam.FAMILY_INVITE_STATE_UNSPECIFIED),
        accepted_customer_id=source.accepted_customer_id,
    )


# --- customers and lifecycle policy ---------------------------------------------------------------


def _same(value: int, source_enum: Any, target_enum: Any, field: str = "") -> Any:
    """The member of `target_enum` named as `value` is in `source_enum` (both enums spell their members alike)."""
    if value not in source_enum.values():
        raise InvalidArgument.field(field, f"must be one of {', '.join(source_enum.keys())}")
    return target_enum.Value(source_enum.Name(value))


def channel_identity(source: gw.ChannelIdentity, field: str = "identity") -> lc.ChannelIdentity:
    """The lifecycle identity of a public one."""
    kind = _same(source.kind, gw.ChannelIdentityKind, lc.ChannelIdentityKind, f"{field}.kind")
    return lc.ChannelIdentity(kind=kind, value=source.value, issuer=source.issuer)


def history_entry(source: lc.SubscriptionHistoryEntry) -> cu.SubscriptionHistoryEntry:
    """An audit line of a subscription."""
    return cu.SubscriptionHistoryEntry(
        occur_time=source.occur_time,
        event_type=source.event_type,
        from_state=source.from_state,
        to_state=source.to_state,
        cause=source.cause,
        cause_ref=source.cause_ref,
        actor=source.actor,
    )


_CANCEL_TIMINGS = {value: key for key, value in _CANCEL_MODES.items()}
_RULE_DURATIONS = ("grace_period", "hold_period", "max_pause")
_RULE_DAY_LISTS = ("retry_schedule", "invoice_reminder_days")


def _copy_rules(source: Any, target: Any) -> None:
    """The durations and day lists `source` sets, onto `target` (public rules and lifecycle's name them alike).

    NOTE: a day list set but empty stays set: "no retries" or "no reminders", not "the default" (or in a plan
    override, not "the tenant's").
    """
    for name in _RULE_DURATIONS:
        if source.HasField(name):
            getattr(target, name).CopyFrom(getattr(source, name))
    for name in _RULE_DAY_LISTS:
        if source.HasField(name):
            getattr(target, name).SetInParent()
            getattr(target, name).days.extend(getattr(source, name).days)


def policy_rules(source: lc.LifecyclePolicy | lc.LifecyclePolicyOverride) -> po.LifecyclePolicyRules:
    """Lifecycle's policy (or a plan's override) as public rules; unset fields stay unset."""
    rules = po.LifecyclePolicyRules(
        trial_end_behavior=_same(source.trial_end_behavior, lc.TrialEndBehavior, po.TrialEndBehavior),
        cancel_timing=_CANCEL_TIMINGS.get(source.cancel_mode, gw.CANCELLATION_TIMING_UNSPECIFIED),
        duplicate_across_channels=_same(
            source.duplicate_across_channels, lc.DuplicateAcrossChannels, po.DuplicateAcrossChannels
        ),
    )
    _copy_rules(source, rules)
    return rules


def lifecycle_policy(source: lc.LifecyclePolicy, version: int, update_time: Any, actor: str) -> po.LifecyclePolicy:
    """The tenant's policy at a version."""
    policy = po.LifecyclePolicy(rules=policy_rules(source), version=version, update_actor=actor)
    for plan_id, override in source.plan_overrides.items():
        policy.plan_overrides[plan_id].CopyFrom(policy_rules(override))
    if update_time is not None:
        policy.update_time.CopyFrom(update_time)
    return policy


def lifecycle_rules(rules: po.LifecyclePolicyRules) -> lc.LifecyclePolicy:
    """Public rules as lifecycle's policy message (its top-level fields)."""
    policy = lc.LifecyclePolicy(
        trial_end_behavior=_same(
            rules.trial_end_behavior, po.TrialEndBehavior, lc.TrialEndBehavior, "rules.trial_end_behavior"
        ),
        cancel_mode=_known(_CANCEL_MODES, rules.cancel_timing, gw.CancellationTiming, "rules.cancel_timing"),
        duplicate_across_channels=_same(
            rules.duplicate_across_channels,
            po.DuplicateAcrossChannels,
            lc.DuplicateAcrossChannels,
            "rules.duplicate_across_channels",
        ),
    )
    _copy_rules(rules, policy)
    return policy


# --- portal users -----------------------------------------------------------------------------------

_PORTAL_ROLE = "PORTAL_USER_ROLE"


def portal_user_role(value: pu.PortalUserRole.ValueType) -> Role:
    """The role a portal user is created with."""
    return portal_role(convert.enum_from_pb(Role, _PORTAL_ROLE, value, pu.PortalUserRole, "role"))


def portal_user(user: PortalUser) -> pu.PortalUser:
    """A portal user as the public message (never its password hash)."""
    message = pu.PortalUser(
        id=user.id,
        email=user.email,
        role=convert.enum_to_pb(_PORTAL_ROLE, user.role, pu.PortalUserRole),
        create_time=convert.timestamp(user.created_at),
    )
    if user.disabled_at is not None:
        message.disable_time.CopyFrom(convert.timestamp(user.disabled_at))
    return message
