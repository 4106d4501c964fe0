"""In-memory fakes of the gateway's ports: its unit of work, and the four services behind it.

The fake services are plain objects with the stub methods the gateway calls; like the real ones, they
answer in the tenant of the request context only. `FakeSuite.gateway()` builds every area over them.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Self, cast

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.api_keys import ApiKey, ApiKeyListing
from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.domain.rate_limit import RateLimit
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.ports import ChannelNotifications, GatewayUnitOfWork, Peers
from azotte_gateway.service_layer.access import Access, AccessReader
from azotte_gateway.service_layer.admin import Admin
from azotte_gateway.service_layer.auth import Authenticator, Caller
from azotte_gateway.service_layer.billing import Billing
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.channels import Channels
from azotte_gateway.service_layer.checkout import Checkout
from azotte_gateway.service_layer.customers import Customers, KnownCustomers
from azotte_gateway.service_layer.families import Families
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.service_layer.grants import Grants
from azotte_gateway.service_layer.policy import LifecyclePolicies
from azotte_gateway.service_layer.subscriptions import Subscriptions
from azotte_platform import convert
from azotte_platform.clock import FixedClock
from azotte_platform.context import require_tenant
from azotte_platform.errors import AlreadyExists, FailedPrecondition, NotFound, remote
from azotte_platform.paging import Page, PageRequest, encode_page_token
from azotte_platform.request_ids import require_request_id
from azotte_platform.service_kit import Units
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = Tenant("acme-video", "Acme Video", TenantMode.SANDBOX)
PRICE_MINOR = 999
TAX_MINOR = 80
DECLINING_TOKEN = "tok_insufficient_funds"
STOREFRONT = cat.Storefront(id="us", currency_code="USD", channels=[channel_pb2.CHANNEL_WEB])
PLANS = {
    "basic": cat.Plan(id="basic", state=cat.PLAN_STATE_ACTIVE, feature_grants=[cat.FeatureGrant(feature_key="hd")]),
    "trial": cat.Plan(
        id="trial", state=cat.PLAN_STATE_ACTIVE, trial_days=7, feature_grants=[cat.FeatureGrant(feature_key="hd")]
    ),
    "retired": cat.Plan(id="retired", state=cat.PLAN_STATE_RETIRED),
}


def caller(role: Role = Role.ADMIN, tenant: Tenant = TENANT) -> Caller:
    """A caller authenticated with a key of `role` in `tenant`."""
    return Caller(Principal(tenant.id, tenant.mode, "key_test", role), tenant)


# --- the gateway's unit of work -------------------------------------------------------------------


@dataclass
class GatewayData:
    """What the gateway's database holds, in memory."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)


class FakeTenantRepository:
    def __init__(self, data: GatewayData):
        self._data = data

    async def add(self, tenant: Tenant, create_time: datetime) -> bool:
        if tenant.id in self._data.tenants:
            return False
        self._data.tenants[tenant.id] = tenant
        return True

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._data.tenants.get(tenant_id)

    async def any_exists(self) -> bool:
        return bool(self._data.tenants)

    async def lock_bootstrap(self) -> None:
        return None


class FakeApiKeyRepository:
    def __init__(self, data: GatewayData):
        self._data = data

    async def add(self, key: ApiKey) -> None:
        self._data.api_keys[(key.tenant_id, key.id)] = copy.copy(key)

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        found = next((k for k in self._data.api_keys.values() if k.prefix == prefix), None)
        return copy.copy(found)

    async def get(self, tenant_id: str, api_key_id: str, *, for_update: bool = False) -> ApiKey | None:
        return copy.copy(self._data.api_keys.get((tenant_id, api_key_id)))

    async def save_revocation(self, key: ApiKey) -> None:
        self._data.api_keys[(key.tenant_id, key.id)].revoked_at = key.revoked_at

    async def list_page(self, tenant_id: str, page: PageRequest, listing: ApiKeyListing) -> Page[ApiKey]:
        keys = [
            k
            for (t, _), k in self._data.api_keys.items()
            if t == tenant_id and listing.role in (None, k.role) and listing.revoked in (None, k.revoked_at is not None)
        ]
        # NOTE: a page token here is the position of the key in the listing's order (enough for a fake).
        fields = {"create_time": lambda k: k.created_at, "display_name": lambda k: k.name, "role": lambda k: k.role}
        for name, desc in reversed((*listing.order, ("id", False))):
            keys.sort(key=fields.get(name, lambda k: k.id), reverse=desc)
        start = page.after_key() or 0
        rest = keys[start:]
        token = encode_page_token([start + page.size], page.query) if len(rest) > page.size else ""
        return Page(rest[: page.size], token)


