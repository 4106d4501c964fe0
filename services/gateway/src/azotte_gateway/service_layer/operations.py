"""Every public operation of the gateway, shared by the REST and gRPC entrypoints.

Each method authorizes the caller, then calls the services (tenant forwarded in the request
context) and answers the gateway's public messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters.peers import Peers
from azotte_gateway.domain.api_keys import ApiKey
from azotte_gateway.domain.permissions import Permission, Role, authorize, is_allowed
from azotte_gateway.domain.tenants import TenantMode
from azotte_gateway.service_layer import api_keys, translate
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.auth import Authenticator, Caller
from azotte_gateway.service_layer.checkout import CheckoutDeps, checkout
from azotte_gateway.service_layer.unit_of_work import GatewayUnitOfWork
from azotte_platform.clock import Clock, SandboxClock
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.idempotency import fingerprint, run_once
from azotte_platform.paging import page_size

ROLES = {
    ta.API_KEY_ROLE_ADMIN: Role.ADMIN,
    ta.API_KEY_ROLE_MANAGER: Role.MANAGER,
    ta.API_KEY_ROLE_OPERATOR: Role.OPERATOR,
    ta.API_KEY_ROLE_VIEWER: Role.VIEWER,
    ta.API_KEY_ROLE_PUBLISHABLE: Role.PUBLISHABLE,
}
ROLE_VALUES = {role: value for value, role in ROLES.items()}
MODES = {ta.TENANT_MODE_SANDBOX: TenantMode.SANDBOX, ta.TENANT_MODE_LIVE: TenantMode.LIVE}
R = TypeVar("R", bound=Message)


def _timestamp(when: object) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)  # type: ignore[arg-type]
    return stamp


def api_key_message(key: ApiKey) -> ta.ApiKey:
    """A stored key as the public message (prefix, never the secret)."""
    message = ta.ApiKey(
        id=key.id,
        display_name=key.name,
        role=ROLE_VALUES[key.role],
        prefix=key.prefix,
        create_time=_timestamp(key.created_at),
    )
    if key.expires_at is not None:
        message.expire_time.CopyFrom(_timestamp(key.expires_at))
    if key.revoked_at is not None:
        message.revoke_time.CopyFrom(_timestamp(key.revoked_at))
    return message


def _request_id(value: str) -> str:
    """The caller's request id; a fresh one when none was sent (the call is then not retry-safe)."""
    return value or uuid.uuid4().hex


