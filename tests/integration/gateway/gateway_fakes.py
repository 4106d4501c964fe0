"""In-process stand-ins for catalog, lifecycle, payments and entitlement, scoped by the forwarded tenant."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte.payments.v1 import payments_pb2 as pay
from azotte.payments.v1 import payments_pb2_grpc
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte.promotions.v1 import promotions_pb2_grpc
from azotte_platform.context import require_tenant
from azotte_platform.errors import FailedPrecondition, NotFound

STOREFRONT = cat.Storefront(id="us", currency_code="USD", channels=[channel_pb2.CHANNEL_WEB])
PLANS = {
    "basic": cat.Plan(id="basic", state=cat.PLAN_STATE_ACTIVE, feature_grants=[cat.FeatureGrant(feature_key="hd")]),
    "trial": cat.Plan(
        id="trial", state=cat.PLAN_STATE_ACTIVE, trial_days=7, feature_grants=[cat.FeatureGrant(feature_key="hd")]
    ),
}
PRICE_MINOR = 999


class SubscriptionNotFound(NotFound):
    """Lifecycle's answer for an unknown subscription."""

    reason = "SUBSCRIPTION_NOT_FOUND"


class CustomerNotFound(NotFound):
    """Lifecycle's answer for a customer not in the calling tenant."""

    reason = "CUSTOMER_NOT_FOUND"


class PromotionNotEligible(FailedPrecondition):
    """Promotions' answer for a reservation whose rules fail; `reasons` names them."""

    reason = "PROMOTION_NOT_ELIGIBLE"


class DuplicateSubscription(FailedPrecondition):
    """Lifecycle's answer when the customer already has a subscription in the plan's family."""

    reason = "DUPLICATE"


@dataclass
class FakeWorld:
    """What the fake services hold, per tenant."""

    ids: Any = field(default_factory=lambda: itertools.count(1))
    charges: dict[tuple[str, str], pay.Charge] = field(default_factory=dict)
    customers: set[tuple[str, str]] = field(default_factory=set)
    subscriptions: dict[tuple[str, str], lc.Subscription] = field(default_factory=dict)
    initial_charges: dict[str, str] = field(default_factory=dict)
    fail_subscriptions: bool = False
    charge_calls: int = 0
    customer_reads: int = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids)}"

    def tenant_charges(self, tenant: str) -> list[pay.Charge]:
        return [c for (t, _), c in self.charges.items() if t == tenant]


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    async def GetStorefront(self, request: Any, context: Any) -> Any:
        if request.id != STOREFRONT.id:
            raise NotFound(f"storefront {request.id!r} not found")
        return cat.GetStorefrontResponse(storefront=STOREFRONT)

    async def GetPlan(self, request: Any, context: Any) -> Any:
        if request.id not in PLANS:
            raise NotFound(f"plan {request.id!r} not found")
        return cat.GetPlanResponse(plan=PLANS[request.id])

    async def ListFeatures(self, request: Any, context: Any) -> Any:
        """The features the plans grant, named by their keys (texts in the catalog's default locale)."""
        keys = sorted({g.feature_key for plan in PLANS.values() for g in plan.feature_grants})
        localized = [cat.LocalizedText(locale="en", display_name=key) for key in keys]
        return cat.ListFeaturesResponse(
            features=[cat.Feature(key=k, display_name=k, localized=t) for k, t in zip(keys, localized, strict=True)]
        )

    async def ResolvePrice(self, request: Any, context: Any) -> Any:
        if request.plan_id not in PLANS:
            raise NotFound(f"no price for {request.plan_id!r}")
        return cat.ResolvePriceResponse(price_id="p1", amount=Money(currency_code="USD", amount_minor=PRICE_MINOR))


