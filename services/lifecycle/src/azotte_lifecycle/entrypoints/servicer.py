"""LifecycleService over gRPC: proto <-> use cases, request ids made idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from azotte.common.v1 import subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.adapters import protobuf as convert
from azotte_lifecycle.adapters.catalog import Catalog, Price
from azotte_lifecycle.adapters.payments import Payments
from azotte_lifecycle.domain.channel_events import ChannelEventKind
from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.states import BillingOrigin, SubscriptionState
from azotte_lifecycle.domain.subscription import ChangeTiming, Subscription
from azotte_lifecycle.service_layer import channel_events, customers, subscriptions
from azotte_lifecycle.service_layer.scheduler import Scheduler
from azotte_lifecycle.service_layer.unit_of_work import LifecycleUnitOfWork
from azotte_platform.context import require_tenant
from azotte_platform.errors import InvalidArgument
from azotte_platform.idempotency import run_once
from azotte_platform.paging import decode_page_token, page_size, paginate

R = TypeVar("R", bound=Message)
Work = Callable[[LifecycleUnitOfWork, str], Awaitable[R]]


class LifecycleServicer(lifecycle_pb2_grpc.LifecycleServiceServicer):
    """Translates LifecycleService calls into lifecycle use cases."""

    def __init__(
        self, uow: Callable[[], LifecycleUnitOfWork], catalog: Catalog, payments: Payments, scheduler: Scheduler
    ):
        self._uow = uow
        self._catalog = catalog
        self._payments = payments
        self._scheduler = scheduler

    async def _mutate(self, name: str, request: Message, response_type: type[R], work: Work[R]) -> R:
        tenant = require_tenant()
        async with self._uow() as uow:
            return await run_once(uow, tenant, name, request, response_type, lambda: work(uow, tenant))

    async def _read(self, work: Work[R]) -> R:
        tenant = require_tenant()
        async with self._uow() as uow:
            return await work(uow, tenant)

    def _sub(self, uow: LifecycleUnitOfWork, sub: Subscription) -> pb.Subscription:
        return convert.subscription_to_pb(sub, uow.subscriptions.created_at.get(sub.id, uow.clock.now()))

    # ------------------------------------------------------------------ customers

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Any) -> pb.CreateCustomerResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CreateCustomerResponse:
            customer = await customers.create_customer(
                uow,
                tenant,
                external_id=request.external_id,
                email=request.email,
                country_code=request.country_code,
                identities=[convert.identity_from_pb(i, "identities") for i in request.identities],
            )
            return pb.CreateCustomerResponse(customer=convert.customer_to_pb(customer))

        return await self._mutate("CreateCustomer", request, pb.CreateCustomerResponse, work)

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Any) -> pb.GetCustomerResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetCustomerResponse:
            customer = await customers.get_customer(uow, tenant, request.customer_id)
            return pb.GetCustomerResponse(customer=convert.customer_to_pb(customer))

        return await self._read(work)

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Any) -> pb.ListCustomersResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListCustomersResponse:
            query = ("customers", request.external_id, request.email)
            size = page_size(request.page_size)
            after = decode_page_token(request.page_token, query)
            rows = await uow.customers.find(
                tenant,
                size + 1,
                after_id=after[0] if after else None,
                external_id=request.external_id,
                email=request.email,
            )
            page = paginate(rows, size, lambda c: [c.id], query)
            return pb.ListCustomersResponse(
                customers=[convert.customer_to_pb(c) for c in page.items], next_page_token=page.next_page_token
            )

        return await self._read(work)

    async def LinkChannelIdentity(
        self, request: pb.LinkChannelIdentityRequest, context: Any
    ) -> pb.LinkChannelIdentityResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.LinkChannelIdentityResponse:
            identity = convert.identity_from_pb(request.identity)
            customer = await customers.link_identity(uow, tenant, request.customer_id, identity)
            return pb.LinkChannelIdentityResponse(customer=convert.customer_to_pb(customer))

        return await self._mutate("LinkChannelIdentity", request, pb.LinkChannelIdentityResponse, work)

    async def FindCustomerByChannelIdentity(
        self, request: pb.FindCustomerByChannelIdentityRequest, context: Any
    ) -> pb.FindCustomerByChannelIdentityResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.FindCustomerByChannelIdentityResponse:
            customer = await customers.find_by_identity(uow, tenant, convert.identity_from_pb(request.identity))
            return pb.FindCustomerByChannelIdentityResponse(customer=convert.customer_to_pb(customer))

        return await self._read(work)

    # ------------------------------------------------------------------ subscriptions

    async def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, context: Any
    ) -> pb.CreateSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CreateSubscriptionResponse:
            if not request.customer_id:
                raise InvalidArgument.field("customer_id", "is required")
            if not request.plan_id:
                raise InvalidArgument.field("plan_id", "is required")
            new = subscriptions.NewSubscription(
                customer_id=request.customer_id,
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
                channel=convert.channel_from_pb(request.channel),
                billing_origin=convert.enum_from_pb(
                    BillingOrigin, "BILLING_ORIGIN", request.billing_origin, pb.BillingOrigin, "billing_origin"
                ),
                trial_end=convert.from_ts(request, "trial_end_time"),
                period_end=convert.from_ts(request, "period_end_time"),
                initial_charge_id=request.initial_charge_id,
            )
            sub = await subscriptions.create_subscription(uow, self._catalog, tenant, new)
            return pb.CreateSubscriptionResponse(subscription=self._sub(uow, sub))

        return await self._mutate("CreateSubscription", request, pb.CreateSubscriptionResponse, work)

    async def GetSubscription(self, request: pb.GetSubscriptionRequest, context: Any) -> pb.GetSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetSubscriptionResponse:
            sub = await subscriptions.load(uow, tenant, request.subscription_id, lock=False)
            return pb.GetSubscriptionResponse(subscription=self._sub(uow, sub))

        return await self._read(work)

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Any
    ) -> pb.ListSubscriptionsResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListSubscriptionsResponse:
            state = convert.optional_enum(
                SubscriptionState,
                "SUBSCRIPTION_STATE",
                request.state,
                subscription_state_pb2.SubscriptionState,
                "state",
            )
            query = ("subscriptions", request.customer_id, str(state))
            size = page_size(request.page_size)
            after = decode_page_token(request.page_token, query)
            rows = await uow.subscriptions.find(
                tenant, size + 1, after_id=after[0] if after else None, customer_id=request.customer_id, state=state
            )
            page = paginate(rows, size, lambda s: [s.id], query)
            return pb.ListSubscriptionsResponse(
                subscriptions=[self._sub(uow, s) for s in page.items], next_page_token=page.next_page_token
            )

        return await self._read(work)

    async def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, context: Any
    ) -> pb.CancelSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.CancelSubscriptionResponse:
            mode = convert.optional_enum(CancelMode, "CANCEL_MODE", request.mode, pb.CancelMode, "mode")
            cancel = subscriptions.CancelRequest(
                request.subscription_id,
                mode,
                request.refund,
                request.request_id,
                convert.optional_minor(request, "max_refund_minor"),
            )
            sub, refund = await subscriptions.cancel(uow, self._catalog, self._payments, tenant, cancel)
            return pb.CancelSubscriptionResponse(
                subscription=self._sub(uow, sub), refund_amount=convert.money(refund, sub.currency_code)
            )

        return await self._mutate("CancelSubscription", request, pb.CancelSubscriptionResponse, work)

    async def ReactivateSubscription(
        self, request: pb.ReactivateSubscriptionRequest, context: Any
    ) -> pb.ReactivateSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ReactivateSubscriptionResponse:
            sub = await subscriptions.reactivate(uow, tenant, request.subscription_id)
            return pb.ReactivateSubscriptionResponse(subscription=self._sub(uow, sub))

        return await self._mutate("ReactivateSubscription", request, pb.ReactivateSubscriptionResponse, work)

    async def PauseSubscription(
        self, request: pb.PauseSubscriptionRequest, context: Any
    ) -> pb.PauseSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.PauseSubscriptionResponse:
            periods = request.periods if request.HasField("periods") else None
            until = convert.from_ts(request, "resume_time")
            sub = await subscriptions.pause(uow, tenant, request.subscription_id, until=until, periods=periods)
            return pb.PauseSubscriptionResponse(subscription=self._sub(uow, sub))

        return await self._mutate("PauseSubscription", request, pb.PauseSubscriptionResponse, work)

    async def ResumeSubscription(
        self, request: pb.ResumeSubscriptionRequest, context: Any
    ) -> pb.ResumeSubscriptionResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ResumeSubscriptionResponse:
            sub = await subscriptions.resume(uow, tenant, request.subscription_id)
            return pb.ResumeSubscriptionResponse(subscription=self._sub(uow, sub))

        return await self._mutate("ResumeSubscription", request, pb.ResumeSubscriptionResponse, work)

    async def ChangeSubscriptionPlan(
        self, request: pb.ChangeSubscriptionPlanRequest, context: Any
    ) -> pb.ChangeSubscriptionPlanResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ChangeSubscriptionPlanResponse:
            change_request = subscriptions.PlanChangeRequest(
                request.subscription_id, request.plan_id, _timing(request.timing), request.request_id
            )
            sub, change = await subscriptions.change_plan(uow, self._catalog, self._payments, tenant, change_request)
            return pb.ChangeSubscriptionPlanResponse(
                subscription=self._sub(uow, sub), plan_change=convert.plan_change_to_pb(change, sub.currency_code)
            )

        return await self._mutate("ChangeSubscriptionPlan", request, pb.ChangeSubscriptionPlanResponse, work)

    async def PreviewPlanChange(
        self, request: pb.PreviewPlanChangeRequest, context: Any
    ) -> pb.PreviewPlanChangeResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.PreviewPlanChangeResponse:
            sub, change = await subscriptions.preview_plan_change(
                uow, self._catalog, tenant, request.subscription_id, request.plan_id, _timing(request.timing)
            )
            return pb.PreviewPlanChangeResponse(plan_change=convert.plan_change_to_pb(change, sub.currency_code))

        return await self._read(work)

    async def ApplyChannelEvent(
        self, request: pb.ApplyChannelEventRequest, context: Any
    ) -> pb.ApplyChannelEventResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ApplyChannelEventResponse:
            sub, outcome = await channel_events.apply(uow, self._catalog, tenant, _incoming(request.event))
            return pb.ApplyChannelEventResponse(
                subscription=self._sub(uow, sub),
                outcome=convert.enum_to_pb("CHANNEL_EVENT_OUTCOME", outcome, pb.ChannelEventOutcome),
            )

        return await self._mutate("ApplyChannelEvent", request, pb.ApplyChannelEventResponse, work)

    async def ListSubscriptionHistory(
        self, request: pb.ListSubscriptionHistoryRequest, context: Any
    ) -> pb.ListSubscriptionHistoryResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.ListSubscriptionHistoryResponse:
            await subscriptions.load(uow, tenant, request.subscription_id, lock=False)
            query = ("history", request.subscription_id)
            size = page_size(request.page_size)
            after = decode_page_token(request.page_token, query)
            rows = await uow.subscriptions.history(
                tenant, request.subscription_id, size + 1, int(after[0]) if after else None
            )
            page = paginate(rows, size, lambda row: [row[0]], query)
            return pb.ListSubscriptionHistoryResponse(
                entries=[convert.history_to_pb(entry) for _, entry in page.items],
                next_page_token=page.next_page_token,
            )

        return await self._read(work)

    # ------------------------------------------------------------------ policy and due work

    async def GetLifecyclePolicy(
        self, request: pb.GetLifecyclePolicyRequest, context: Any
    ) -> pb.GetLifecyclePolicyResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetLifecyclePolicyResponse:
            return pb.GetLifecyclePolicyResponse(policy=convert.policy_to_pb(await uow.policies.get(tenant)))

        return await self._read(work)

    async def UpdateLifecyclePolicy(
        self, request: pb.UpdateLifecyclePolicyRequest, context: Any
    ) -> pb.UpdateLifecyclePolicyResponse:
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.UpdateLifecyclePolicyResponse:
            current = await uow.policies.get(tenant)
            policy = convert.policy_from_pb(request.policy, current, list(request.update_mask.paths))
            await uow.policies.put(tenant, policy, uow.clock.now())
            return pb.UpdateLifecyclePolicyResponse(policy=convert.policy_to_pb(policy))

        return await self._mutate("UpdateLifecyclePolicy", request, pb.UpdateLifecyclePolicyResponse, work)

    async def RunDueWork(self, request: pb.RunDueWorkRequest, context: Any) -> pb.RunDueWorkResponse:
        tenant = require_tenant()
        if request.limit < 0:
            raise InvalidArgument.field("limit", "must not be negative")
        # NOTE: the sweep commits batch by batch, so the request id is not replayed: a repeat runs
        # what is due by then, which is what an operator retrying wants.
        result = await self._scheduler.sweep(tenant, request.limit)
        return pb.RunDueWorkResponse(processed_count=result.processed, remaining_count=result.remaining)


def _timing(value: int) -> ChangeTiming | None:
    return convert.optional_enum(ChangeTiming, "PLAN_CHANGE_TIMING", value, pb.PlanChangeTiming, "timing")


def _incoming(event: pb.ChannelEvent) -> channel_events.IncomingChannelEvent:
    occurred_at = convert.from_ts(event, "occur_time")
    if occurred_at is None:
        raise InvalidArgument.field("event.occur_time", "is required")
    price = None
    if event.HasField("price"):
        price = Price(event.price.amount_minor, event.price.currency_code)
    return channel_events.IncomingChannelEvent(
        event_id=event.event_id,
        kind=convert.enum_from_pb(
            ChannelEventKind, "CHANNEL_EVENT_KIND", event.kind, pb.ChannelEventKind, "event.kind"
        ),
        occurred_at=occurred_at,
        channel=convert.channel_from_pb(event.channel, "event.channel"),
        identity=convert.identity_from_pb(event.identity, "event.identity"),
        period_end=convert.from_ts(event, "period_end_time"),
        grace_end=convert.from_ts(event, "grace_end_time"),
        hold_end=convert.from_ts(event, "hold_end_time"),
        resume_at=convert.from_ts(event, "resume_time"),
        in_trial=event.in_trial,
        plan_id=event.plan_id,
        price=price,
        customer_id=event.customer_id,
        storefront_id=event.storefront_id,
    )
