"""What the lifecycle use cases need: repositories, the catalog and payments services, a unit of work.

The adapters implement these over PostgreSQL and gRPC; the unit tests with fakes. A peer is called in
the caller's tenant: the platform client forwards the request context (`context.tenant_scope` outside a call).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from azotte_lifecycle.domain.contracts import Contract, InvoiceLine
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_lifecycle.domain.dunning import ChargeOutcome, RenewalCharge
from azotte_lifecycle.domain.events import HistoryEntry
from azotte_lifecycle.domain.periods import BillingInterval
from azotte_lifecycle.domain.policy import PolicyVersion, TenantLifecyclePolicy
from azotte_lifecycle.domain.price_changes import PriceChangeRow
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.clock import TenantTimes
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.ports import AbstractUnitOfWork

# ---------------------------------------------------------------------------------------- list queries


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A comparison of a time with `at`: op is one of =, !=, <, <=, >, >=."""

    op: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """Which customers a list shows (every condition must hold) and their order (id breaks ties)."""

    email: str = ""
    external_id: str = ""
    country_code: str = ""
    identity_kind: IdentityKind | None = None
    identity_value: str = ""
    identity_issuer: str | None = None
    created: tuple[TimeBound, ...] = ()
    order_by: str = "created_at"
    """created_at, email or external_id."""
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionQuery:
    """Which subscriptions a list shows (every condition must hold) and their order (id breaks ties)."""

    customer_id: str = ""
    plan_id: str = ""
    states: tuple[SubscriptionState, ...] = ()
    not_states: tuple[SubscriptionState, ...] = ()
    created: tuple[TimeBound, ...] = ()
    period_end: tuple[TimeBound, ...] = ()
    order_by: str = "created_at"
    """created_at or current_period_end."""
    descending: bool = False


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which history entries of a subscription a list shows, oldest first unless `descending`."""

    event_type: str = ""
    cause: str = ""
    occurred: tuple[TimeBound, ...] = ()
    descending: bool = False


# ---------------------------------------------------------------------------------------- repositories


class CustomerRepository(Protocol):
    """Customers and the channel identities linked to them."""

    async def add(self, customer: Customer) -> None:
        """Insert a new customer and its identities; an external id taken in the tenant is `CustomerExists`."""
        ...

    async def link(self, tenant_id: str, customer_id: str, identity: ChannelIdentity) -> None:
        """Link an identity; one linked to another customer is `IdentityLinked`."""
        ...

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
        """The id of the customer an identity is linked to."""
        ...

    async def get(self, tenant_id: str, customer_id: str) -> Customer | None:
        """The customer with its identities."""
        ...

    async def exists(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> bool:
        """Whether the customer exists (its row locked until the unit of work ends when `for_update`)."""
        ...

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: CustomerQuery,
        after: Sequence[str] | None = None,
    ) -> list[Customer]:
        """Customers matching `query` in its order, after the sort key `after` ([value, id]), with their
        identities."""
        ...


class SubscriptionRepository(Protocol):
    """Subscriptions, their audit history, their store identities and their due work."""

    async def add(self, sub: Subscription, now: datetime) -> None:
        """Insert a new subscription (its `created_at` becomes `now`) and its history."""
        ...

    async def save_many(self, subs: Sequence[Subscription], now: datetime) -> None:
        """Write back changed subscriptions and their new history entries."""
        ...

    async def get(self, tenant_id: str, subscription_id: str, *, for_update: bool = False) -> Subscription | None:
        """The subscription, locked until the unit of work ends when `for_update`."""
        ...

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Subscription]:
        """Every subscription of the customer, on every channel, whatever its state, oldest first."""
        ...

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: SubscriptionQuery,
        after: Sequence[str] | None = None,
    ) -> list[Subscription]:
        """Subscriptions matching `query` in its order, after the sort key `after` ([time, id])."""
        ...

    async def history(
        self,
        tenant_id: str,
        subscription_id: str,
        limit: int,
        after_seq: int | None,
        query: HistoryQuery,
    ) -> list[tuple[int, HistoryEntry]]:
        """History entries matching `query`, oldest first (newest with `descending`), with their sequence numbers.

        Each entry written names its actor: the calling principal, "system" for work outside a call.
        """
        ...

    async def claim_due(self, times: TenantTimes, limit: int, tenant_id: str | None = None) -> list[Subscription]:
        """Lock up to `limit` due subscriptions, earliest first, all of ONE tenant (`tenant_id` if given).

        A subscription is due by its own tenant's now (`times.of(tenant)`: sandbox clocks are per tenant).
        Without `tenant_id`, the tenant whose earliest due work nobody holds is the earliest of all.
        """
        ...

    async def defer(self, subs: Iterable[Subscription], until: datetime) -> None:
        """Push the due time of subscriptions whose work could not be settled now."""
        ...

    async def count_due(self, times: TenantTimes, tenant_id: str | None = None) -> int:
        """How many subscriptions are due, each by its own tenant's now."""
        ...

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the next subscription falls due by its tenant's now (negative: overdue; None: nothing)."""
        ...

    async def link_identity(self, tenant_id: str, identity: ChannelIdentity, subscription_id: str) -> None:
        """Make `identity` find `subscription_id` (a later purchase under it moves it)."""
        ...

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None: ...

    async def price_changes(self, tenant_id: str, storefront_id: str = "", plan_id: str = "") -> list[PriceChangeRow]:
        """Every subscriber's price change as it stands (written from `Subscription.price_records` on save),
        of one storefront and plan when given."""
        ...