class FakePayments(payments_pb2_grpc.PaymentsServiceServicer):
    def __init__(self, world: FakeWorld):
        self.world = world

    async def CreatePaymentMethod(self, request: Any, context: Any) -> Any:
        return pay.CreatePaymentMethodResponse(
            payment_method=pay.PaymentMethod(id=f"pm_{request.token}", token=request.token)
        )

    async def CreateCharge(self, request: Any, context: Any) -> Any:
        tenant = require_tenant()
        self.world.charge_calls += 1
        key = (tenant, request.idempotency_key)
        if key not in self.world.charges:
            declined = request.payment_method_id == "pm_tok_insufficient_funds"
            tax = Money(currency_code="USD", amount_minor=80)
            charge = pay.Charge(
                id=self.world.new_id("ch"),
                customer_id=request.customer_id,
                status=pay.CHARGE_STATUS_FAILED if declined else pay.CHARGE_STATUS_SUCCEEDED,
                gross=Money(currency_code="USD", amount_minor=request.amount.amount_minor + tax.amount_minor),
                tax=tax,
                net=request.amount,
                decline=pay.Decline(reason="INSUFFICIENT_FUNDS") if declined else None,
            )
            self.world.charges[key] = charge
        return pay.CreateChargeResponse(charge=self.world.charges[key])

    async def CreateCharges(self, request: Any, context: Any) -> Any:
        charged = [(await self.CreateCharge(item, context)).charge for item in request.charges]
        return pay.CreateChargesResponse(results=[pay.CreateChargeResult(charge=charge) for charge in charged])

    def _find(self, charge_id: str) -> pay.Charge:
        tenant = require_tenant()
        for charge in self.world.tenant_charges(tenant):
            if charge.id == charge_id:
                return charge
        raise NotFound(f"charge {charge_id!r} not found")

    async def VoidCharge(self, request: Any, context: Any) -> Any:
        charge = self._find(request.charge_id)
        charge.status = pay.CHARGE_STATUS_VOIDED
        return pay.VoidChargeResponse(charge=charge)

    async def GetCharge(self, request: Any, context: Any) -> Any:
        return pay.GetChargeResponse(charge=self._find(request.charge_id))

    async def ListCharges(self, request: Any, context: Any) -> Any:
        charges = [c for c in self.world.tenant_charges(require_tenant()) if c.customer_id == request.customer_id]
        return pay.ListChargesResponse(charges=charges)


class FakeLifecycle(lifecycle_pb2_grpc.LifecycleServiceServicer):
    """A subscribed customer exists from then on (the real lifecycle refuses to subscribe an unknown one)."""

    def __init__(self, world: FakeWorld):
        self.world = world

    async def CreateCustomer(self, request: Any, context: Any) -> Any:
        customer = lc.Customer(id=self.world.new_id("cus"), external_id=request.external_id, email=request.email)
        self.world.customers.add((require_tenant(), customer.id))
        return lc.CreateCustomerResponse(customer=customer)

    async def GetCustomer(self, request: Any, context: Any) -> Any:
        self.world.customer_reads += 1
        if (require_tenant(), request.customer_id) not in self.world.customers:
            raise CustomerNotFound(f"customer {request.customer_id!r} not found")
        return lc.GetCustomerResponse(customer=lc.Customer(id=request.customer_id))

    async def CreateSubscription(self, request: Any, context: Any) -> Any:
        if request.validate_only:
            # NOTE: the checkout's check before the charge; `fail_subscriptions` is a refusal only the create sees.
            return lc.CreateSubscriptionResponse(subscription=lc.Subscription(id=request.subscription_id))
        if self.world.fail_subscriptions:
            raise DuplicateSubscription("customer already has a subscription in this family")
        tenant = require_tenant()
        self.world.customers.add((tenant, request.customer_id))
        for (t, _), sub in self.world.subscriptions.items():
            if t == tenant and sub.customer_id == request.customer_id and sub.plan_id == request.plan_id:
                return lc.CreateSubscriptionResponse(subscription=sub)
        state = (
            subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING
            if request.HasField("trial_end_time")
            else subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE
        )
        sub = lc.Subscription(
            id=self.world.new_id("sub"),
            customer_id=request.customer_id,
            plan_id=request.plan_id,
            storefront_id=request.storefront_id,
            channel=request.channel,
            state=state,
        )
        self.world.subscriptions[(tenant, sub.id)] = sub
        self.world.initial_charges[sub.id] = request.initial_charge_id
        return lc.CreateSubscriptionResponse(subscription=sub)

    def _find(self, subscription_id: str) -> lc.Subscription:
        sub = self.world.subscriptions.get((require_tenant(), subscription_id))
        if sub is None:
            raise SubscriptionNotFound(f"subscription {subscription_id!r} not found")
        return sub

    async def ListSubscriptions(self, request: Any, context: Any) -> Any:
        tenant = require_tenant()
        found = [
            s for (t, _), s in self.world.subscriptions.items() if t == tenant and s.customer_id == request.customer_id
        ]
        return lc.ListSubscriptionsResponse(subscriptions=found)

    async def GetSubscription(self, request: Any, context: Any) -> Any:
        return lc.GetSubscriptionResponse(subscription=self._find(request.subscription_id))

    async def CancelSubscription(self, request: Any, context: Any) -> Any:
        sub = self._find(request.subscription_id)
        sub.cancel_at_period_end = True
        return lc.CancelSubscriptionResponse(subscription=sub)