@dataclass
class Operations:
    """The gateway's use cases over its database and the services behind it."""

    uow_factory: Callable[[], GatewayUnitOfWork]
    peers: Peers
    clock: Clock
    authenticator: Authenticator
    access: AccessReader
    checkout_entitlement_wait_seconds: float = 2.0

    # --- access -------------------------------------------------------------------------------

    async def check_access(self, caller: Caller, request: gw.CheckAccessRequest) -> gw.CheckAccessResponse:
        authorize(caller.principal, Permission.CHECK_ACCESS, customer_id=request.customer_id)
        _require(request.customer_id, "customer_id")
        _require(request.feature_key, "feature_key")
        if request.quantity < 0:
            raise InvalidArgument.field("quantity", "must not be negative")
        decision = await self.access.check(caller.principal.tenant_id, request.customer_id, request.feature_key)
        # NOTE: a quantity is checked against the quota left, not consumed; usage is recorded by metering.
        short = decision.HasField("remaining_quota") and decision.remaining_quota < request.quantity
        response = gw.CheckAccessResponse(decision=decision)  # a copy: the cached decision stays as it is
        if decision.allowed and request.quantity and short:
            response.decision.allowed = False
            response.decision.denial_reason = gw.ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED
        return response

    async def batch_check_access(
        self, caller: Caller, request: gw.BatchCheckAccessRequest
    ) -> gw.BatchCheckAccessResponse:
        authorize(caller.principal, Permission.CHECK_ACCESS, customer_id=request.customer_id)
        _require(request.customer_id, "customer_id")
        answer = await self.peers.entitlement.BatchCheckAccess(
            ent.BatchCheckAccessRequest(customer_id=request.customer_id, feature_keys=request.feature_keys)
        )
        return gw.BatchCheckAccessResponse(
            decisions=[translate.access_decision(r.feature_key, r) for r in answer.results]
        )

    async def list_entitlements(
        self, caller: Caller, request: gw.ListEntitlementsRequest
    ) -> gw.ListEntitlementsResponse:
        authorize(caller.principal, Permission.LIST_ENTITLEMENTS, customer_id=request.customer_id)
        _require(request.customer_id, "customer_id")
        answer = await self.peers.entitlement.ListEntitlements(
            ent.ListEntitlementsRequest(
                customer_id=request.customer_id, page_size=request.page_size, page_token=request.page_token
            )
        )
        return gw.ListEntitlementsResponse(
            entitlements=[translate.entitlement(e) for e in answer.entitlements if e.access.allowed],
            next_page_token=answer.next_page_token,
        )

    # --- customers and checkout ---------------------------------------------------------------

    async def create_customer(self, caller: Caller, request: gw.CreateCustomerRequest) -> gw.CreateCustomerResponse:
        # NOTE: registering the customer is the first step of a checkout, so it needs start_checkout.
        authorize(caller.principal, Permission.START_CHECKOUT)
        answer = await self.peers.lifecycle.CreateCustomer(
            lc.CreateCustomerRequest(
                request_id=_request_id(request.request_id),
                external_id=request.external_id,
                email=request.email,
                country_code=request.country_code,
            )
        )
        return gw.CreateCustomerResponse(customer=translate.customer(answer.customer))

    async def get_customer(self, caller: Caller, request: gw.GetCustomerRequest) -> gw.GetCustomerResponse:
        authorize(caller.principal, Permission.READ_CUSTOMERS, customer_id=request.customer_id)
        _require(request.customer_id, "customer_id")
        answer = await self.peers.lifecycle.GetCustomer(lc.GetCustomerRequest(customer_id=request.customer_id))
        return gw.GetCustomerResponse(customer=translate.customer(answer.customer))

    async def create_payment_method(
        self, caller: Caller, request: gw.CreatePaymentMethodRequest
    ) -> gw.CreatePaymentMethodResponse:
        # NOTE: storing a token is what a checkout does too, so it needs start_checkout.
        authorize(caller.principal, Permission.START_CHECKOUT, customer_id=request.customer_id)
        _require(request.customer_id, "customer_id")
        _require(request.payment_method_token, "payment_method_token")
        answer = await self.peers.payments.CreatePaymentMethod(
            pay.CreatePaymentMethodRequest(
                request_id=_request_id(request.request_id),
                customer_id=request.customer_id,
                type=pay.PAYMENT_METHOD_TYPE_CARD,
                token=request.payment_method_token,
                make_default=True,
            )
        )
        method = answer.payment_method
        return gw.CreatePaymentMethodResponse(
            payment_method=gw.PaymentMethod(
                id=method.id,
                customer_id=method.customer_id,
                brand=method.brand,
                last4=method.last4,
                is_default=method.is_default,
                create_time=method.create_time,
            )
        )

    async def checkout(self, caller: Caller, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
        authorize(caller.principal, Permission.START_CHECKOUT, customer_id=request.customer_id)
        deps = CheckoutDeps(self.uow_factory, self.peers, self.clock, self.checkout_entitlement_wait_seconds)
        answer = await checkout(deps, caller.principal.tenant_id, request)
        # NOTE: the buyer's app checks access next; this replica must not answer from before the purchase.
        self.access.cache.invalidate((caller.principal.tenant_id, request.customer_id))
        return answer

    # --- subscriptions ------------------------------------------------------------------------

    async def get_subscription(self, caller: Caller, request: gw.GetSubscriptionRequest) -> gw.GetSubscriptionResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        _require(request.subscription_id, "subscription_id")
        answer = await self.peers.lifecycle.GetSubscription(
            lc.GetSubscriptionRequest(subscription_id=request.subscription_id)
        )
        return gw.GetSubscriptionResponse(subscription=translate.subscription(answer.subscription))

    async def list_subscriptions(
        self, caller: Caller, request: gw.ListSubscriptionsRequest
    ) -> gw.ListSubscriptionsResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        if len(request.states) > 1:
            raise InvalidArgument.field("states", "filter by at most one state")
        answer = await self.peers.lifecycle.ListSubscriptions(
            lc.ListSubscriptionsRequest(
                customer_id=request.customer_id,
                state=subscription_state_pb2.SubscriptionState.ValueType(
                    int(request.states[0]) if request.states else 0
                ),
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            )
        )
        return gw.ListSubscriptionsResponse(
            subscriptions=[translate.subscription(s) for s in answer.subscriptions],
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
        _require(request.subscription_id, "subscription_id")
        answer = await self.peers.lifecycle.CancelSubscription(
            lc.CancelSubscriptionRequest(
                request_id=_request_id(request.request_id),
                subscription_id=request.subscription_id,
                mode=translate.CANCEL_MODES[request.timing],
                refund=request.refund,
                max_refund_minor=max_refund_minor,
            )
        )
        return gw.CancelSubscriptionResponse(
            subscription=translate.subscription(answer.subscription), refund_amount=answer.refund_amount
        )

    async def reactivate_subscription(
        self, caller: Caller, request: gw.ReactivateSubscriptionRequest
    ) -> gw.ReactivateSubscriptionResponse:
        authorize(caller.principal, Permission.REACTIVATE_SUBSCRIPTION)
        _require(request.subscription_id, "subscription_id")
        answer = await self.peers.lifecycle.ReactivateSubscription(
            lc.ReactivateSubscriptionRequest(
                request_id=_request_id(request.request_id), subscription_id=request.subscription_id
            )
        )
        return gw.ReactivateSubscriptionResponse(subscription=translate.subscription(answer.subscription))

    async def pause_subscription(
        self, caller: Caller, request: gw.PauseSubscriptionRequest
    ) -> gw.PauseSubscriptionResponse:
        authorize(caller.principal, Permission.PAUSE_SUBSCRIPTION)
        _require(request.subscription_id, "subscription_id")
        pause = lc.PauseSubscriptionRequest(
            request_id=_request_id(request.request_id), subscription_id=request.subscription_id
        )
        if request.HasField("resume_time"):
            pause.resume_time.CopyFrom(request.resume_time)
        else:
            # NOTE: an open-ended pause lasts at most the tenant's maximum pause.
            policy = (await self.peers.lifecycle.GetLifecyclePolicy(lc.GetLifecyclePolicyRequest())).policy
            longest = timedelta(seconds=policy.max_pause.seconds)
            pause.resume_time.CopyFrom(_timestamp(self.clock.now() + longest))
        answer = await self.peers.lifecycle.PauseSubscription(pause)
        return gw.PauseSubscriptionResponse(subscription=translate.subscription(answer.subscription))

    async def resume_subscription(
        self, caller: Caller, request: gw.ResumeSubscriptionRequest
    ) -> gw.ResumeSubscriptionResponse:
        authorize(caller.principal, Permission.RESUME_SUBSCRIPTION)
        _require(request.subscription_id, "subscription_id")
        answer = await self.peers.lifecycle.ResumeSubscription(
            lc.ResumeSubscriptionRequest(
                request_id=_request_id(request.request_id), subscription_id=request.subscription_id
            )
        )
        return gw.ResumeSubscriptionResponse(subscription=translate.subscription(answer.subscription))

    async def preview_plan_change(
        self, caller: Caller, request: gw.PreviewPlanChangeRequest
    ) -> gw.PreviewPlanChangeResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        _require(request.subscription_id, "subscription_id")
        _require(request.new_plan_id, "new_plan_id")
        answer = await self.peers.lifecycle.PreviewPlanChange(
            lc.PreviewPlanChangeRequest(
                subscription_id=request.subscription_id,
                plan_id=request.new_plan_id,
                timing=translate.PLAN_CHANGE_TIMINGS[request.timing],
            )
        )
        return gw.PreviewPlanChangeResponse(quote=translate.plan_change_quote(answer.plan_change))

    async def change_subscription_plan(
        self, caller: Caller, request: gw.ChangeSubscriptionPlanRequest
    ) -> gw.ChangeSubscriptionPlanResponse:
        authorize(caller.principal, Permission.CHANGE_SUBSCRIPTION_PLAN)
        _require(request.subscription_id, "subscription_id")
        _require(request.new_plan_id, "new_plan_id")
        answer = await self.peers.lifecycle.ChangeSubscriptionPlan(
            lc.ChangeSubscriptionPlanRequest(
                request_id=_request_id(request.request_id),
                subscription_id=request.subscription_id,
                plan_id=request.new_plan_id,
                timing=translate.PLAN_CHANGE_TIMINGS[request.timing],
            )
        )
        subscription = answer.subscription
        response = gw.ChangeSubscriptionPlanResponse(
            subscription=translate.subscription(subscription),
            quote=translate.plan_change_quote(answer.plan_change, subscription.renewal_price),
        )
        if answer.plan_change.proration.net.amount_minor > 0:
            charges = await self.peers.payments.ListCharges(
                pay.ListChargesRequest(
                    customer_id=subscription.customer_id, subscription_id=subscription.id, page_size=1
                )
            )
            if charges.charges:
                response.charge.CopyFrom(translate.charge(charges.charges[0]))
        return response

    # --- payments -----------------------------------------------------------------------------

    async def list_charges(self, caller: Caller, request: gw.ListChargesRequest) -> gw.ListChargesResponse:
        authorize(caller.principal, Permission.READ_CHARGES)
        answer = await self.peers.payments.ListCharges(
            pay.ListChargesRequest(
                customer_id=request.customer_id,
                subscription_id=request.subscription_id,
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            )
        )
        return gw.ListChargesResponse(
            charges=[translate.charge(c) for c in answer.charges], next_page_token=answer.next_page_token
        )

    async def refund_charge(self, caller: Caller, request: gw.RefundChargeRequest) -> gw.RefundChargeResponse:
        authorize(caller.principal, Permission.REFUND_CHARGE, amount_minor=0)
        _require(request.charge_id, "charge_id")
        if request.HasField("amount"):
            amount = request.amount.amount_minor
            if amount <= 0:
                raise InvalidArgument.field("amount", "must be positive")
        else:
            # NOTE: a full refund is authorized on what is left of the charge, so operators may
            # fully refund small charges.
            charge = (await self.peers.payments.GetCharge(pay.GetChargeRequest(charge_id=request.charge_id))).charge
            amount = charge.gross.amount_minor - charge.refunded.amount_minor
        authorize(
            caller.principal,
            Permission.REFUND_CHARGE,
            amount_minor=amount,
            operator_refund_limit_minor=caller.tenant.operator_refund_limit_minor,
        )
        refund = pay.RefundChargeRequest(
            request_id=_request_id(request.request_id), charge_id=request.charge_id, reason=request.reason
        )
        if request.HasField("amount"):
            refund.amount.CopyFrom(request.amount)
        answer = await self.peers.payments.RefundCharge(refund)
        return gw.RefundChargeResponse(refund=translate.refund(answer.refund), charge=translate.charge(answer.charge))

    # --- sandbox clock ------------------------------------------------------------------------

    async def advance_sandbox_clock(
        self, caller: Caller, request: gw.AdvanceSandboxClockRequest
    ) -> gw.AdvanceSandboxClockResponse:
        authorize(caller.principal, Permission.ADVANCE_SANDBOX_CLOCK)
        caller.tenant.ensure_may_advance_clock()
        clock = self.clock
        if not isinstance(clock, SandboxClock):
            raise FailedPrecondition("this suite runs on wall time; its clock cannot move", reason="NO_SANDBOX_CLOCK")
        target = request.WhichOneof("target")
        if target == "advance_by":
            delta = request.advance_by.ToTimedelta()
        elif target == "advance_to":
            delta = request.advance_to.ToDatetime(tzinfo=clock.now().tzinfo) - clock.now()
        else:
            raise InvalidArgument.field("advance_by", "set advance_by or advance_to")
        if delta < timedelta():
            raise InvalidArgument.field(target, "the sandbox clock only moves forward", reason="CLOCK_BACKWARD")
        request.request_id = _request_id(request.request_id)

        async def advance() -> gw.AdvanceSandboxClockResponse:
            now = await clock.advance(delta)
            response = gw.AdvanceSandboxClockResponse(now=_timestamp(now))
            response.offset.FromTimedelta(clock.offset)
            return response

        async with self.uow_factory() as uow:
            return await run_once(
                uow,
                caller.principal.tenant_id,
                "advance_sandbox_clock",
                request,
                gw.AdvanceSandboxClockResponse,
                advance,
            )

    # --- catalog ------------------------------------------------------------------------------

    async def apply_catalog(self, caller: Caller, request: gw.ApplyCatalogRequest) -> gw.ApplyCatalogResponse:
        authorize(caller.principal, Permission.APPLY_CATALOG)
        _require(request.document, "document")
        answer = await self.peers.catalog.ApplyCatalog(
            cat.ApplyCatalogRequest(
                request_id=_request_id(request.request_id),
                document=request.document,
                format=request.format or cat.DOCUMENT_FORMAT_YAML,
                validate_only=request.validate_only,
            )
        )
        return gw.ApplyCatalogResponse(changes=answer.changes, applied=answer.applied)

    async def export_catalog(self, caller: Caller, request: gw.ExportCatalogRequest) -> gw.ExportCatalogResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ExportCatalog(
            cat.ExportCatalogRequest(format=request.format or cat.DOCUMENT_FORMAT_YAML)
        )
        return gw.ExportCatalogResponse(document=answer.document)

    async def get_storefront(self, caller: Caller, request: gw.GetStorefrontRequest) -> gw.GetStorefrontResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        _require(request.storefront_id, "storefront_id")
        answer = await self.peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=request.storefront_id))
        return gw.GetStorefrontResponse(storefront=answer.storefront)

    async def list_storefronts(self, caller: Caller, request: gw.ListStorefrontsRequest) -> gw.ListStorefrontsResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListStorefronts(
            cat.ListStorefrontsRequest(page_size=page_size(request.page_size), page_token=request.page_token)
        )
        return gw.ListStorefrontsResponse(storefronts=answer.storefronts, next_page_token=answer.next_page_token)

    async def get_plan(self, caller: Caller, request: gw.GetPlanRequest) -> gw.GetPlanResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        _require(request.plan_id, "plan_id")
        answer = await self.peers.catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id))
        return gw.GetPlanResponse(plan=answer.plan)

    async def list_plans(self, caller: Caller, request: gw.ListPlansRequest) -> gw.ListPlansResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListPlans(
            cat.ListPlansRequest(
                page_size=page_size(request.page_size), page_token=request.page_token, family=request.family
            )
        )
        return gw.ListPlansResponse(plans=answer.plans, next_page_token=answer.next_page_token)

    async def list_prices(self, caller: Caller, request: gw.ListPricesRequest) -> gw.ListPricesResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListPrices(
            cat.ListPricesRequest(
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
            )
        )
        return gw.ListPricesResponse(prices=answer.prices, next_page_token=answer.next_page_token)

    # --- tenant administration ----------------------------------------------------------------

    async def _issue_once(
        self,
        caller: Caller,
        request: Message,
        response_type: type[R],
        issue: Callable[[GatewayUnitOfWork], Awaitable[R]],
    ) -> R:
        """Run `issue` once per request id; a repeat answers the first response without its secret."""
        request_id = str(getattr(request, "request_id", ""))
        operation = request.DESCRIPTOR.name
        async with self.uow_factory() as uow:
            if request_id:
                stored = await uow.idempotency.begin(
                    caller.principal.tenant_id, operation, request_id, fingerprint(request)
                )
                if stored is not None:
                    return response_type.FromString(stored)
            response = await issue(uow)
            if request_id:
                # NOTE: secrets are shown once and never stored, not even in the idempotency record.
                kept = response_type()
                kept.CopyFrom(response)
                for secret in ("secret", "admin_secret"):
                    if secret in kept.DESCRIPTOR.fields_by_name:
                        kept.ClearField(secret)
                await uow.idempotency.complete(
                    caller.principal.tenant_id, operation, request_id, kept.SerializeToString(deterministic=True)
                )
            await uow.commit()
        return response

    async def create_tenant(self, caller: Caller, request: ta.CreateTenantRequest) -> ta.CreateTenantResponse:
        authorize(caller.principal, Permission.MANAGE_TENANT)
        if request.mode not in MODES:
            raise InvalidArgument.field("mode", "must be sandbox or live")

        async def issue(uow: GatewayUnitOfWork) -> ta.CreateTenantResponse:
            created = await api_keys.create_tenant(
                uow,
                creator=caller.tenant,
                tenant_id=request.tenant_id,
                name=request.display_name,
                mode=MODES[request.mode],
                now=self.clock.now(),
            )
            return ta.CreateTenantResponse(
                tenant=ta.Tenant(id=created.tenant.id, display_name=created.tenant.name, mode=request.mode),
                admin_api_key=api_key_message(created.admin_key.api_key),
                admin_secret=created.admin_key.plaintext,
            )

        return await self._issue_once(caller, request, ta.CreateTenantResponse, issue)

    async def create_api_key(self, caller: Caller, request: ta.CreateApiKeyRequest) -> ta.CreateApiKeyResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)
        if request.role not in ROLES:
            raise InvalidArgument.field("role", "must be admin, manager, operator, viewer or publishable")
        expires_at = (
            request.expire_time.ToDatetime(tzinfo=self.clock.now().tzinfo) if request.HasField("expire_time") else None
        )

        async def issue(uow: GatewayUnitOfWork) -> ta.CreateApiKeyResponse:
            issued = await api_keys.create_api_key(
                uow,
                tenant=caller.tenant,
                name=request.display_name,
                role=ROLES[request.role],
                now=self.clock.now(),
                expires_at=expires_at,
            )
            return ta.CreateApiKeyResponse(api_key=api_key_message(issued.api_key), secret=issued.plaintext)

        return await self._issue_once(caller, request, ta.CreateApiKeyResponse, issue)

    async def list_api_keys(self, caller: Caller, request: ta.ListApiKeysRequest) -> ta.ListApiKeysResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)
        page = await api_keys.list_api_keys(
            self.uow_factory,
            tenant_id=caller.principal.tenant_id,
            size=page_size(request.page_size),
            page_token=request.page_token,
            show_revoked=request.show_revoked,
        )
        return ta.ListApiKeysResponse(
            api_keys=[api_key_message(k) for k in page.items], next_page_token=page.next_page_token
        )

    async def revoke_api_key(self, caller: Caller, request: ta.RevokeApiKeyRequest) -> ta.RevokeApiKeyResponse:
        authorize(caller.principal, Permission.MANAGE_API_KEYS)
        _require(request.api_key_id, "api_key_id")
        key = await api_keys.revoke_api_key(
            self.uow_factory, tenant_id=caller.principal.tenant_id, api_key_id=request.api_key_id, now=self.clock.now()
        )
        self.authenticator.forget(key.id)
        return ta.RevokeApiKeyResponse(api_key=api_key_message(key))


def _require(value: str, field: str) -> None:
    if not value:
        raise InvalidArgument.field(field, "is required")