class PolicyRepository(Protocol):
    """Each tenant's lifecycle policy (the default policy until the tenant sets one) and its versions."""

    async def get(self, tenant_id: str) -> TenantLifecyclePolicy:
        """The current policy."""
        ...

    async def current(self, tenant_id: str) -> PolicyVersion:
        """The current version (version 0, the default policy, until the tenant sets one)."""
        ...

    async def add_version(self, tenant_id: str, version: PolicyVersion) -> bool:
        """Store `version` as current; False (nothing stored) when that version number is taken."""
        ...

    async def versions(self, tenant_id: str, limit: int | None, before: int | None) -> list[PolicyVersion]:
        """Stored versions, newest first, older than version `before` (at most `limit`, None for all)."""
        ...


class ChannelEventLedger(Protocol):
    """Store event ids applied per tenant: a repeat of an id is a duplicate."""

    async def claim(self, tenant_id: str, event_id: str, subscription_id: str, now: datetime) -> bool:
        """Record the event id; False when it was already applied."""
        ...

    async def subscription_of(self, tenant_id: str, event_id: str) -> str | None: ...


class ContractRepository(Protocol):
    """Contracts and the versions of their terms."""

    async def add(self, contract: Contract, now: datetime) -> None:
        """Insert a new contract (its `created_at` becomes `now`) and its versions."""
        ...

    async def save(self, contract: Contract) -> None:
        """Write back a changed contract and its new versions."""
        ...

    async def get(self, tenant_id: str, contract_id: str, *, for_update: bool = False) -> Contract | None: ...

    async def of_subscriptions(self, tenant_id: str, subscription_ids: Sequence[str]) -> dict[str, Contract]:
        """The contracts owning these subscriptions, by subscription id."""
        ...

    async def find(
        self, tenant_id: str, limit: int, *, customer_id: str = "", after: tuple[datetime, str] | None = None
    ) -> list[Contract]:
        """Newest first, after (create time, id)."""
        ...

    async def claim_starting(self, times: TenantTimes, limit: int) -> list[Contract]:
        """Up to `limit` scheduled contracts whose start came by their tenant's own now, locked until the commit
        (those locked elsewhere skipped)."""
        ...

    async def next_start_in(self, times: TenantTimes) -> timedelta | None:
        """How long until the earliest scheduled start (negative: already due); None when nothing is scheduled."""
        ...


class LifecycleUnitOfWork(AbstractUnitOfWork, Protocol):
    """The repositories over one transaction; subscriptions' events are published if it commits."""

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def policies(self) -> PolicyRepository: ...

    @property
    def channel_events(self) -> ChannelEventLedger: ...

    @property
    def contracts(self) -> ContractRepository: ...


# ---------------------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """The parts of a catalog plan the lifecycle bills by, and its family (product line) and add-on flag."""

    plan_id: str
    interval: BillingInterval
    rank: int
    trial_days: int
    family: str = ""
    add_on: bool = False


@dataclass(frozen=True, slots=True)
class Price:
    """A resolved price in minor units, and the tax rate a charge adds on top of it.

    `added_tax_rate` is the storefront's rate when its prices exclude tax, 0 when they include it;
    `increase_notice_days` the storefront's notice period for price increases, `increase_consent_required`
    whether its subscribers must accept them; `included_tax_rate` the storefront's rate when its prices include
    tax (0 when they exclude it); `effective_at` when this price version took effect (None: not known).
    """

    amount_minor: int
    currency_code: str
    added_tax_rate: Decimal = Decimal(0)
    increase_notice_days: int = 0
    increase_consent_required: bool = False
    included_tax_rate: Decimal = Decimal(0)
    effective_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RenewalPriceQuery:
    """A renewal's price: the plan in a storefront and channel at the renewal time, for a subscription whose
    current price was bought at `started_at` (a grandfathered change reaches only later purchases)."""

    plan_id: str
    storefront_id: str
    channel: Channel
    at: datetime
    started_at: datetime


