"""LifecycleService over gRPC: proto -> command -> use case -> proto, through `service_kit.Units`."""

from __future__ import annotations

from typing import Any

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.adapters import proto
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Payments
from azotte_lifecycle.service_layer import (
    cancellation,
    channel_events,
    customers,
    plan_changes,
    policies,
    price_changes,
    queries,
    subscriptions,
)
from azotte_lifecycle.service_layer.scheduler import Scheduler
from azotte_platform.context import require_tenant
from azotte_platform.convert import money, optional_from_timestamp, optional_timestamp, timestamp
from azotte_platform.errors import FieldViolation, InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units
from azotte_platform.validation import field_names, renamed_fields

# NOTE: the domain names its fields its own way; errors answer in the request's field names.
SUBSCRIPTION_FIELDS = {"trial_end": "trial_end_time", "period_end": "period_end_time"}
PAUSE_FIELDS = {"resume_at": "resume_time", "resume": "resume_time"}
CHANNEL_EVENT_FIELDS = {
    "period_end": "event.period_end_time",
    "resume_at": "event.resume_time",
    "plan": "event.plan_id",
    "kind": "event.kind",
}


class LifecycleServicer(lifecycle_pb2_grpc.LifecycleServiceServicer):
    """Translates LifecycleService calls into lifecycle use cases."""

    def __init__(self, units: Units[LifecycleUnitOfWork], catalog: Catalog, payments: Payments, scheduler: Scheduler):
        self.units = units
        self._catalog = catalog
        self._payments = payments
        self._scheduler = scheduler

    # ------------------------------------------------------------------ customers

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Any) -> pb.CreateCustomerResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CreateCustomerResponse:
            customer = await customers.create_customer(
                uow,
                tenant,
                external_id=request.external_id,
                email=request.email,
                country_code=request.country_code,
                identities=[proto.identity_from_pb(i, "identities") for i in request.identities],
            )
            return pb.CreateCustomerResponse(customer=proto.customer_to_pb(customer))

        return await self.units.mutate(request, pb.CreateCustomerResponse, work)

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Any) -> pb.GetCustomerResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetCustomerResponse:
            customer = await customers.get_customer(uow, tenant, request.customer_id)
            return pb.GetCustomerResponse(customer=proto.customer_to_pb(customer))

        return await self.units.read(work)

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Any) -> pb.ListCustomersResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListCustomersResponse:
            query = queries.customer_query(
                request.filter, request.order_by, email=request.email, external_id=request.external_id
            )
            page_request = PageRequest.of(request, "customers", repr(query))
            page = await customers.list_customers(uow, tenant, page_request, query)
            return pb.ListCustomersResponse(
                customers=[proto.customer_to_pb(c) for c in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def LinkChannelIdentity(
        self, request: pb.LinkChannelIdentityRequest, context: Any
    ) -> pb.LinkChannelIdentityResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.LinkChannelIdentityResponse:
            identity = proto.identity_from_pb(request.identity)
            customer = await customers.link_identity(uow, tenant, request.customer_id, identity)
            return pb.LinkChannelIdentityResponse(customer=proto.customer_to_pb(customer))

        return await self.units.mutate(request, pb.LinkChannelIdentityResponse, work)

    async def FindCustomerByChannelIdentity(
        self, request: pb.FindCustomerByChannelIdentityRequest, context: Any
    ) -> pb.FindCustomerByChannelIdentityResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.FindCustomerByChannelIdentityResponse:
            customer = await customers.find_by_identity(uow, tenant, proto.identity_from_pb(request.identity))
            return pb.FindCustomerByChannelIdentityResponse(customer=proto.customer_to_pb(customer))

        return await self.units.read(work)

    # ------------------------------------------------------------------ subscriptions

    async def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, context: Any
    ) -> pb.CreateSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CreateSubscriptionResponse:
            new = subscriptions.NewSubscription(
                customer_id=request.customer_id,
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
                channel=proto.channel_from_pb(request.channel),
                billing_origin=proto.billing_origin_from_pb(request.billing_origin),
                trial_end=optional_from_timestamp(request, "trial_end_time"),
                period_end=optional_from_timestamp(request, "period_end_time"),
                initial_charge_id=request.initial_charge_id,
                subscription_id=request.subscription_id,
                discount=proto.recurring_discount_from_pb(request),
            )
            with field_names(SUBSCRIPTION_FIELDS):
                sub = await subscriptions.create_subscription(
                    uow, self._catalog, tenant, new, validate_only=request.validate_only
                )
            return pb.CreateSubscriptionResponse(
                subscription=proto.subscription_to_pb(sub), consistency_token=proto.consistency_token(uow.recorded)
            )

        if request.validate_only:
            # NOTE: a check writes nothing and keeps no answer: the real create may follow under the same request id.
            return await self.units.read(work)
        return await self.units.mutate(request, pb.CreateSubscriptionResponse, work)

    async def GetSubscription(self, request: pb.GetSubscriptionRequest, context: Any) -> pb.GetSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetSubscriptionResponse:
            sub = await subscriptions.load(uow, tenant, request.subscription_id, lock=False)
            (outlook,) = await price_changes.outlooks(self._catalog, [sub], uow.clock.now())
            return pb.GetSubscriptionResponse(subscription=proto.subscription_to_pb(sub, outlook))

        return await self.units.read(work)

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Any
    ) -> pb.ListSubscriptionsResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListSubscriptionsResponse:
            state = proto.state_from_pb(request.state)
            query = queries.subscription_query(
                request.filter, request.order_by, customer_id=request.customer_id, state=state
            )
            page_request = PageRequest.of(request, "subscriptions", repr(query))
            page = await subscriptions.list_subscriptions(uow, tenant, page_request, query)
            seen = await price_changes.outlooks(self._catalog, page.items, uow.clock.now())
            return pb.ListSubscriptionsResponse(
                subscriptions=[proto.subscription_to_pb(s, o) for s, o in zip(page.items, seen, strict=True)],
                next_page_token=page.next_page_token,
            )

        return await self.units.read(work)

    async def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, context: Any
    ) -> pb.CancelSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CancelSubscriptionResponse:
            cancel = cancellation.CancelRequest(
                request.subscription_id,
                proto.cancel_mode_from_pb(request.mode),
                request.refund,
                request.request_id,
                proto.optional_minor(request, "max_refund_minor"),
            )
            sub, refund = await cancellation.cancel(uow, self._catalog, self._payments, tenant, cancel)
            return pb.CancelSubscriptionResponse(
                subscription=proto.subscription_to_pb(sub),
                refund_amount=money(refund, sub.currency_code),
                consistency_token=proto.consistency_token(uow.recorded),
            )

        return await self.units.mutate(request, pb.CancelSubscriptionResponse, work)

    async def ReactivateSubscription(
        self, request: pb.ReactivateSubscriptionRequest, context: Any
    ) -> pb.ReactivateSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ReactivateSubscriptionResponse:
            sub = await subscriptions.reactivate(uow, tenant, request.subscription_id)
            return pb.ReactivateSubscriptionResponse(
                subscription=proto.subscription_to_pb(sub), consistency_token=proto.consistency_token(uow.recorded)
            )

        return await self.units.mutate(request, pb.ReactivateSubscriptionResponse, work)

    async def ExtendTrial(self, request: pb.ExtendTrialRequest, context: Any) -> pb.ExtendTrialResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ExtendTrialResponse:
            sub = await subscriptions.extend_trial(uow, tenant, request.subscription_id, request.days)
            return pb.ExtendTrialResponse(subscription=proto.subscription_to_pb(sub))

        return await self.units.mutate(request, pb.ExtendTrialResponse, work)

    async def ConsentToPriceChange(
        self, request: pb.ConsentToPriceChangeRequest, context: Any
    ) -> pb.ConsentToPriceChangeResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ConsentToPriceChangeResponse:
            sub = await subscriptions.consent_to_price_change(uow, tenant, request.subscription_id)
            (outlook,) = await price_changes.outlooks(self._catalog, [sub], uow.clock.now())
            return pb.ConsentToPriceChangeResponse(subscription=proto.subscription_to_pb(sub, outlook))

        return await self.units.mutate(request, pb.ConsentToPriceChangeResponse, work)

    async def DeclinePriceChange(
        self, request: pb.DeclinePriceChangeRequest, context: Any
    ) -> pb.DeclinePriceChangeResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.DeclinePriceChangeResponse:
            sub = await price_changes.decline_price_change(uow, tenant, request.subscription_id)
            (outlook,) = await price_changes.outlooks(self._catalog, [sub], uow.clock.now())
            return pb.DeclinePriceChangeResponse(subscription=proto.subscription_to_pb(sub, outlook))

        return await self.units.mutate(request, pb.DeclinePriceChangeResponse, work)

    async def GetUpcomingCharge(
        self, request: pb.GetUpcomingChargeRequest, context: Any
    ) -> pb.GetUpcomingChargeResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetUpcomingChargeResponse:
            upcoming = await price_changes.upcoming_charge(uow, self._catalog, tenant, request.subscription_id)
            currency, amounts = upcoming.subscription.currency_code, upcoming.amounts
            return pb.GetUpcomingChargeResponse(
                subscription_id=upcoming.subscription.id,
                charge_time=timestamp(upcoming.charge_at),
                amount=money(amounts.amount_minor, currency),
                discount=money(upcoming.discount_minor, currency),
                tax=money(amounts.tax_minor, currency),
                gross=money(amounts.gross_minor, currency),
                price_change_state=proto.price_change_state_to_pb(upcoming.state),
            )

        return await self.units.read(work)

    async def ListPriceChangeSubscribers(
        self, request: pb.ListPriceChangeSubscribersRequest, context: Any
    ) -> pb.ListPriceChangeSubscribersResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListPriceChangeSubscribersResponse:
            proposed = proto.proposed_price_from_pb(request, uow.clock.now())
            paging = PageRequest.of(request, "price-change-subscribers", repr(proposed))
            run = await price_changes.dry_run(uow, self._catalog, tenant, proposed, paging)
            currency = run.currency_code
            return pb.ListPriceChangeSubscribersResponse(
                subscribers=[proto.affected_to_pb(a, currency) for a in run.page.items],
                next_page_token=run.page.next_page_token,
                affected_count=run.affected_count,
                unaffected_count=run.unaffected_count,
                notice_days=run.notice_days,
                consent_required=run.consent_required,
                revenue_before=money(run.revenue_before_minor, currency),
                revenue_after=money(run.revenue_after_minor, currency),
            )

        return await self.units.read(work)

    async def GetPriceChangeImpact(
        self, request: pb.GetPriceChangeImpactRequest, context: Any
    ) -> pb.GetPriceChangeImpactResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetPriceChangeImpactResponse:
            cohorts = await price_changes.price_change_impact(uow, tenant, request.storefront_id, request.plan_id)
            return pb.GetPriceChangeImpactResponse(cohorts=[proto.cohort_to_pb(c) for c in cohorts])

        return await self.units.read(work)

    async def PauseSubscription(
        self, request: pb.PauseSubscriptionRequest, context: Any
    ) -> pb.PauseSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.PauseSubscriptionResponse:
            periods = request.periods if request.HasField("periods") else None
            until = optional_from_timestamp(request, "resume_time")
            with field_names(PAUSE_FIELDS):
                sub = await subscriptions.pause(uow, tenant, request.subscription_id, until=until, periods=periods)
            return pb.PauseSubscriptionResponse(
                subscription=proto.subscription_to_pb(sub), consistency_token=proto.consistency_token(uow.recorded)
            )

        return await self.units.mutate(request, pb.PauseSubscriptionResponse, work)

    async def ResumeSubscription(
        self, request: pb.ResumeSubscriptionRequest, context: Any
    ) -> pb.ResumeSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ResumeSubscriptionResponse:
            sub = await subscriptions.resume(uow, tenant, request.subscription_id)
            return pb.ResumeSubscriptionResponse(
                subscription=proto.subscription_to_pb(sub), consistency_token=proto.consistency_token(uow.recorded)
            )

        return await self.units.mutate(request, pb.ResumeSubscriptionResponse, work)

    async def ChangeSubscriptionPlan(
        self, request: pb.ChangeSubscriptionPlanRequest, context: Any
    ) -> pb.ChangeSubscriptionPlanResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ChangeSubscriptionPlanResponse:
            change = plan_changes.PlanChangeRequest(
                request.subscription_id, request.plan_id, proto.timing_from_pb(request.timing), request.request_id
            )
            sub, applied = await plan_changes.change_plan(uow, self._catalog, self._payments, tenant, change)
            return pb.ChangeSubscriptionPlanResponse(
                subscription=proto.subscription_to_pb(sub),
                plan_change=proto.plan_change_to_pb(applied, sub.currency_code),
                consistency_token=proto.consistency_token(uow.recorded),
            )

        return await self.units.mutate(request, pb.ChangeSubscriptionPlanResponse, work)

    async def PreviewPlanChange(
        self, request: pb.PreviewPlanChangeRequest, context: Any
    ) -> pb.PreviewPlanChangeResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.PreviewPlanChangeResponse:
            timing = proto.timing_from_pb(request.timing)
            sub, change = await plan_changes.preview_plan_change(
                uow, self._catalog, tenant, request.subscription_id, request.plan_id, timing
            )
            renewal = await plan_changes.next_renewal_price(self._catalog, sub, change, uow.clock.now())
            plan_change = proto.plan_change_to_pb(change, sub.currency_code, renewal, sub.discount)
            return pb.PreviewPlanChangeResponse(plan_change=plan_change)

        return await self.units.read(work)

    async def ApplyChannelEvent(
        self, request: pb.ApplyChannelEventRequest, context: Any
    ) -> pb.ApplyChannelEventResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ApplyChannelEventResponse:
            incoming = _incoming(request.event)
            with field_names(CHANNEL_EVENT_FIELDS):
                sub, outcome = await channel_events.apply(uow, self._catalog, tenant, incoming)
            return pb.ApplyChannelEventResponse(
                subscription=proto.subscription_to_pb(sub),
                outcome=proto.outcome_to_pb(outcome),
                consistency_token=proto.consistency_token(uow.recorded),
            )

        return await self.units.mutate(request, pb.ApplyChannelEventResponse, work)

    async def ListSubscriptionHistory(
        self, request: pb.ListSubscriptionHistoryRequest, context: Any
    ) -> pb.ListSubscriptionHistoryResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListSubscriptionHistoryResponse:
            query = queries.history_query(request.filter, request.order_by)
            page_request = PageRequest.of(request, "history", request.subscription_id, repr(query))
            page = await subscriptions.list_history(uow, tenant, request.subscription_id, page_request, query)
            return pb.ListSubscriptionHistoryResponse(
                entries=[proto.history_to_pb(entry) for entry in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    # ------------------------------------------------------------------ policy and due work

    async def GetLifecyclePolicy(
        self, request: pb.GetLifecyclePolicyRequest, context: Any
    ) -> pb.GetLifecyclePolicyResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetLifecyclePolicyResponse:
            current = await policies.get_policy(uow, tenant)
            return pb.GetLifecyclePolicyResponse(
                policy=proto.policy_to_pb(current.policy),
                version=current.version,
                update_time=optional_timestamp(current.created_at),
                update_actor=current.actor,
            )

        return await self.units.read(work)

    async def ListLifecyclePolicyVersions(
        self, request: pb.ListLifecyclePolicyVersionsRequest, context: Any
    ) -> pb.ListLifecyclePolicyVersionsResponse:
        query = policies.VersionQuery.parse(request.filter, request.order_by)
        paging = PageRequest.of(request, *query.key)

        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListLifecyclePolicyVersionsResponse:
            page = await policies.list_versions(uow, tenant, query, paging)
            return pb.ListLifecyclePolicyVersionsResponse(
                versions=[proto.policy_version_to_pb(v) for v in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def UpdateLifecyclePolicy(
        self, request: pb.UpdateLifecyclePolicyRequest, context: Any
    ) -> pb.UpdateLifecyclePolicyResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.UpdateLifecyclePolicyResponse:
            paths = list(request.update_mask.paths)
            expected = request.expected_version if request.HasField("expected_version") else None
            try:
                if request.plan_id:
                    stored = await policies.set_plan_override(
                        uow,
                        self._catalog,
                        tenant,
                        request.plan_id,
                        lambda current: proto.override_from_pb(request.policy, current, paths),
                        expected_version=expected,
                    )
                else:
                    stored = await policies.update_policy(
                        uow,
                        tenant,
                        lambda current: proto.policy_from_pb(request.policy, current, paths),
                        expected_version=expected,
                    )
            except InvalidArgument as error:
                raise _policy_fields(error, request.plan_id) from None
            return pb.UpdateLifecyclePolicyResponse(
                policy=proto.policy_to_pb(stored.policy),
                version=stored.version,
                update_time=optional_timestamp(stored.created_at),
                update_actor=stored.actor,
            )

        if request.validate_only:
            # NOTE: a check runs in a unit of work that is never committed and keeps no answer.
            return await self.units.read(work)
        return await self.units.mutate(request, pb.UpdateLifecyclePolicyResponse, work)

    async def RunDueWork(self, request: pb.RunDueWorkRequest, context: Any) -> pb.RunDueWorkResponse:
        tenant = require_tenant()
        if request.limit < 0:
            raise InvalidArgument.field("limit", "must not be negative")
        # NOTE: the sweep commits batch by batch, so the request id is not replayed: a repeat runs
        # what is due by then, which is what an operator retrying wants.
        result = await self._scheduler.sweep(tenant, request.limit)
        return pb.RunDueWorkResponse(processed_count=result.processed, remaining_count=result.remaining)


def _policy_fields(error: InvalidArgument, plan_id: str) -> InvalidArgument:
    """A policy's violations named by the request's fields: `policy.retry_schedule.days`, or for a plan's
    override (`plan_id`), the same paths of the request's `policy`."""
    if not error.violations:
        return error
    renamed = renamed_fields(error, {"retry_schedule_days": "retry_schedule.days"})
    own = f"plan_overrides[{plan_id}]."
    violations = []
    for violation in renamed.violations:
        path = violation.field.removeprefix(own) if plan_id else violation.field
        if not path.startswith(("policy", "update_mask", "plan_id")):
            path = f"policy.{path}"
        violations.append(FieldViolation(path, violation.description))
    return type(error)(f"{violations[0].field}: {violations[0].description}", violations)


def _incoming(event: pb.ChannelEvent) -> channel_events.IncomingChannelEvent:
    occurred_at = optional_from_timestamp(event, "occur_time")
    if occurred_at is None:
        raise InvalidArgument.field("event.occur_time", "is required")
    return channel_events.IncomingChannelEvent(
        event_id=event.event_id,
        kind=proto.event_kind_from_pb(event.kind, "event.kind"),
        occurred_at=occurred_at,
        channel=proto.channel_from_pb(event.channel, "event.channel"),
        identity=proto.identity_from_pb(event.identity, "event.identity"),
        period_end=optional_from_timestamp(event, "period_end_time"),
        grace_end=optional_from_timestamp(event, "grace_end_time"),
        hold_end=optional_from_timestamp(event, "hold_end_time"),
        resume_at=optional_from_timestamp(event, "resume_time"),
        in_trial=event.in_trial,
        plan_id=event.plan_id,
        price=proto.price_from_pb(event.price) if event.HasField("price") else None,
        customer_id=event.customer_id,
        storefront_id=event.storefront_id,
    )
