"""In-memory fakes of the gateway's ports: its unit of work, and the four services behind it.

The fake services are plain objects with the stub methods the gateway calls; like the real ones, they
answer in the tenant of the request context only. `FakeSuite.gateway()` builds every area over them.
"""

from __future__ import annotations

import base64
import copy
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Self, cast

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte.payments.v1 import store_sales_pb2 as ss
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.adapters.channels.partners import SignedPartnerEvents
from azotte_gateway.adapters.channels.registry import ChannelAdapters
from azotte_gateway.domain.api_keys import ApiKey, ApiKeyListing
from azotte_gateway.domain.channel_inbox import InboxNotification, InboxQuery, InboxState
from azotte_gateway.domain.channels import AppStoreApp
from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.domain.rate_limit import RateLimit
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.ports import ChannelHistory, ChannelNotifications, GatewayUnitOfWork, Peers
from azotte_gateway.service_layer.access import Access, AccessReader
from azotte_gateway.service_layer.admin import Admin
from azotte_gateway.service_layer.analytics import Analytics
from azotte_gateway.service_layer.auth import Authenticator, Caller
from azotte_gateway.service_layer.billing import Billing
from azotte_gateway.service_layer.campaigns import Campaigns
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.catalog_reads import CatalogReads
from azotte_gateway.service_layer.channel_accounts import ChannelAccounts
from azotte_gateway.service_layer.channel_inbox import ChannelInbox
from azotte_gateway.service_layer.channels import ChannelEventApplier, Channels
from azotte_gateway.service_layer.checkout import Checkout
from azotte_gateway.service_layer.contracts import Contracts
from azotte_gateway.service_layer.customers import Customers, KnownCustomers
from azotte_gateway.service_layer.experiments import Experiments
from azotte_gateway.service_layer.families import Families
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.service_layer.grants import Grants
from azotte_gateway.service_layer.invoices import Invoices
from azotte_gateway.service_layer.localization import FeatureTexts
from azotte_gateway.service_layer.policy import LifecyclePolicies
from azotte_gateway.service_layer.promotions import AutomaticPromotions, Promotions
from azotte_gateway.service_layer.psp_accounts import PspAccounts
from azotte_gateway.service_layer.referrals import Referrals
from azotte_gateway.service_layer.revenue_stream import RevenueProjection
from azotte_gateway.service_layer.subscriptions import Subscriptions
from azotte_gateway.service_layer.trials import Trials
from azotte_gateway.service_layer.usage import Usage
from azotte_gateway.service_layer.usage_billing import UsageBilling
from azotte_platform import convert
from azotte_platform.clock import FixedClock, TenantTimes
from azotte_platform.context import require_tenant
from azotte_platform.enums import Channel
from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    SubscriptionNotFound,
    remote,
)
from azotte_platform.paging import Page, PageRequest, encode_page_token
from azotte_platform.request_ids import require_request_id
from azotte_platform.sealing import Keyring
from azotte_platform.service_kit import Units
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency
from tests.unit.gateway.channel_account_fakes import ChannelAccountData, FakeChannelAccountRepository
from tests.unit.gateway.portal_fakes import PortalWorld
from tests.unit.gateway.revenue_fakes import FakeHistory, FakeRevenueRepository, FixedTerms, RevenueData
from tests.unit.gateway.webhook_fakes import WebhookWorld

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = Tenant("acme-video", "Acme Video", TenantMode.SANDBOX)
PRICE_MINOR = 999
TAX_MINOR = 80
DECLINING_TOKEN = "tok_insufficient_funds"
STOREFRONT = cat.Storefront(
    id="us",
    currency_code="USD",
    currency_exponent=2,
    locales=["en-US"],
    channels=[channel_pb2.CHANNEL_WEB],
    branding=cat.StorefrontBranding(name="Example TV", logo_url="https://cdn.example.com/logo.svg"),
)
PLANS = {
    "basic": cat.Plan(id="basic", state=cat.PLAN_STATE_ACTIVE, feature_grants=[cat.FeatureGrant(feature_key="hd")]),
    "trial": cat.Plan(
        id="trial", state=cat.PLAN_STATE_ACTIVE, trial_days=7, feature_grants=[cat.FeatureGrant(feature_key="hd")]
    ),
    "retired": cat.Plan(id="retired", state=cat.PLAN_STATE_RETIRED),
    "premium": cat.Plan(id="premium", state=cat.PLAN_STATE_ACTIVE, feature_grants=[cat.FeatureGrant(feature_key="4k")]),
}
FEATURES = [
    cat.Feature(key=key, display_name=name, localized=cat.LocalizedText(locale="en", display_name=name))
    for key, name in (("hd", "HD streaming"), ("4k", "4K streaming"))
]