class FakeGatewayUnitOfWork(FakeUnitOfWork):
    """Implements `ports.GatewayUnitOfWork`: each `async with` works on a copy that `commit()` keeps."""

    def __init__(self, clock: FixedClock, data: GatewayData, idempotency: InMemoryIdempotency):
        super().__init__(clock, idempotency)
        self._kept = data
        self._working = GatewayData()

    @property
    def tenants(self) -> FakeTenantRepository:
        return FakeTenantRepository(self._working)

    @property
    def api_keys(self) -> FakeApiKeyRepository:
        return FakeApiKeyRepository(self._working)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._working = copy.deepcopy(self._kept)
        return self

    async def commit(self) -> None:
        await super().commit()
        self._kept.tenants, self._kept.api_keys = self._working.tenants, self._working.api_keys
        self._working = copy.deepcopy(self._kept)


# --- the services behind the gateway --------------------------------------------------------------


class FakeCatalog:
    """The storefront `us` (web only) and the plans `basic`, `trial` (7 days) and `retired`, at one price."""

    async def GetStorefront(self, request: cat.GetStorefrontRequest) -> cat.GetStorefrontResponse:
        if request.id != STOREFRONT.id:
            raise NotFound(f"storefront {request.id!r} not found")
        return cat.GetStorefrontResponse(storefront=STOREFRONT)

    async def GetPlan(self, request: cat.GetPlanRequest) -> cat.GetPlanResponse:
        if request.id not in PLANS:
            raise NotFound(f"plan {request.id!r} not found")
        return cat.GetPlanResponse(plan=PLANS[request.id])

    async def ResolvePrice(self, request: cat.ResolvePriceRequest) -> cat.ResolvePriceResponse:
        if request.plan_id not in PLANS:
            raise NotFound(f"no price for {request.plan_id!r}")
        return cat.ResolvePriceResponse(price_id="p1", amount=convert.money(PRICE_MINOR, "USD"))


class FakePayments:
    """One charge per (tenant, idempotency key); a card token `tok_insufficient_funds` is declined."""

    def __init__(self, ids: Iterator[int]):
        self._ids = ids
        self.charges: dict[tuple[str, str], pay.Charge] = {}
        self.refunds: list[pay.RefundChargeRequest] = []
        self.void_fails = False

    def charges_of(self, customer_id: str) -> list[pay.Charge]:
        """The customer's charges in the calling tenant."""
        tenant = require_tenant()
        return [c for (t, _), c in self.charges.items() if t == tenant and c.customer_id == customer_id]

    async def CreatePaymentMethod(self, request: pay.CreatePaymentMethodRequest) -> pay.CreatePaymentMethodResponse:
        require_request_id(request.request_id)
        method = pay.PaymentMethod(id=f"pm_{request.token}", customer_id=request.customer_id, is_default=True)
        return pay.CreatePaymentMethodResponse(payment_method=method)

    async def CreateCharge(self, request: pay.CreateChargeRequest) -> pay.CreateChargeResponse:
        require_request_id(request.request_id)
        key = (require_tenant(), request.idempotency_key)
        if key not in self.charges:
            declined = request.payment_method_id == f"pm_{DECLINING_TOKEN}"
            self.charges[key] = pay.Charge(
                id=f"ch_{next(self._ids)}",
                customer_id=request.customer_id,
                status=pay.CHARGE_STATUS_FAILED if declined else pay.CHARGE_STATUS_SUCCEEDED,
                gross=convert.money(request.amount.amount_minor + TAX_MINOR, "USD"),
                tax=convert.money(TAX_MINOR, "USD"),
                net=request.amount,
                decline=pay.Decline(reason="INSUFFICIENT_FUNDS") if declined else None,
                subscription_id=request.subscription_id,
            )
        return pay.CreateChargeResponse(charge=self.charges[key])

    def _find(self, charge_id: str) -> pay.Charge:
        tenant = require_tenant()
        found = next((c for (t, _), c in self.charges.items() if t == tenant and c.id == charge_id), None)
        if found is None:
            raise NotFound(f"charge {charge_id!r} not found")
        return found

    async def VoidCharge(self, request: pay.VoidChargeRequest) -> pay.VoidChargeResponse:
        require_request_id(request.request_id)
        charge = self._find(request.charge_id)
        if self.void_fails:
            raise FailedPrecondition(f"charge {charge.id!r} is settled; refund it")
        charge.status = pay.CHARGE_STATUS_VOIDED
        return pay.VoidChargeResponse(charge=charge)

    async def RefundCharge(self, request: pay.RefundChargeRequest) -> pay.RefundChargeResponse:
        require_request_id(request.request_id)
        charge = self._find(request.charge_id)
        charge.refunded.CopyFrom(charge.gross)
        self.refunds.append(request)
        return pay.RefundChargeResponse(refund=pay.Refund(charge_id=charge.id, amount=charge.gross), charge=charge)


