"""The revenue stream: every revenue-relevant event of lifecycle, payments, promotions and entitlement, recorded once.

The same `RevenueProjection.apply` serves the live consumers and a rebuild that replays the streams from
their first event, so a rebuilt tenant has the same figures. Each event is recorded at most once (its id is
the key), and a tenant's events are applied one at a time under the tenant's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.payments.v1 import events_pb2 as payments_events
from azotte.payments.v1 import payments_pb2 as pay
from azotte.promotions.v1 import events_pb2 as promotions_events
from azotte.promotions.v1 import promotions_pb2 as promotions
from azotte_gateway.domain.revenue import RevenueEntry, UsageLine, monthly_minor, move, usage_lines
from azotte_gateway.ports import GatewayUnitOfWork, RevenueCatalog
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.tax import tax_for_line

log = logging.getLogger(__name__)

PRODUCERS = ("lifecycle", "payments", "promotions", "entitlement")
_ENTITLEMENT_TYPES = ("entitlement.granted", "entitlement.revoked", "entitlement.feature_suspended")


def _channel(value: channel_pb2.Channel.ValueType) -> str:
    return channel_pb2.Channel.Name(value).removeprefix("CHANNEL_") if value else ""


def _state(value: subscription_state_pb2.SubscriptionState.ValueType) -> str:
    return subscription_state_pb2.SubscriptionState.Name(value).removeprefix("SUBSCRIPTION_STATE_")


def _time(event: ReceivedEvent, stamp: object) -> datetime:
    seconds = getattr(stamp, "seconds", 0)
    return stamp.ToDatetime(tzinfo=event.time.tzinfo) if seconds else event.time  # type: ignore[attr-defined]


def _minor(money: Money) -> int:
    return money.amount_minor


@dataclass(frozen=True)
class RevenueProjection:
    """Turns bus events into revenue entries and keeps the per-subscription and per-customer standings."""

    catalog: RevenueCatalog

    async def prepare(self, uow: GatewayUnitOfWork, events: Sequence[ReceivedEvent]) -> None:
        """Before events are applied together: take their tenants' locks (in tenant order, as they are applied)
        and read at once which of them are in the stream."""
        by_tenant: dict[str, list[str]] = {}
        for event in events:
            by_tenant.setdefault(event.tenant_id, []).append(event.id)
        for tenant_id, event_ids in sorted(by_tenant.items()):
            await uow.revenue.lock_tenant(tenant_id)
            await uow.revenue.recall(tenant_id, event_ids)

    async def apply(self, uow: GatewayUnitOfWork, event: ReceivedEvent) -> None:
        """Record `event` in its tenant's revenue stream, unless it is not revenue-relevant or already there."""
        producer = event.source.rsplit("/", 1)[-1]
        revenue = uow.revenue
        await revenue.lock_tenant(event.tenant_id)
        if await revenue.has(event.tenant_id, event.id):
            return
        entry = await self._entry(uow, producer, event)
        if entry is not None:
            await revenue.add(event.tenant_id, entry)

    async def _entry(self, uow: GatewayUnitOfWork, producer: str, event: ReceivedEvent) -> RevenueEntry | None:
        base = RevenueEntry(event.id, event.time, producer, event.type)
        if producer == "lifecycle" and event.type.startswith(("subscription.", "trial.")):
            return await self._subscription(uow, event, base)
        if producer == "payments":
            return self._payment(event, base)
        if producer == "promotions" and event.type == "promotion.redeemed":
            redeemed = event.payload(promotions_events.PromotionRedeemed)
            return replace(
                base,
                occur_time=_time(event, redeemed.redeem_time),
                customer_id=redeemed.customer_id,
                plan_id=redeemed.plan_id,
                storefront_id=redeemed.storefront_id,
                channel=_channel(redeemed.channel),
                currency=redeemed.discount.currency_code,
                promotion_id=redeemed.promotion_id,
                charge_id=redeemed.charge_id,
                gross_minor=_minor(redeemed.gross),
                discount_minor=_minor(redeemed.discount),
                net_minor=_minor(redeemed.net),
            )
        if producer == "promotions" and event.type == "campaign.offer_issued":
            offer = event.payload(promotions_events.CampaignOfferIssued).offer
            return replace(
                base,
                occur_time=_time(event, offer.issue_time),
                customer_id=offer.customer_id,
                subscription_id=offer.subscription_id,
                plan_id=offer.plan_id,
                storefront_id=offer.storefront_id,
                channel=_channel(offer.channel),
                promotion_id=offer.promotion_id,
                campaign_id=offer.campaign_id,
            )
        if producer == "promotions" and event.type == "experiment.assigned":
            assigned = event.payload(promotions_events.ExperimentAssigned)
            return replace(
                base,
                occur_time=_time(event, assigned.assign_time),
                customer_id=assigned.customer_id,
                promotion_id=assigned.variant.promotion_id,
                experiment_id=assigned.experiment_id,
                variant_id=assigned.variant.id,
            )
        if producer == "promotions" and event.type == "trial.blocked":
            blocked = event.payload(promotions_events.TrialBlocked)
            kind = promotions.TrialMatchKind.Name(blocked.match_kind).removeprefix("TRIAL_MATCH_KIND_").lower()
            return replace(base, customer_id=blocked.customer_id, plan_id=blocked.plan_id, cause=kind)
        if producer == "promotions" and event.type == "promotion.exhausted":
            exhausted = event.payload(promotions_events.PromotionExhausted)
            return replace(base, promotion_id=exhausted.promotion_id)
        if producer == "promotions" and event.type == "promotion.budget_exhausted":
            spent = event.payload(promotions_events.PromotionBudgetExhausted)
            return replace(
                base,
                promotion_id=spent.promotion_id,
                currency=spent.budget.currency_code,
                discount_minor=_minor(spent.confirmed_discount),
            )
        if producer == "promotions" and event.type.startswith(("referral.", "campaign.", "experiment.")):
            return replace(base, customer_id=event.about)
        if producer == "entitlement" and event.type in _ENTITLEMENT_TYPES:
            return replace(base, customer_id=event.about)
        return None

    async def _subscription(self, uow: GatewayUnitOfWork, event: ReceivedEvent, base: RevenueEntry) -> RevenueEntry:
        payload = event.payload(lifecycle_events.SubscriptionEvent)
        subscription = payload.subscription
        tenant_id = event.tenant_id
        state = _state(subscription.state)
        price = subscription.renewal_price
        mrr = 0
        if price.currency_code and state in ("ACTIVE", "PAST_DUE"):
            terms = await self.catalog.recurring_terms(tenant_id, subscription.plan_id, subscription.storefront_id)
            net = tax_for_line(price.amount_minor, terms.tax).net_minor
            mrr = monthly_minor(net, terms.unit, terms.units)
        before = await uow.revenue.standing(tenant_id, subscription.id)
        change = move(before, state, mrr)
        customer_delta = await uow.revenue.count_paying(tenant_id, subscription.customer_id, change.paying_delta)
        await uow.revenue.save_standing(tenant_id, subscription.id, change.after)
        return replace(
            base,
            occur_time=_time(event, payload.occur_time),
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            plan_id=subscription.plan_id,
            storefront_id=subscription.storefront_id,
            channel=_channel(subscription.channel),
            currency=price.currency_code,
            state=state,
            cause=payload.cause,
            movement=change.movement,
            mrr_delta_minor=change.mrr_delta_minor,
            trial_delta=change.trial_delta,
            paying_delta=change.paying_delta,
            customer_paying_delta=customer_delta,
            dunning_started=change.dunning_started,
            recovered=event.type == "subscription.recovered",
        )

    def _payment(self, event: ReceivedEvent, base: RevenueEntry) -> RevenueEntry | None:
        match event.type:
            case "payment.succeeded":
                charge = event.payload(payments_events.PaymentSucceeded).charge
                return replace(_charge_entry(base, charge), usage=_usage(charge))
            case "payment.failed":
                failed = event.payload(payments_events.PaymentFailed)
                return replace(_charge_entry(base, failed.charge), decline_reason=failed.decline.reason or "UNKNOWN")
            case "payment.refunded":
                refunded = event.payload(payments_events.PaymentRefunded)
                entry = _charge_entry(base, refunded.charge, amounts=False)
                return replace(
                    entry,
                    occur_time=_time(event, refunded.refund.create_time),
                    refund_minor=_minor(refunded.refund.amount),
                    cause=refunded.refund.reason,
                )
            case "credit.granted":
                granted = event.payload(payments_events.CreditGranted)
                return replace(
                    base,
                    customer_id=granted.customer_id,
                    currency=granted.amount.currency_code,
                    credit_minor=_minor(granted.amount),
                    cause=granted.reason,
                )
            case "revenue.recorded":
                recorded = event.payload(payments_events.RevenueRecorded)
                return replace(
                    base,
                    storefront_id=recorded.storefront_id,
                    channel=_channel(recorded.channel),
                    plan_id=recorded.plan_id,
                    currency=recorded.net_revenue.currency_code or recorded.tax.currency_code,
                    charge_id=recorded.source_id,
                    cause=recorded.kind,
                    ledger_net_minor=_minor(recorded.net_revenue),
                    ledger_tax_minor=_minor(recorded.tax),
                    gross_minor=_minor(recorded.gross),
                    store_commission_minor=_minor(recorded.store_commission),
                )
            case _ if event.type.startswith("payment."):
                return replace(base, customer_id=event.about)
        return None


def _charge_entry(base: RevenueEntry, charge: pay.Charge, *, amounts: bool = True) -> RevenueEntry:
    psp = charge.psp or (charge.attempts[-1].psp if charge.attempts else "")
    entry = replace(
        base,
        customer_id=charge.customer_id,
        subscription_id=charge.subscription_id,
        plan_id=charge.plan_id,
        storefront_id=charge.storefront_id,
        channel=_channel(charge.channel),
        currency=charge.gross.currency_code,
        charge_id=charge.id,
        psp=psp,
        period_key=charge.period_key,
    )
    if not amounts:
        return entry
    return replace(
        entry,
        gross_minor=_minor(charge.gross),
        discount_minor=_minor(charge.discount),
        tax_minor=_minor(charge.tax),
        net_minor=_minor(charge.net),
        credit_applied_minor=_minor(charge.credit_applied),
    )


def _usage(charge: pay.Charge) -> tuple[UsageLine, ...]:
    """What a charge billed for usage, per meter."""
    return usage_lines(
        (
            pay.ChargeLineKind.Name(line.kind).removeprefix("CHARGE_LINE_KIND_").lower(),
            line.meter_key,
            line.quantity,
            line.amount.amount_minor,
        )
        for line in charge.lines
    )
