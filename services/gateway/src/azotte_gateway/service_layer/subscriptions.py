"""Subscriptions: reads, cancel and reactivate, pause and resume, plan changes, and price changes (the upcoming
charge, a dry run of a price, the pending change, consent or refusal, the impact per cohort); lifecycle does the
work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from azotte.common.v1 import subscription_state_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import price_changes_pb2 as pc
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.metering.v1 import wallets_pb2 as wb
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize, is_allowed
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import convert
from azotte_platform.clock import Clock
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, forwarded
from azotte_platform.validation import field_names

# The filterable fields of ListSubscriptions (lifecycle applies them).
SUBSCRIPTION_FILTER = {
    "state": frozenset({"=", "!="}),
    "plan_id": EQUALITY,
    "customer_id": EQUALITY,
    "create_time": COMPARISONS,
    "current_period_end_time": COMPARISONS,
}

# NOTE: lifecycle names the new plan `plan_id`; the gateway's request names it `new_plan_id`.
PLAN_CHANGE_FIELDS = {"plan_id": "new_plan_id"}


@dataclass(frozen=True)
class Subscriptions:
    """GetSubscription, ListSubscriptions, Cancel/Reactivate/Pause/ResumeSubscription, PreviewPlanChange,
    ChangeSubscriptionPlan; PriceChangesService."""

    peers: Peers
    clock: Clock
    customers: KnownCustomers
    access: AccessReader

    async def get_subscription(self, caller: Caller, request: gw.GetSubscriptionRequest) -> gw.GetSubscriptionResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        require(request, "subscription_id")
        answer = await self.peers.lifecycle.GetSubscription(
            lc.GetSubscriptionRequest(subscription_id=request.subscription_id)
        )
        return gw.GetSubscriptionResponse(subscription=proto.subscription(answer.subscription))

    async def list_subscriptions(
        self, caller: Caller, request: gw.ListSubscriptionsRequest
    ) -> gw.ListSubscriptionsResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        if len(request.states) > 1:
            raise InvalidArgument.field("states", "filter by at most one state")
        # NOTE: lifecycle applies `filter` and `order_by`; the gateway reads the filter's customer only, so
        # another tenant's (or an unknown) customer is NOT_FOUND rather than an empty list.
        named = Filter.parse(request.filter, SUBSCRIPTION_FILTER).value("customer_id")
        for customer_id in {request.customer_id, named or ""} - {""}:
            await self.customers.require(caller.principal.tenant_id, customer_id)
        answer = await self.peers.lifecycle.ListSubscriptions(
            lc.ListSubscriptionsRequest(
                customer_id=request.customer_id,
                state=request.states[0] if request.states else subscription_state_pb2.SUBSCRIPTION_STATE_UNSPECIFIED,
                **forwarded(request),
            )
        )
        return gw.ListSubscriptionsResponse(
            subscriptions=[proto.subscription(s) for s in answer.subscriptions],
            next_page_token=answer.next_page_token,
        )

    async def cancel_subscription(
        self, caller: Caller, request: gw.CancelSubscriptionRequest
    ) -> gw.CancelSubscriptionResponse:
        authorize(caller.principal, Permission.CANCEL_SUBSCRIPTION)
        max_refund_minor = None
        if request.refund:
            authorize(caller.principal, Permission.REFUND_CHARGE, amount_minor=0)
            # NOTE: lifecycle computes the prorated amount, so it applies the per-refund limit.
            if not is_allowed(caller.principal.role, Permission.REFUND_ANY_AMOUNT):
                max_refund_minor = caller.tenant.operator_refund_limit_minor
        require_mutation(request, "subscription_id")
        answer = await self.peers.lifecycle.CancelSubscription(
            lc.CancelSubscriptionRequest(
                request_id=request.request_id,
                subscription_id=request.subscription_id,
                mode=proto.cancel_mode(request.timing),
                refund=request.refund,
                max_refund_minor=max_refund_minor,
            )
        )
        self._wrote(caller, answer)
        return gw.CancelSubscriptionResponse(
            subscription=proto.subscription(answer.subscription),
            refund_amount=answer.refund_amount,
            consistency_token=answer.consistency_token,
        )

    async def reactivate_subscription(
        self, caller: Caller, request: gw.ReactivateSubscriptionRequest
    ) -> gw.ReactivateSubscriptionResponse:
        authorize(caller.principal, Permission.REACTIVATE_SUBSCRIPTION)
        require_mutation(request, "subscription_id")
        answer = await self.peers.lifecycle.ReactivateSubscription(
            lc.ReactivateSubscriptionRequest(request_id=request.request_id, subscription_id=request.subscription_id)
        )
        self._wrote(caller, answer)
        return gw.ReactivateSubscriptionResponse(
            subscription=proto.subscription(answer.subscription), consistency_token=answer.consistency_token
        )

    async def pause_subscription(
        self, caller: Caller, request: gw.PauseSubscriptionRequest
    ) -> gw.PauseSubscriptionResponse:
        authorize(caller.principal, Permission.PAUSE_SUBSCRIPTION)
        require_mutation(request, "subscription_id")
        pause = lc.PauseSubscriptionRequest(request_id=request.request_id, subscription_id=request.subscription_id)
        if request.HasField("resume_time"):
            pause.resume_time.CopyFrom(request.resume_time)
        else:
            # NOTE: an open-ended pause lasts at most the tenant's maximum pause.
            policy = (await self.peers.lifecycle.GetLifecyclePolicy(lc.GetLifecyclePolicyRequest())).policy
            longest = timedelta(seconds=policy.max_pause.seconds)
            pause.resume_time.CopyFrom(convert.timestamp(self.clock.now() + longest))
        answer = await self.peers.lifecycle.PauseSubscription(pause)
        self._wrote(caller, answer)
        return gw.PauseSubscriptionResponse(
            subscription=proto.subscription(answer.subscription), consistency_token=answer.consistency_token
        )

    async def resume_subscription(
        self, caller: Caller, request: gw.ResumeSubscriptionRequest
    ) -> gw.ResumeSubscriptionResponse:
        authorize(caller.principal, Permission.RESUME_SUBSCRIPTION)
        require_mutation(request, "subscription_id")
        answer = await self.peers.lifecycle.ResumeSubscription(
            lc.ResumeSubscriptionRequest(request_id=request.request_id, subscription_id=request.subscription_id)
        )
        self._wrote(caller, answer)
        return gw.ResumeSubscriptionResponse(
            subscription=proto.subscription(answer.subscription), consistency_token=answer.consistency_token
        )

    async def preview_plan_change(
        self, caller: Caller, request: gw.PreviewPlanChangeRequest
    ) -> gw.PreviewPlanChangeResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        require(request, "subscription_id", "new_plan_id")
        with field_names(PLAN_CHANGE_FIELDS):
            answer = await self.peers.lifecycle.PreviewPlanChange(
                lc.PreviewPlanChangeRequest(
                    subscription_id=request.subscription_id,
                    plan_id=request.new_plan_id,
                    timing=proto.plan_change_timing(request.timing),
                )
            )
        next_period = (
            answer.plan_change.next_renewal_price if answer.plan_change.HasField("next_renewal_price") else None
        )
        return gw.PreviewPlanChangeResponse(quote=proto.plan_change_quote(answer.plan_change, next_period))

    async def change_subscription_plan(
        self, caller: Caller, request: gw.ChangeSubscriptionPlanRequest
    ) -> gw.ChangeSubscriptionPlanResponse:
        authorize(caller.principal, Permission.CHANGE_SUBSCRIPTION_PLAN)
        require_mutation(request, "subscription_id", "new_plan_id")
        with field_names(PLAN_CHANGE_FIELDS):
            answer = await self.peers.lifecycle.ChangeSubscriptionPlan(
                lc.ChangeSubscriptionPlanRequest(
                    request_id=request.request_id,
                    subscription_id=request.subscription_id,
                    plan_id=request.new_plan_id,
                    timing=proto.plan_change_timing(request.timing),
                )
            )
        self._wrote(caller, answer)
        subscription = answer.subscription
        response = gw.ChangeSubscriptionPlanResponse(
            subscription=proto.subscription(subscription),
            quote=proto.plan_change_quote(answer.plan_change, subscription.renewal_price),
            consistency_token=answer.consistency_token,
        )
        if answer.plan_change.proration.net.amount_minor > 0:
            # NOTE: lifecycle charged the prorated net of an upgrade; the newest charge of the subscription is it.
            charges = await self.peers.payments.ListCharges(
                pay.ListChargesRequest(
                    customer_id=subscription.customer_id, subscription_id=subscription.id, page_size=1
                )
            )
            if charges.charges:
                response.charge.CopyFrom(proto.charge(charges.charges[0]))
        return response

    # ------------------------------------------------------------------ price changes

    async def get_upcoming_charge(
        self, caller: Caller, request: pc.GetUpcomingChargeRequest
    ) -> pc.GetUpcomingChargeResponse:
        self._may(caller, Permission.READ_PRICE_CHANGES)
        require(request, "subscription_id")
        sub = await self._subscription_for(caller, Permission.READ_PRICE_CHANGES, request.subscription_id)
        answer = await self.peers.lifecycle.GetUpcomingCharge(
            lc.GetUpcomingChargeRequest(subscription_id=request.subscription_id)
        )
        usage = await self.peers.wallets.PreviewUsageCharges(wb.PreviewUsageChargesRequest(customer_id=sub.customer_id))
        if usage.subscription_id != sub.id or usage.due.currency_code != answer.amount.currency_code:
            # NOTE: the customer's usage is billed with another subscription's renewals, or not at all.
            usage = wb.PreviewUsageChargesResponse()
        lines = proto.upcoming_charge_lines(answer.amount, answer.discount, usage)
        return pc.GetUpcomingChargeResponse(
            subscription_id=answer.subscription_id,
            charge_time=answer.charge_time,
            amount=answer.amount,
            discount=answer.discount,
            tax=answer.tax,
            gross=answer.gross,
            price_change_state=proto.price_change_state(answer.price_change_state),
            usage_due=convert.money(
                sum(line.amount.amount_minor for line in lines) - answer.amount.amount_minor,
                answer.amount.currency_code,
            ),
            lines=lines,
        )

    async def get_pending_price_change(
        self, caller: Caller, request: pc.GetPendingPriceChangeRequest
    ) -> pc.GetPendingPriceChangeResponse:
        self._may(caller, Permission.READ_PRICE_CHANGES)
        require(request, "subscription_id")
        sub = await self._subscription_for(caller, Permission.READ_PRICE_CHANGES, request.subscription_id)
        shown = proto.subscription(sub)
        response = pc.GetPendingPriceChangeResponse(subscription_id=sub.id)
        for name in ("current_price", "next_price", "next_renewal_time", "price_change"):
            if shown.HasField(name):
                getattr(response, name).CopyFrom(getattr(shown, name))
        return response

    async def consent_to_price_change(
        self, caller: Caller, request: pc.ConsentToPriceChangeRequest
    ) -> pc.ConsentToPriceChangeResponse:
        self._may(caller, Permission.CONSENT_TO_PRICE_CHANGES)
        require_mutation(request, "subscription_id")
        await self._subscription_for(caller, Permission.CONSENT_TO_PRICE_CHANGES, request.subscription_id)
        answer = await self.peers.lifecycle.ConsentToPriceChange(
            lc.ConsentToPriceChangeRequest(request_id=request.request_id, subscription_id=request.subscription_id)
        )
        return pc.ConsentToPriceChangeResponse(subscription=proto.subscription(answer.subscription))

    async def decline_price_change(
        self, caller: Caller, request: pc.DeclinePriceChangeRequest
    ) -> pc.DeclinePriceChangeResponse:
        self._may(caller, Permission.CONSENT_TO_PRICE_CHANGES)
        require_mutation(request, "subscription_id")
        await self._subscription_for(caller, Permission.CONSENT_TO_PRICE_CHANGES, request.subscription_id)
        answer = await self.peers.lifecycle.DeclinePriceChange(
            lc.DeclinePriceChangeRequest(request_id=request.request_id, subscription_id=request.subscription_id)
        )
        return pc.DeclinePriceChangeResponse(subscription=proto.subscription(answer.subscription))

    async def list_price_change_subscribers(
        self, caller: Caller, request: pc.ListPriceChangeSubscribersRequest
    ) -> pc.ListPriceChangeSubscribersResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        require(request, "storefront_id", "plan_id")
        dry_run = lc.ListPriceChangeSubscribersRequest(
            storefront_id=request.storefront_id,
            plan_id=request.plan_id,
            channel=request.channel,
            amount_minor=request.amount_minor,
            # NOTE: numbered as lifecycle's enum, which checks the value (INVALID_ARGUMENT naming the field).
            existing_subscribers=lc.ExistingSubscribers.ValueType(request.existing_subscribers),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        if request.HasField("effective_time"):
            dry_run.effective_time.CopyFrom(request.effective_time)
        answer = await self.peers.lifecycle.ListPriceChangeSubscribers(dry_run)
        return pc.ListPriceChangeSubscribersResponse(
            subscribers=[
                pc.PriceChangeSubscriber(
                    subscription_id=s.subscription_id,
                    customer_id=s.customer_id,
                    old_price=s.old_renewal_price,
                    new_price=s.new_renewal_price,
                    first_renewal_time=s.first_renewal_time,
                )
                for s in answer.subscribers
            ],
            next_page_token=answer.next_page_token,
            affected_count=answer.affected_count,
            unaffected_count=answer.unaffected_count,
            notice_days=answer.notice_days,
            consent_required=answer.consent_required,
            revenue_before=answer.revenue_before,
            revenue_after=answer.revenue_after,
        )

    async def get_price_change_impact(
        self, caller: Caller, request: pc.GetPriceChangeImpactRequest
    ) -> pc.GetPriceChangeImpactResponse:
        authorize(caller.principal, Permission.READ_PRICE_CHANGE_IMPACT)
        answer = await self.peers.lifecycle.GetPriceChangeImpact(
            lc.GetPriceChangeImpactRequest(storefront_id=request.storefront_id, plan_id=request.plan_id)
        )
        # NOTE: lifecycle's cohort carries nothing internal and has the same fields, numbered alike.
        cohorts = [pc.PriceChangeCohort.FromString(c.SerializeToString()) for c in answer.cohorts]
        return pc.GetPriceChangeImpactResponse(cohorts=cohorts)

    @staticmethod
    def _may(caller: Caller, permission: Permission) -> None:
        """The role check of an operation on one subscription; a key bound to a customer is checked against the
        subscription's customer once it is known (`_subscription_for`)."""
        principal = caller.principal
        if principal.customer_id is None or not is_allowed(principal.role, permission):
            authorize(principal, permission)

    async def _subscription_for(self, caller: Caller, permission: Permission, subscription_id: str) -> lc.Subscription:
        """The subscription, if the caller may act on it: a key bound to a customer only on that customer's."""
        answer = await self.peers.lifecycle.GetSubscription(lc.GetSubscriptionRequest(subscription_id=subscription_id))
        authorize(caller.principal, permission, customer_id=answer.subscription.customer_id)
        return answer.subscription

    def _wrote(self, caller: Caller, answer: _Written) -> None:
        """Every answer of a change to a subscription names the write: the caller's key reads it next."""
        self.access.wrote(caller, answer.subscription.customer_id, answer.consistency_token)


_Written = (
    lc.CancelSubscriptionResponse
    | lc.ReactivateSubscriptionResponse
    | lc.PauseSubscriptionResponse
    | lc.ResumeSubscriptionResponse
    | lc.ChangeSubscriptionPlanResponse
)