class FakeLifecycle:
    """Customers and subscriptions made on request (or refused while `subscriptions_fail`); channel events applied once.

    A subscribed customer exists from then on (the real lifecycle refuses to subscribe an unknown one).
    As lifecycle does, a create answers its first answer to a repeat of its request id, honours
    `validate_only` and a chosen `subscription_id`, and refuses a second live subscription of a customer to
    one plan as ALREADY_EXISTS `ALREADY_SUBSCRIBED`. `crash_after_create` makes the next create lose its
    answer on the way back (after it was made), as a crash of the caller would.
    """

    def __init__(self, ids: Iterator[int]):
        self._ids = ids
        self.customers: set[tuple[str, str]] = set()
        self.subscriptions: dict[tuple[str, str], lc.Subscription] = {}
        self.initial_charges: dict[str, str] = {}
        self.subscriptions_fail = False
        self.crash_after_create = False
        self.applied: list[tuple[str, lc.ChannelEvent]] = []
        self._answers: dict[tuple[str, str], lc.ApplyChannelEventResponse] = {}
        self._created: dict[tuple[str, str], lc.CreateSubscriptionResponse] = {}

    def add_customer(self, customer_id: str, tenant_id: str = TENANT.id) -> None:
        self.customers.add((tenant_id, customer_id))

    async def CreateCustomer(self, request: lc.CreateCustomerRequest) -> lc.CreateCustomerResponse:
        require_request_id(request.request_id)
        customer = lc.Customer(id=f"cus_{next(self._ids)}", external_id=request.external_id, email=request.email)
        self.customers.add((require_tenant(), customer.id))
        return lc.CreateCustomerResponse(customer=customer)

    async def GetCustomer(self, request: lc.GetCustomerRequest) -> lc.GetCustomerResponse:
        if (require_tenant(), request.customer_id) not in self.customers:
            raise NotFound(f"customer {request.customer_id!r} not found")
        return lc.GetCustomerResponse(customer=lc.Customer(id=request.customer_id))

    async def CreateSubscription(self, request: lc.CreateSubscriptionRequest) -> lc.CreateSubscriptionResponse:
        key = (require_tenant(), require_request_id(request.request_id))
        if key in self._created and not request.validate_only:
            return self._created[key]
        if self.subscriptions_fail and not request.validate_only:
            # NOTE: a refusal the check before the charge could not see (e.g. a concurrent checkout won).
            raise FailedPrecondition("the customer already has a subscription in this family")
        self._refuse_second(key[0], request)
        if not request.validate_only:
            self.customers.add((key[0], request.customer_id))
        state = (
            subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING
            if request.HasField("trial_end_time")
            else subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE
        )
        subscription = lc.Subscription(
            id=request.subscription_id or f"sub_{next(self._ids)}",
            customer_id=request.customer_id,
            plan_id=request.plan_id,
            storefront_id=request.storefront_id,
            channel=request.channel,
            state=state,
            trial_end_time=request.trial_end_time if request.HasField("trial_end_time") else None,
        )
        answer = lc.CreateSubscriptionResponse(subscription=subscription)
        if request.validate_only:
            return answer
        self.subscriptions[(key[0], subscription.id)] = subscription
        self.initial_charges[subscription.id] = request.initial_charge_id
        self._created[key] = answer
        if self.crash_after_create:
            self.crash_after_create = False
            raise ConnectionResetError("the caller crashed before it read the answer")
        return answer

    def _refuse_second(self, tenant_id: str, request: lc.CreateSubscriptionRequest) -> None:
        if (tenant_id, request.subscription_id) in self.subscriptions:
            # NOTE: as lifecycle does, a chosen id already taken is refused first, naming the id.
            raise remote(
                AlreadyExists,
                f"subscription {request.subscription_id} already exists",
                "SUBSCRIPTION_EXISTS",
                {"subscription_id": request.subscription_id},
                [],
            )
        held = next(
            (
                sub
                for (t, _), sub in self.subscriptions.items()
                if t == tenant_id and sub.customer_id == request.customer_id and sub.plan_id == request.plan_id
            ),
            None,
        )
        if held is not None:
            raise remote(
                AlreadyExists,
                f"customer {request.customer_id} is already subscribed to plan {request.plan_id!r}",
                "ALREADY_SUBSCRIBED",
                {"subscription_id": held.id, "plan_id": held.plan_id},
                [],
            )

    async def ApplyChannelEvent(self, request: lc.ApplyChannelEventRequest) -> lc.ApplyChannelEventResponse:
        # NOTE: as lifecycle does (AIP-155): a request id seen before answers its first answer, applying nothing.
        key = (require_tenant(), require_request_id(request.request_id))
        if key not in self._answers:
            self.applied.append((key[0], request.event))
            self._answers[key] = lc.ApplyChannelEventResponse(outcome=lc.CHANNEL_EVENT_OUTCOME_APPLIED)
        return self._answers[key]