class FakeEntitlement(entitlement_pb2_grpc.EntitlementServiceServicer):
    def __init__(self, world: FakeWorld):
        self.world = world

    def _subscriptions(self, customer_id: str) -> list[lc.Subscription]:
        tenant = require_tenant()
        return [s for (t, _), s in self.world.subscriptions.items() if t == tenant and s.customer_id == customer_id]

    async def ListEntitlements(self, request: Any, context: Any) -> Any:
        entitlements = [
            ent.Entitlement(
                access=ent.FeatureAccess(
                    feature_key="hd",
                    allowed=True,
                    sources=[ent.GrantSourceRef(source=ent.GRANT_SOURCE_SUBSCRIPTION, source_ref=sub.id)],
                )
            )
            for sub in self._subscriptions(request.customer_id)
        ]
        return ent.ListEntitlementsResponse(entitlements=entitlements)

    async def BatchCheckAccess(self, request: Any, context: Any) -> Any:
        answers = [
            await self.CheckAccess(ent.CheckAccessRequest(customer_id=request.customer_id, feature_key=key), context)
            for key in request.feature_keys
        ]
        return ent.BatchCheckAccessResponse(
            results=[
                ent.FeatureAccess(feature_key=key, allowed=a.allowed, reason=a.reason)
                for key, a in zip(request.feature_keys, answers, strict=True)
            ]
        )

    async def CheckAccess(self, request: Any, context: Any) -> Any:
        allowed = request.feature_key == "hd" and bool(self._subscriptions(request.customer_id))
        return ent.CheckAccessResponse(
            allowed=allowed, reason=ent.ACCESS_REASON_UNSPECIFIED if allowed else ent.ACCESS_REASON_NO_GRANT
        )


class FakePromotions(promotions_pb2_grpc.PromotionsServiceServicer):
    """No promotion exists: every code is unknown, none is automatic; no trial was taken: every customer may start
    one."""

    async def ListPromotions(self, request: Any, context: Any) -> Any:
        return pr.ListPromotionsResponse()

    async def CheckTrialEligibility(self, request: Any, context: Any) -> Any:
        return pr.CheckTrialEligibilityResponse(eligibility=pr.TrialEligibility(eligible=True, product_line="video"))

    async def ReserveRedemption(self, request: Any, context: Any) -> Any:
        raise PromotionNotEligible(
            f"no promotion has the code {request.code!r}", metadata={"reasons": "code_not_found"}
        )