class Catalog(Protocol):
    """The catalog service as lifecycle uses it."""

    async def plan(self, plan_id: str) -> PlanInfo:
        """A plan's interval, rank and trial; one without an interval is `PlanNotBillable`."""
        ...

    async def price(self, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        """The plan's price in a storefront and channel at a time."""
        ...

    async def renewal_prices(self, queries: Sequence[RenewalPriceQuery]) -> list[Price | None]:
        """Each renewal's price, resolved together; None where the catalog has no price for one."""
        ...

    async def storefront_currency(self, storefront_id: str) -> str:
        """The currency of every price in the storefront; an unknown storefront is NOT_FOUND."""
        ...

    async def feature_kinds(self, feature_keys: Sequence[str]) -> dict[str, str]:
        """The kind (`boolean`, `quota`, `seats`) of each of these features the catalog has; unknown ones are left
        out."""
        ...


# ---------------------------------------------------------------------------------------- metering


@dataclass(frozen=True, slots=True)
class UsageLine:
    """A line of usage a renewal bills in arrears: `kind` is `usage`, `usage_adjustment` (late usage of a period
    already billed) or `usage_credit` (what prepaid credit already paid, negative)."""

    kind: str
    description: str
    amount_minor: int
    meter_key: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    quantity: str = ""


@dataclass(frozen=True, slots=True)
class UsageBill:
    """The usage of the period a renewal ends, as metering billed it: its lines add up to `due_minor`."""

    currency_code: str
    lines: tuple[UsageLine, ...] = ()

    @property
    def due_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


class Metering(Protocol):
    """The metering service as lifecycle uses it: the usage billed with renewals."""

    async def close_usage_periods(self, subscriptions: Sequence[Subscription]) -> list[UsageBill]:
        """The usage of the current period of each subscription, billed with its next charge: the first call for
        a period freezes it (later usage of it goes to the next period), every call answers the same."""
        ...


class PromotionBudgets(Protocol):
    """The promotions service as lifecycle uses it: renewal discounts counted against their promotion's budget."""

    async def count_renewal_discounts(
        self, renewals: Sequence[tuple[Subscription, RenewalCharge]]
    ) -> list[bool | None]:
        """Count each discounted renewal's discount against its promotion's budget, once per redemption and period:
        True where the budget pays for it, False where it cannot (charge the full price), None where promotions
        did not answer (the renewal waits)."""
        ...


# ---------------------------------------------------------------------------------------- payments


@dataclass(frozen=True, slots=True)
class RenewalChargeRequest:
    """A renewal charge and the subscription it pays for (customer, storefront, channel, plan), with the usage
    of the period that ends when metering bills some (charged with it, as lines)."""

    subscription: Subscription
    charge: RenewalCharge
    usage: UsageBill | None = None


@dataclass(frozen=True, slots=True)
class PeriodInvoice:
    """The invoice a contract's period ends with, issued once per `idempotency_key`."""

    subscription: Subscription
    contract: Contract
    lines: tuple[InvoiceLine, ...]
    idempotency_key: str
    period_key: str
    reminder_days: tuple[int, ...] = ()


class Payments(Protocol):
    """The payments service as lifecycle uses it."""

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        """Charge every renewal once per idempotency key, together; None where the outcome is not known
        yet (PSP timeout, payments unreachable, charge refused): the same key is asked again later."""
        ...

    async def issue_invoices(self, invoices: Sequence[PeriodInvoice]) -> list[bool]:
        """Issue each invoice once per idempotency key; False where it was not issued (asked again later)."""
        ...

    async def has_overdue_invoices(self, subscription_id: str) -> bool:
        """Whether an invoice of the subscription is overdue now."""
        ...

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        """Collect what an immediate plan change costs, once per key; None while the outcome is not known."""
        ...

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        """Add to the customer's credit balance (spent before their next charges), once per request id."""
        ...

    async def has_payment_method(self, customer_id: str) -> bool: ...

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        """The succeeded charges of the current period and `also`; refunds given for `reason` are the cancel's."""
        ...

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        """Pay `leg` back from its charge, once per request id."""
        ...