class FakeEntitlement:
    """Every subscription of a customer grants `hd`."""

    def __init__(self, lifecycle: FakeLifecycle):
        self._lifecycle = lifecycle

    async def ListEntitlements(self, request: ent.ListEntitlementsRequest) -> ent.ListEntitlementsResponse:
        tenant = require_tenant()
        granted = [
            ent.Entitlement(
                access=ent.FeatureAccess(
                    feature_key="hd",
                    allowed=True,
                    sources=[ent.GrantSourceRef(source=ent.GRANT_SOURCE_SUBSCRIPTION, source_ref=sub.id)],
                )
            )
            for (t, _), sub in self._lifecycle.subscriptions.items()
            if t == tenant and sub.customer_id == request.customer_id
        ]
        return ent.ListEntitlementsResponse(entitlements=granted)


@dataclass(frozen=True)
class FakePeers:
    """Implements `ports.Peers` with the fakes (each has only the methods the gateway calls)."""

    catalog: FakeCatalog
    lifecycle: FakeLifecycle
    payments: FakePayments
    entitlement: FakeEntitlement


# --- everything together --------------------------------------------------------------------------


class FakeSuite:
    """The gateway's data and the four fake services, and the gateway's areas over them."""

    def __init__(self) -> None:
        ids = itertools.count(1)
        self.clock = FixedClock(NOW)
        self.data = GatewayData(tenants={TENANT.id: TENANT})
        self.idempotency = InMemoryIdempotency()
        self.catalog = FakeCatalog()
        self.payments = FakePayments(ids)
        self.lifecycle = FakeLifecycle(ids)
        self.entitlement = FakeEntitlement(self.lifecycle)

    def uow(self) -> GatewayUnitOfWork:
        return FakeGatewayUnitOfWork(self.clock, self.data, self.idempotency)

    @property
    def peers(self) -> Peers:
        # NOTE: the port types the peers as the generated stubs; the fakes have only the methods used.
        return cast(Peers, FakePeers(self.catalog, self.lifecycle, self.payments, self.entitlement))

    def gateway(self, channels: ChannelNotifications | None = None) -> Gateway:
        """Every area over the fakes; channel notifications go to `channels` (by default, no adapter)."""
        units = Units(self.uow)
        peers = self.peers
        authenticator = Authenticator(self.uow, self.clock, RateLimit(10, 10), cache_seconds=5)
        reader = AccessReader(peers, self.clock, ttl_seconds=60, settle_seconds=0, max_customers=100)
        customers = KnownCustomers(peers, max_customers=100)
        return Gateway(
            authenticator=authenticator,
            access=Access(peers, reader, customers),
            checkout=Checkout(units, peers, self.clock, reader, entitlement_wait_seconds=0.5, poll_interval_seconds=0),
            subscriptions=Subscriptions(peers, self.clock, customers, reader),
            billing=Billing(peers, customers),
            catalog=Catalog(peers),
            admin=Admin(units, self.clock, authenticator, customers),
            channels=Channels(channels or ChannelAdapters(), peers),
            families=Families(peers, customers),
            grants=Grants(peers, self.clock, customers, reader),
            customers=Customers(peers, customers),
            policy=LifecyclePolicies(peers),
        )