def caller(role: Role = Role.ADMIN, tenant: Tenant = TENANT) -> Caller:
    """A caller authenticated with a key of `role` in `tenant`."""
    return Caller(Principal(tenant.id, tenant.mode, "key_test", role), tenant)


# --- the gateway's unit of work -------------------------------------------------------------------


@dataclass
class GatewayData:
    """What the gateway's database holds, in memory."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)
    app_store_apps: dict[tuple[str, str], AppStoreApp] = field(default_factory=dict)
    channel_accounts: ChannelAccountData = field(default_factory=ChannelAccountData)
    revenue: RevenueData = field(default_factory=RevenueData)
    channel_inbox: dict[tuple[str, str, str], InboxNotification] = field(default_factory=dict)


class FakeChannelInboxRepository:
    """Implements `ports.ChannelInboxRepository` in memory (sandbox clock offsets are not modelled)."""

    def __init__(self, data: GatewayData):
        self._rows = data.channel_inbox

    async def add(self, notification: InboxNotification) -> bool:
        key = (notification.tenant_id, notification.channel.value, notification.notification_id)
        if key in self._rows:
            return False
        self._rows[key] = copy.deepcopy(notification)
        return True

    async def get(
        self, tenant_id: str, channel: Channel, notification_id: str, *, for_update: bool = False
    ) -> InboxNotification | None:
        found = self._rows.get((tenant_id, channel.value, notification_id))
        return copy.deepcopy(found)

    async def save(self, notification: InboxNotification) -> None:
        self._rows[(notification.tenant_id, notification.channel.value, notification.notification_id)] = copy.deepcopy(
            notification
        )

    async def list_page(self, tenant_id: str, page: PageRequest, query: InboxQuery) -> Page[InboxNotification]:
        rows = [
            n
            for (tenant, _, _), n in self._rows.items()
            if tenant == tenant_id
            and (query.channel is None or n.channel is query.channel)
            and (query.state is None or n.state is query.state)
        ]
        ordered = sorted(rows, key=lambda n: (n.event_time, n.channel.value, n.notification_id), reverse=True)
        if page.after is not None:
            after = (datetime.fromisoformat(page.after_key(0)), page.after_key(1), page.after_key(2))
            ordered = [n for n in ordered if (n.event_time, n.channel.value, n.notification_id) < after]
        cut = page.page(ordered[: page.limit], lambda n: [n.event_time.isoformat(), n.channel.value, n.notification_id])
        return Page([copy.deepcopy(n) for n in cut.items], cut.next_page_token)

    async def claim_due(self, times: TenantTimes, limit: int, lease: timedelta) -> list[InboxNotification]:
        due = sorted(
            (
                n
                for n in self._rows.values()
                if n.state in (InboxState.RECEIVED, InboxState.FAILED)
                and n.next_attempt_time is not None
                and n.next_attempt_time <= times.of(n.tenant_id)
            ),
            key=lambda n: n.event_time,
        )[:limit]
        for n in due:
            n.next_attempt_time = times.of(n.tenant_id) + lease
        return [copy.deepcopy(n) for n in due]

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        leads = [
            n.next_attempt_time - times.of(n.tenant_id)
            for n in self._rows.values()
            if n.state in (InboxState.RECEIVED, InboxState.FAILED) and n.next_attempt_time is not None
        ]
        return min(leads, default=None)


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


class FakeAppStoreAppRepository:
    def __init__(self, data: GatewayData):
        self._data = data

    async def add(self, app: AppStoreApp) -> bool:
        return self._data.app_store_apps.setdefault((app.tenant_id, app.app_id), app) is app

    async def get(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        return self._data.app_store_apps.get((tenant_id, app_id))

    async def list(self, tenant_id: str) -> list[AppStoreApp]:
        apps = [a for a in self._data.app_store_apps.values() if a.tenant_id == tenant_id]
        return sorted(apps, key=lambda a: a.app_id)


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

    @property
    def app_store_apps(self) -> FakeAppStoreAppRepository:
        return FakeAppStoreAppRepository(self._working)

    @property
    def channel_accounts(self) -> FakeChannelAccountRepository:
        return FakeChannelAccountRepository(self._working.channel_accounts)

    @property
    def revenue(self) -> FakeRevenueRepository:
        return FakeRevenueRepository(self._working.revenue)

    @property
    def channel_inbox(self) -> FakeChannelInboxRepository:
        return FakeChannelInboxRepository(self._working)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._working = copy.deepcopy(self._kept)
        return self

    async def commit(self) -> None:
        await super().commit()
        self._kept.tenants, self._kept.api_keys = self._working.tenants, self._working.api_keys
        self._kept.app_store_apps = self._working.app_store_apps
        self._kept.channel_accounts = self._working.channel_accounts
        self._kept.revenue = self._working.revenue
        self._kept.channel_inbox = self._working.channel_inbox
        self._working = copy.deepcopy(self._kept)


# --- the services behind the gateway --------------------------------------------------------------


class FakeCatalog:
    """The storefront `us` (web only) and the plans `basic`, `trial` (7 days) and `retired`, at one price
    (`price_minor`)."""

    price_minor = PRICE_MINOR

    async def GetStorefront(self, request: cat.GetStorefrontRequest) -> cat.GetStorefrontResponse:
        if request.id != STOREFRONT.id:
            raise NotFound(f"storefront {request.id!r} not found")
        return cat.GetStorefrontResponse(storefront=STOREFRONT)

    async def GetPlan(self, request: cat.GetPlanRequest) -> cat.GetPlanResponse:
        if request.id not in PLANS:
            raise NotFound(f"plan {request.id!r} not found")
        return cat.GetPlanResponse(plan=PLANS[request.id])

    async def ListFeatures(self, request: cat.ListFeaturesRequest) -> cat.ListFeaturesResponse:
        return cat.ListFeaturesResponse(features=FEATURES)

    async def ResolvePrice(self, request: cat.ResolvePriceRequest) -> cat.ResolvePriceResponse:
        if request.plan_id not in PLANS:
            raise NotFound(f"no price for {request.plan_id!r}")
        return cat.ResolvePriceResponse(price_id="p1", amount=convert.money(self.price_minor, "USD"))


class FakePayments:
    """One charge per (tenant, idempotency key); a card token `tok_insufficient_funds` is declined."""

    def __init__(self, ids: Iterator[int]):
        self._ids = ids
        self.charges: dict[tuple[str, str], pay.Charge] = {}
        self.refunds: list[pay.RefundChargeRequest] = []
        self.void_fails = False
        self.store_sales: list[ss.RecordStoreSaleRequest] = []
        self.store_sale_refused = False

    def charges_of(self, customer_id: str) -> list[pay.Charge]:
        """The customer's charges in the calling tenant."""
        tenant = require_tenant()
        return [c for (t, _), c in self.charges.items() if t == tenant and c.customer_id == customer_id]

    async def RecordStoreSale(self, request: ss.RecordStoreSaleRequest) -> ss.RecordStoreSaleResponse:
        require_request_id(request.request_id)
        if self.store_sale_refused:
            raise InvalidArgument.field("price.currency_code", "does not match the storefront currency")
        self.store_sales.append(request)
        return ss.RecordStoreSaleResponse(sale=ss.StoreSale(sale_id=request.sale_id, price=request.price))

    async def CreatePaymentMethod(self, request: pay.CreatePaymentMethodRequest) -> pay.CreatePaymentMethodResponse:
        require_request_id(request.request_id)
        method = pay.PaymentMethod(id=f"pm_{request.token}", customer_id=request.customer_id, is_default=True)
        return pay.CreatePaymentMethodResponse(payment_method=method)

    async def CreateCharge(self, request: pay.CreateChargeRequest) -> pay.CreateChargeResponse:
        """A key's repeat answers its charge; the same key with another amount or discount is refused, as payments
        refuses it."""
        require_request_id(request.request_id)
        key = (require_tenant(), request.idempotency_key)
        if key in self.charges and (self.charges[key].net, self.charges[key].discount) != (
            request.amount,
            request.discount,
        ):
            raise remote(Aborted, "the idempotency key was used with another charge", "IDEMPOTENCY_KEY_REUSED", {}, [])
        if key not in self.charges:
            declined = request.payment_method_id == f"pm_{DECLINING_TOKEN}"
            self.charges[key] = pay.Charge(
                id=f"ch_{next(self._ids)}",
                customer_id=request.customer_id,
                status=pay.CHARGE_STATUS_FAILED if declined else pay.CHARGE_STATUS_SUCCEEDED,
                gross=convert.money(request.amount.amount_minor + TAX_MINOR, "USD"),
                tax=convert.money(TAX_MINOR, "USD"),
                net=request.amount,
                discount=request.discount if request.HasField("discount") else None,
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
        # When set, as lifecycle does: an event other than a purchase for an identity no purchase named is refused.
        self.strict_identities = False
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

    async def ListSubscriptions(self, request: lc.ListSubscriptionsRequest) -> lc.ListSubscriptionsResponse:
        tenant = require_tenant()
        listed = [s for (t, _), s in self.subscriptions.items() if t == tenant and s.customer_id == request.customer_id]
        return lc.ListSubscriptionsResponse(subscriptions=listed)

    async def ApplyChannelEvent(self, request: lc.ApplyChannelEventRequest) -> lc.ApplyChannelEventResponse:
        # NOTE: as lifecycle does (AIP-155): a request id seen before answers its first answer, applying nothing.
        key = (require_tenant(), require_request_id(request.request_id))
        purchased = {e.identity.value for _, e in self.applied if e.kind == lc.CHANNEL_EVENT_KIND_PURCHASED}
        is_purchase = request.event.kind == lc.CHANNEL_EVENT_KIND_PURCHASED
        if self.strict_identities and not is_purchase and request.event.identity.value not in purchased:
            raise SubscriptionNotFound(f"no subscription has identity {request.event.identity.value!r}")
        if key not in self._answers:
            self.applied.append((key[0], request.event))
            subscription = lc.Subscription(
                id=f"sub_{request.event.identity.value}", customer_id="cus_store", storefront_id="us", plan_id="basic"
            )
            self._answers[key] = lc.ApplyChannelEventResponse(
                subscription=subscription, outcome=lc.CHANNEL_EVENT_OUTCOME_APPLIED
            )
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


class FakePromotions:
    """Promotions of a percent off, each with shared codes or automatic; a reservation counts against
    `max_per_customer`.

    Rules judged: the code exists, the promotion is active, new customers only, the per-customer limit; an automatic
    reservation takes the eligible automatic promotion with the most off. A reservation is idempotent by request id;
    confirm and release move it once, as promotions does.
    """

    def __init__(self, ids: Iterator[int]):
        self._ids = ids
        self.promotions: dict[tuple[str, str], pr.Promotion] = {}
        self.codes: dict[tuple[str, str], pr.PromotionCode] = {}
        self.redemptions: dict[tuple[str, str], pr.Redemption] = {}
        self.checkouts: list[pr.Checkout] = []
        self.trials: dict[tuple[str, str], tuple[str, str]] = {}
        self.store_offers: dict[tuple[str, str], str] = {}
        self.listed = 0

    def add(
        self,
        code: str,
        percent: int,
        *,
        max_per_customer: int | None = None,
        new_only: bool = False,
        extra_trial_days: int = 0,
        automatic: bool = False,
    ) -> str:
        """An active promotion of `percent` % off (or, given `extra_trial_days`, of that many more days of trial)
        with the shared `code` (none: ""), or `automatic`, in the calling tenant."""
        tenant = require_tenant()
        discount = pr.Discount(kind=pr.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=percent * 100)
        if extra_trial_days:
            discount = pr.Discount(kind=pr.DISCOUNT_KIND_EXTRA_TRIAL_DAYS, trial_days=extra_trial_days)
        promotion = pr.Promotion(
            id=f"promo_{next(self._ids)}",
            state=pr.PROMOTION_STATE_ACTIVE,
            discount=discount,
            limits=pr.Limits(max_per_customer=max_per_customer),
            eligibility=pr.Eligibility(new_customers_only=new_only),
            automatic=automatic,
        )
        self.promotions[(tenant, promotion.id)] = promotion
        if code:
            self.codes[(tenant, code)] = pr.PromotionCode(code=code, promotion_id=promotion.id)
        return promotion.id

    async def ListPromotions(self, request: pr.ListPromotionsRequest) -> pr.ListPromotionsResponse:
        """Only what the checkout asks: the active automatic promotions, or every promotion."""
        self.listed += 1
        found = [p for (t, _), p in self.promotions.items() if t == require_tenant()]
        if request.filter == "automatic = true AND state = PROMOTION_STATE_ACTIVE":
            found = [p for p in found if p.automatic and p.state == pr.PROMOTION_STATE_ACTIVE]
        return pr.ListPromotionsResponse(promotions=found[: request.page_size or None])

    def take_trial(self, customer_id: str, plan_id: str, subscription_id: str = "sub-earlier") -> None:
        """Record that the customer took a trial of `plan_id` (in the calling tenant)."""
        self.trials[(require_tenant(), customer_id)] = (plan_id, subscription_id)

    async def CheckTrialEligibility(self, request: pr.CheckTrialEligibilityRequest) -> pr.CheckTrialEligibilityResponse:
        """One trial per customer (every plan is one product line here); the asking subscription's own is none."""
        taken = self.trials.get((require_tenant(), request.customer_id))
        if taken is None or taken[1] == request.subscription_id:
            return pr.CheckTrialEligibilityResponse(eligibility=pr.TrialEligibility(eligible=True, product_line="ott"))
        match = pr.TrialMatch(kind=pr.TRIAL_MATCH_KIND_CUSTOMER, value=request.customer_id, plan_id=taken[0])
        eligibility = pr.TrialEligibility(product_line="ott", reason="TRIAL_ALREADY_USED", match=match)
        return pr.CheckTrialEligibilityResponse(eligibility=eligibility)

    def held(self, promotion_id: str, customer_id: str) -> int:
        return sum(
            1
            for r in self.redemptions.values()
            if r.promotion_id == promotion_id
            and r.customer_id == customer_id
            and r.state != pr.REDEMPTION_STATE_RELEASED
        )

    def _judge(self, code: str, checkout: pr.Checkout) -> tuple[pr.Validation, pr.Promotion | None]:
        tenant = require_tenant()
        self.checkouts.append(checkout)
        found = self.codes.get((tenant, code.upper()))
        if found is None:
            reason = pr.Ineligibility(reason=pr.INELIGIBILITY_REASON_CODE_NOT_FOUND)
            return pr.Validation(eligible=False, code=code, ineligibilities=[reason]), None
        promotion = self.promotions[(tenant, found.promotion_id)]
        return self._judge_promotion(promotion, found.code, checkout), promotion

    def _best_automatic(self, checkout: pr.Checkout) -> tuple[pr.Validation, pr.Promotion]:
        self.checkouts.append(checkout)
        judged = [
            (self._judge_promotion(p, "", checkout), p)
            for (t, _), p in self.promotions.items()
            if t == require_tenant() and p.automatic
        ]
        eligible = sorted((v for v in judged if v[0].eligible), key=lambda v: -v[0].discount.amount_minor)
        if not eligible:
            raise remote(NotFound, "no automatic promotion suits the checkout", "NO_AUTOMATIC_PROMOTION", {}, [])
        return eligible[0]

    def _judge_promotion(self, promotion: pr.Promotion, code: str, checkout: pr.Checkout) -> pr.Validation:
        failed = []
        if promotion.state != pr.PROMOTION_STATE_ACTIVE:
            failed.append(pr.INELIGIBILITY_REASON_PROMOTION_NOT_ACTIVE)
        if promotion.eligibility.new_customers_only and checkout.customer.has_paid_subscription:
            failed.append(pr.INELIGIBILITY_REASON_NOT_NEW_CUSTOMER)
        limit = promotion.limits
        if (
            limit.HasField("max_per_customer")
            and self.held(promotion.id, checkout.customer_id) >= limit.max_per_customer
        ):
            failed.append(pr.INELIGIBILITY_REASON_CUSTOMER_LIMIT_REACHED)
        off = (checkout.amount.amount_minor * promotion.discount.percent_basis_points + 5000) // 10000
        currency = checkout.amount.currency_code
        validation = pr.Validation(
            eligible=not failed,
            promotion_id=promotion.id,
            code=code,
            ineligibilities=[pr.Ineligibility(reason=r) for r in failed],
            discount=convert.money(0 if failed else off, currency),
            final_amount=convert.money(checkout.amount.amount_minor - (0 if failed else off), currency),
        )
        return validation

    async def ValidateCode(self, request: pr.ValidateCodeRequest) -> pr.ValidateCodeResponse:
        return pr.ValidateCodeResponse(validation=self._judge(request.code, request.checkout)[0])

    async def ValidatePromotion(self, request: pr.ValidatePromotionRequest) -> pr.ValidatePromotionResponse:
        """Only what a paywall asks: the best automatic promotion."""
        assert request.automatic and not request.promotion_id
        return pr.ValidatePromotionResponse(validation=self._best_automatic(request.checkout)[0])

    async def ReserveRedemption(self, request: pr.ReserveRedemptionRequest) -> pr.ReserveRedemptionResponse:
        key = (require_tenant(), require_request_id(request.request_id))
        if key in self.redemptions:
            return pr.ReserveRedemptionResponse(redemption=self.redemptions[key])
        if request.automatic:
            validation, found = self._best_automatic(request.checkout)
            promotion: pr.Promotion | None = found
        else:
            validation, promotion = self._judge(request.code, request.checkout)
        reasons = [
            pr.IneligibilityReason.Name(i.reason).removeprefix("INELIGIBILITY_REASON_").lower()
            for i in validation.ineligibilities
        ]
        if reasons == ["customer_limit_reached"]:
            raise remote(
                ResourceExhausted,
                "the customer's limit is reached",
                "CUSTOMER_LIMIT_REACHED",
                {"reason": reasons[0]},
                [],
            )
        if reasons:
            raise remote(
                FailedPrecondition,
                "the promotion does not apply",
                "PROMOTION_NOT_ELIGIBLE",
                {"reasons": ",".join(reasons)},
                [],
            )
        assert promotion is not None
        redemption = pr.Redemption(
            id=f"red_{next(self._ids)}",
            promotion_id=promotion.id,
            code=validation.code,
            customer_id=request.checkout.customer_id,
            gross=request.checkout.amount,
            discount=validation.discount,
            extra_trial_days=promotion.discount.trial_days,
            state=pr.REDEMPTION_STATE_RESERVED,
        )
        self.redemptions[key] = redemption
        return pr.ReserveRedemptionResponse(redemption=redemption)

    def _find(self, redemption_id: str) -> pr.Redemption:
        tenant = require_tenant()
        found = next((r for (t, _), r in self.redemptions.items() if t == tenant and r.id == redemption_id), None)
        if found is None:
            raise NotFound(f"redemption {redemption_id!r} not found")
        return found

    async def ConfirmRedemption(self, request: pr.ConfirmRedemptionRequest) -> pr.ConfirmRedemptionResponse:
        require_request_id(request.request_id)
        redemption = self._find(request.redemption_id)
        redemption.state, redemption.charge_id = pr.REDEMPTION_STATE_CONFIRMED, request.charge_id
        return pr.ConfirmRedemptionResponse(redemption=redemption)

    async def ReleaseRedemption(self, request: pr.ReleaseRedemptionRequest) -> pr.ReleaseRedemptionResponse:
        require_request_id(request.request_id)
        redemption = self._find(request.redemption_id)
        redemption.state, redemption.release_reason = pr.REDEMPTION_STATE_RELEASED, request.reason
        return pr.ReleaseRedemptionResponse(redemption=redemption)

    def map_store_offer(self, promotion_id: str, offer_id: str) -> None:
        """Map the promotion to a store offer id (either store's), in the calling tenant."""
        self.store_offers[(require_tenant(), offer_id)] = promotion_id

    async def RecordStoreRedemption(self, request: pr.RecordStoreRedemptionRequest) -> pr.RecordStoreRedemptionResponse:
        """A confirmed redemption of the promotion mapped to the offer, once per request id."""
        tenant, key = require_tenant(), require_request_id(request.request_id)
        if (tenant, key) not in self.redemptions:
            promotion_id = self.store_offers.get((tenant, request.offer_id))
            if promotion_id is None:
                raise remote(NotFound, "no promotion maps to the offer", "STORE_OFFER_NOT_FOUND", {}, [])
            self.checkouts.append(request.checkout)
            self.redemptions[(tenant, key)] = pr.Redemption(
                id=f"red_{next(self._ids)}",
                promotion_id=promotion_id,
                customer_id=request.checkout.customer_id,
                gross=request.checkout.amount,
                charge_id=f"{request.channel}:{request.transaction_id}",
                state=pr.REDEMPTION_STATE_CONFIRMED,
            )
        return pr.RecordStoreRedemptionResponse(redemption=self.redemptions[(tenant, key)])

    async def GetPromotion(self, request: pr.GetPromotionRequest) -> pr.GetPromotionResponse:
        found = self.promotions.get((require_tenant(), request.promotion_id))
        if found is None:
            raise NotFound(f"promotion {request.promotion_id!r} not found")
        return pr.GetPromotionResponse(promotion=found)

    async def CreateCodeBatch(self, request: pr.CreateCodeBatchRequest) -> pr.CreateCodeBatchResponse:
        tenant = require_tenant()
        await self.GetPromotion(pr.GetPromotionRequest(promotion_id=request.promotion_id))
        batch_id = f"batch_{require_request_id(request.request_id)}"
        for index in range(request.code_count):
            code = f"{batch_id.upper()}X{index}"
            self.codes.setdefault(
                (tenant, code), pr.PromotionCode(code=code, promotion_id=request.promotion_id, batch_id=batch_id)
            )
        return pr.CreateCodeBatchResponse(
            batch=pr.CodeBatch(id=batch_id, promotion_id=request.promotion_id, code_count=request.code_count)
        )

    async def ExportCodeBatch(self, request: pr.ExportCodeBatchRequest) -> pr.ExportCodeBatchResponse:
        tenant = require_tenant()
        codes = sorted(c.code for (t, _), c in self.codes.items() if t == tenant and c.batch_id == request.batch_id)
        return pr.ExportCodeBatchResponse(codes=codes)


@dataclass(frozen=True)
class FakePeers:
    """Implements `ports.Peers` with the fakes (each has only the methods the gateway calls)."""

    catalog: FakeCatalog
    lifecycle: FakeLifecycle
    payments: FakePayments
    entitlement: FakeEntitlement
    promotions: FakePromotions


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
        self.promotions = FakePromotions(ids)
        self.revenue_terms = FixedTerms()
        self.history = FakeHistory()
        self.keyring = Keyring.parse(f"test:{base64.b64encode(os.urandom(32)).decode()}", "AZOTTE_GATEWAY_KEKS")
        self.channel_histories: dict[Channel, ChannelHistory] = {}

    def uow(self) -> GatewayUnitOfWork:
        return FakeGatewayUnitOfWork(self.clock, self.data, self.idempotency)

    @property
    def peers(self) -> Peers:
        # NOTE: the port types the peers as the generated stubs; the fakes have only the methods used.
        return cast(Peers, FakePeers(self.catalog, self.lifecycle, self.payments, self.entitlement, self.promotions))

    def inbox(self, channels: ChannelNotifications) -> ChannelInbox:
        """The notification inbox over the fakes, applying to the fake lifecycle through `channels`."""
        applier = ChannelEventApplier(channels, self.peers, self.channel_histories)
        return ChannelInbox(Units(self.uow), self.clock, channels, applier.apply)

    def gateway(self, channels: ChannelNotifications | None = None) -> Gateway:
        """Every area over the fakes; channel notifications go to `channels` (by default, no adapter)."""
        units = Units(self.uow)
        peers = self.peers
        authenticator = Authenticator(self.uow, self.clock, RateLimit(10, 10), cache_seconds=5)
        reader = AccessReader(peers, self.clock, ttl_seconds=60, settle_seconds=0, max_customers=100)
        customers = KnownCustomers(peers, max_customers=100)
        texts = FeatureTexts(peers, ttl_seconds=0)
        catalog_reads = CatalogReads(peers, ttl_seconds=60)
        inbox = self.inbox(channels or ChannelAdapters())
        return Gateway(
            authenticator=authenticator,
            access=Access(peers, reader, customers, texts),
            checkout=Checkout(
                units,
                peers,
                self.clock,
                reader,
                texts,
                catalog_reads,
                AutomaticPromotions(peers, ttl_seconds=60),
                entitlement_wait_seconds=0.5,
                poll_interval_seconds=0,
            ),
            subscriptions=Subscriptions(peers, self.clock, customers, reader),
            billing=Billing(peers, customers),
            catalog=Catalog(peers, catalog_reads),
            admin=Admin(units, self.clock, authenticator, customers),
            channels=Channels(inbox, units, self.keyring),
            channel_notifications=inbox,
            channel_accounts=ChannelAccounts(units, peers, SignedPartnerEvents(peers)),
            families=Families(peers, customers),
            grants=Grants(peers, self.clock, customers, reader),
            customers=Customers(peers, customers),
            policy=LifecyclePolicies(peers),
            promotions=Promotions(peers, customers),
            trials=Trials(peers),
            referrals=Referrals(peers),
            campaigns=Campaigns(peers),
            experiments=Experiments(peers),
            webhooks=WebhookWorld(self.clock).area(),
            psp_accounts=PspAccounts(peers),
            invoices=Invoices(peers, customers),
            contracts=Contracts(peers, customers),
            usage=Usage(peers, customers),
            usage_billing=UsageBilling(peers, customers),
            analytics=Analytics(units, RevenueProjection(self.revenue_terms), self.history),
            portal_users=PortalWorld(self.clock, TENANT).area(),
        )
