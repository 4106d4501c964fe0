"""Every proto <-> domain translation of usage billing: prices, wallets, limits, charges and event payloads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from azotte.common.v1.money_pb2 import Money
from azotte.common.v1.subscription_state_pb2 import SUBSCRIPTION_STATE_EXPIRED
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events_pb2
from azotte.metering.v1 import events_pb2, metering_pb2
from azotte.metering.v1 import wallets_pb2 as pb
from azotte_metering.billing_ports import MovementEntry
from azotte_metering.domain.billing_events import (
    CreditGranted,
    DowngradeOrdered,
    LimitReached,
    LimitReleased,
    QuotaUsed,
    ThresholdCrossed,
    WalletRechargeFailed,
)
from azotte_metering.domain.charges import Period, PeriodToClose, UsageAccount, UsageBill, UsageCharges
from azotte_metering.domain.limits import Limit, LimitState, Measure, Policy
from azotte_metering.domain.pricing import Percentage, PriceModel, PricingModel, Tier, UsagePrice, parse_decimal
from azotte_metering.domain.usage import decimal_text
from azotte_metering.domain.wallets import AutoRecharge, CreditGrant, GrantSource, Wallet
from azotte_metering.errors import InvalidUsagePrice
from azotte_metering.service_layer.accounts import SubscriptionSnapshot
from azotte_metering.service_layer.limits import DowngradeOrder
from azotte_metering.service_layer.rating import RecordedUsage
from azotte_platform.convert import (
    enum_from_pb,
    enum_to_pb,
    from_timestamp,
    money,
    optional_from_timestamp,
    optional_timestamp,
    timestamp,
)
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event, ReceivedEvent

MAX_DIMENSION_TEXT = 256

# ---------------------------------------------------------------------------------------- prices


def _decimal(text: str, field: str, default: Decimal = Decimal(0)) -> Decimal:
    value = parse_decimal(text, field, allow_empty=True)
    return default if value is None else value


def _optional_decimal(text: str, field: str) -> Decimal | None:
    return parse_decimal(text, field, allow_empty=True)


def dimensions_from_pb(dimensions: Mapping[str, str], field: str) -> dict[str, str]:
    for name, value in dimensions.items():
        if not name or len(name) > MAX_DIMENSION_TEXT or len(value) > MAX_DIMENSION_TEXT:
            raise InvalidArgument.field(field, f"names and values are 1-{MAX_DIMENSION_TEXT} characters")
    return dict(dimensions)


def usage_price_from_pb(message: pb.UsagePrice) -> UsagePrice:
    """A price from its message; every problem is INVALID_ARGUMENT naming `price.<field>`."""
    try:
        model = enum_from_pb(PricingModel, "PRICING_MODEL", message.model, pb.PricingModel, "model")
        percentage = None
        if model is PricingModel.PERCENTAGE:
            p = message.percentage
            percentage = Percentage(
                _decimal(p.rate, "percentage.rate"),
                _decimal(p.fixed_fee, "percentage.fixed_fee"),
                _optional_decimal(p.min_per_transaction, "percentage.min_per_transaction"),
                _optional_decimal(p.max_per_transaction, "percentage.max_per_transaction"),
            )
        price = PriceModel(
            model,
            unit_price=_decimal(message.unit_price, "unit_price"),
            package_size=message.package_size if message.package_size else 1,
            tiers=tuple(
                Tier(
                    _optional_decimal(tier.up_to, f"tiers[{index}].up_to"),
                    _decimal(tier.unit_price, f"tiers[{index}].unit_price"),
                    _decimal(tier.flat_fee, f"tiers[{index}].flat_fee"),
                )
                for index, tier in enumerate(message.tiers)
            ),
            percentage=percentage,
            included_units=_decimal(message.included_units, "included_units"),
        )
    except InvalidArgument as error:
        violation = error.violations[0] if error.violations else None
        if violation is None:
            raise
        raise InvalidUsagePrice.field(f"price.{violation.field}", violation.description) from None
    return UsagePrice(
        message.storefront_id,
        message.plan_id,
        message.meter_key,
        message.currency_code,
        price,
        dimensions_from_pb(message.dimensions, "price.dimensions"),
    )


def usage_price_to_pb(price: UsagePrice) -> pb.UsagePrice:
    model = price.price
    message = pb.UsagePrice(
        storefront_id=price.storefront_id,
        plan_id=price.plan_id,
        meter_key=price.meter_key,
        dimensions=dict(price.dimensions),
        currency_code=price.currency_code,
        model=enum_to_pb("PRICING_MODEL", model.model, pb.PricingModel),
        unit_price=decimal_text(model.unit_price),
        package_size=model.package_size,
        tiers=[
            pb.PriceTier(
                up_to="" if t.up_to is None else decimal_text(t.up_to),
                unit_price=decimal_text(t.unit_price),
                flat_fee=decimal_text(t.flat_fee),
            )
            for t in model.tiers
        ],
        included_units=decimal_text(model.included_units),
    )
    if model.percentage is not None:
        p = model.percentage
        message.percentage.CopyFrom(
            pb.PercentagePrice(
                rate=decimal_text(p.rate),
                fixed_fee=decimal_text(p.fixed_fee),
                min_per_transaction="" if p.min_per_transaction is None else decimal_text(p.min_per_transaction),
                max_per_transaction="" if p.max_per_transaction is None else decimal_text(p.max_per_transaction),
            )
        )
    return message


# ---------------------------------------------------------------------------------------- wallets


def credit_amount(amount: Money, field: str) -> tuple[str, int]:
    """(currency, minor units) of a positive amount of credit."""
    if amount.amount_minor <= 0:
        raise InvalidArgument.field(f"{field}.amount_minor", "must be positive")
    return amount.currency_code, amount.amount_minor


def grant_source_from_pb(value: int) -> GrantSource:
    if value == pb.CREDIT_SOURCE_UNSPECIFIED:
        return GrantSource.ADMIN
    source = enum_from_pb(GrantSource, "CREDIT_SOURCE", value, pb.CreditSource, "source")
    if source is GrantSource.PURCHASE:
        raise InvalidArgument.field("source", "purchased credit comes from TopUpWallet, not a grant")
    return source


def grant_to_pb(grant: CreditGrant, currency_code: str) -> pb.CreditGrant:
    return pb.CreditGrant(
        grant_id=grant.grant_id,
        amount=money(grant.amount_minor, currency_code),
        remaining=money(grant.remaining_minor, currency_code),
        priority=grant.priority,
        source=enum_to_pb("CREDIT_SOURCE", grant.source, pb.CreditSource),
        grant_time=timestamp(grant.granted_at),
        expire_time=optional_timestamp(grant.expires_at),
    )


def auto_recharge_from_pb(request: pb.SetAutoRechargeRequest) -> AutoRecharge | None:
    if not request.HasField("auto_recharge"):
        return None
    rule = request.auto_recharge
    for field, amount in (("threshold", rule.threshold), ("amount", rule.amount)):
        if amount.currency_code != request.currency_code:
            raise InvalidArgument.field(f"auto_recharge.{field}.currency_code", "must be the wallet's currency")
    return AutoRecharge(rule.threshold.amount_minor, rule.amount.amount_minor)


def wallet_to_pb(wallet: Wallet, now: datetime) -> pb.Wallet:
    currency = wallet.currency_code
    usable = sorted((g for g in wallet.grants if g.usable_at(now)), key=CreditGrant.burn_order)
    message = pb.Wallet(
        customer_id=wallet.customer_id,
        currency_code=currency,
        balance=money(wallet.balance(now), currency),
        grants=[grant_to_pb(grant, currency) for grant in usable],
        storefront_id=wallet.storefront_id,
    )
    if wallet.auto_recharge is not None:
        rule = wallet.auto_recharge
        message.auto_recharge.CopyFrom(
            pb.AutoRecharge(threshold=money(rule.threshold_minor, currency), amount=money(rule.amount_minor, currency))
        )
    return message


def movement_to_pb(entry: MovementEntry) -> pb.WalletMovement:
    movement, currency = entry.movement, entry.currency_code
    return pb.WalletMovement(
        kind=enum_to_pb("MOVEMENT_KIND", movement.kind, pb.MovementKind),
        amount=money(movement.amount_minor, currency),
        grant_id=movement.grant_id,
        reference=movement.reference,
        balance_after=money(entry.balance_after_minor, currency),
        occur_time=timestamp(movement.at),
    )


# ---------------------------------------------------------------------------------------- limits


def limit_from_pb(message: pb.Limit) -> Limit:
    return Limit(
        message.limit_id,
        message.customer_id,
        message.feature_key,
        enum_from_pb(Measure, "LIMIT_MEASURE", message.measure, pb.LimitMeasure, "limit.measure"),
        _decimal(message.value, "limit.value"),
        enum_from_pb(Policy, "LIMIT_POLICY", message.policy, pb.LimitPolicy, "limit.policy"),
        message.meter_key,
        message.currency_code,
        tuple(message.alert_percents),
        message.downgrade_plan_id,
    )


def limit_to_pb(limit: Limit, state: LimitState | None = None) -> pb.Limit:
    return pb.Limit(
        limit_id=limit.limit_id,
        customer_id=limit.customer_id,
        feature_key=limit.feature_key,
        measure=enum_to_pb("LIMIT_MEASURE", limit.measure, pb.LimitMeasure),
        value=decimal_text(limit.value),
        policy=enum_to_pb("LIMIT_POLICY", limit.policy, pb.LimitPolicy),
        meter_key=limit.meter_key,
        currency_code=limit.currency_code,
        alert_percents=list(limit.alert_percents),
        alerted_percents=sorted(state.alerted) if state is not None else [],
        cut_off=state.cut_off if state is not None else False,
        downgrade_plan_id=limit.downgrade_plan_id,
        downgraded=state.downgraded if state is not None else False,
    )


# ---------------------------------------------------------------------------------------- charges


def charges_to_pb(charges: UsageCharges) -> pb.PreviewUsageChargesResponse:
    currency = charges.currency_code
    return pb.PreviewUsageChargesResponse(
        customer_id=charges.customer_id,
        period_start_time=timestamp(charges.period.start),
        period_end_time=timestamp(charges.period.end),
        lines=_lines_to_pb(charges),
        adjustments=_adjustments_to_pb(charges),
        subtotal=money(charges.subtotal_minor, currency),
        credited=money(charges.credited_minor, currency),
        due=money(charges.due_minor, currency),
        subscription_id=charges.subscription_id,
    )


def bill_to_pb(bill: UsageBill) -> pb.UsageBill:
    charges = bill.charges
    currency = charges.currency_code
    return pb.UsageBill(
        subscription_id=bill.subscription_id,
        customer_id=charges.customer_id,
        period_start_time=timestamp(charges.period.start),
        period_end_time=timestamp(charges.period.end),
        lines=_lines_to_pb(charges),
        adjustments=_adjustments_to_pb(charges),
        subtotal=money(charges.subtotal_minor, currency),
        credited=money(charges.credited_minor, currency),
        due=money(charges.due_minor, currency),
    )


def _lines_to_pb(charges: UsageCharges) -> list[pb.UsageChargeLine]:
    return [
        pb.UsageChargeLine(
            meter_key=line.meter_key,
            dimensions=dict(line.dimensions),
            quantity=decimal_text(line.quantity),
            included_units=decimal_text(line.included_units),
            billable_units=decimal_text(line.billable_units),
            amount=money(line.amount_minor, charges.currency_code),
            model=enum_to_pb("PRICING_MODEL", PricingModel(line.model), pb.PricingModel),
        )
        for line in charges.lines
    ]


def _adjustments_to_pb(charges: UsageCharges) -> list[pb.UsageAdjustment]:
    return [
        pb.UsageAdjustment(
            adjustment_id=a.adjustment_id,
            meter_key=a.meter_key,
            dimensions=dict(a.dimensions),
            usage_time=timestamp(a.usage_time),
            quantity=decimal_text(a.quantity),
            amount=money(a.amount_minor, charges.currency_code),
        )
        for a in charges.adjustments
    ]


def periods_to_close_from_pb(request: pb.CloseUsagePeriodsRequest) -> list[PeriodToClose]:
    """Each period to close; a missing time is INVALID_ARGUMENT naming it."""
    found = []
    for index, item in enumerate(request.periods):
        times = []
        for name in ("period_start_time", "period_end_time", "next_period_end_time"):
            try:
                at = optional_from_timestamp(item, name)
            except InvalidArgument as error:
                raise InvalidArgument.field(f"periods[{index}].{name}", "is not a valid time") from error
            if at is None:
                raise InvalidArgument.field(f"periods[{index}].{name}", "is required")
            times.append(at)
        start, end, next_end = times
        found.append(PeriodToClose(item.subscription_id, item.customer_id, Period(start, end), Period(end, next_end)))
    return found


# ---------------------------------------------------------------------------------------- events


def to_event(tenant_id: str, fact: object) -> Event:
    """The event published for a usage-billing domain event; each is about the customer."""
    if isinstance(fact, ThresholdCrossed):
        crossed = events_pb2.ThresholdCrossed(
            tenant_id=tenant_id,
            customer_id=fact.limit.customer_id,
            limit=limit_to_pb(fact.limit),
            percent=fact.percent,
            level=decimal_text(fact.level),
            period_start_time=timestamp(fact.period.start),
        )
        return Event(tenant_id, "threshold.crossed", crossed, about=fact.limit.customer_id)
    if isinstance(fact, LimitReached | LimitReleased):
        changed = events_pb2.LimitChanged(
            tenant_id=tenant_id,
            customer_id=fact.limit.customer_id,
            limit=limit_to_pb(fact.limit),
            denial=fact.limit.denial.value,
            level=decimal_text(fact.level),
            period_start_time=timestamp(fact.period.start),
        )
        kind = "limit.reached" if isinstance(fact, LimitReached) else "limit.released"
        return Event(tenant_id, kind, changed, about=fact.limit.customer_id)
    if isinstance(fact, QuotaUsed):
        used = events_pb2.QuotaUsed(
            tenant_id=tenant_id,
            customer_id=fact.customer_id,
            feature_key=fact.feature_key,
            meter_key=fact.meter_key,
            used=fact.used,
            period_start_time=timestamp(fact.window.start),
            period_end_time=None if fact.window.end is None else timestamp(fact.window.end),
        )
        return Event(tenant_id, "quota.used", used, about=fact.customer_id)
    if isinstance(fact, DowngradeOrdered):
        ordered = events_pb2.LimitChanged(
            tenant_id=tenant_id,
            customer_id=fact.limit.customer_id,
            limit=limit_to_pb(fact.limit),
            level=decimal_text(fact.level),
            period_start_time=timestamp(fact.period.start),
        )
        return Event(tenant_id, "limit.downgrade_ordered", ordered, about=fact.limit.customer_id)
    if isinstance(fact, CreditGranted):
        granted = events_pb2.CreditGranted(
            tenant_id=tenant_id,
            customer_id=fact.customer_id,
            grant=grant_to_pb(fact.grant, fact.currency_code),
            balance=money(fact.balance_minor, fact.currency_code),
        )
        return Event(tenant_id, "credit.granted", granted, about=fact.customer_id)
    if isinstance(fact, WalletRechargeFailed):
        failed = events_pb2.WalletRechargeFailed(
            tenant_id=tenant_id,
            customer_id=fact.customer_id,
            recharge_id=fact.recharge_id,
            amount=money(fact.amount_minor, fact.currency_code),
            failure=fact.failure,
        )
        return Event(tenant_id, "wallet.recharge_failed", failed, about=fact.customer_id)
    raise TypeError(f"no event for {type(fact).__name__}")


def recorded_usage(event: ReceivedEvent) -> list[RecordedUsage]:
    """A `usage.recorded` payload as the rating's input: one per (meter, dimension values) it names.

    NOTE: an event published when each group had its own carries its one group in the payload's own fields.
    """
    payload = event.payload(events_pb2.UsageRecorded)
    groups: Sequence[events_pb2.MeterUsage | events_pb2.UsageRecorded] = payload.usage or [payload]
    return [
        RecordedUsage(
            event_id=event.id,
            customer_id=payload.customer_id,
            meter_key=group.meter_key,
            aggregation=metering_pb2.Aggregation.Name(group.aggregation).removeprefix("AGGREGATION_").lower(),
            dimensions={name: value for name, value in group.dimensions.items() if value},
            first_event_time=from_timestamp(group.first_event_time),
            last_event_time=from_timestamp(group.last_event_time),
            event_count=group.event_count,
            quantity=Decimal(group.quantity or "0"),
        )
        for group in groups
        if payload.customer_id and group.meter_key
    ]


def downgrade_order(event: ReceivedEvent) -> DowngradeOrder | None:
    """A `limit.downgrade_ordered` payload as the downgrade to carry out; None without a customer or plan."""
    payload = event.payload(events_pb2.LimitChanged)
    if not payload.customer_id or not payload.limit.downgrade_plan_id:
        return None
    period = from_timestamp(payload.period_start_time).isoformat()
    return DowngradeOrder(payload.customer_id, payload.limit.limit_id, payload.limit.downgrade_plan_id, period)


def subscription_snapshot(event: ReceivedEvent) -> SubscriptionSnapshot | None:
    """A lifecycle `SubscriptionEvent` as the customer's usage account; None without a customer or period."""
    subscription = event.payload(lifecycle_events_pb2.SubscriptionEvent).subscription
    start = optional_from_timestamp(subscription, "current_period_start_time")
    end = optional_from_timestamp(subscription, "current_period_end_time")
    if not subscription.id or not subscription.customer_id or start is None or end is None:
        return None
    account = UsageAccount(
        subscription.customer_id,
        subscription.id,
        subscription.storefront_id,
        subscription.plan_id,
        subscription.renewal_price.currency_code,
        Period(start, end),
    )
    return SubscriptionSnapshot(account, billing=subscription.state != SUBSCRIPTION_STATE_EXPIRED)
