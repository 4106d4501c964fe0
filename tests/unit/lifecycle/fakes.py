"""In-memory fakes of the lifecycle ports: a unit of work with its repositories, the catalog and payments.

`FakeLifecycleUnitOfWork` keeps what it committed: each `async with` works on a copy that `commit()`
keeps and leaving without it drops, as a transaction would. Objects are copied in and out of the
repositories, and what PostgreSQL would not keep (events, history, seen channel event ids) is not kept.
One instance serves one `async with` at a time (`Units(lambda: uow)`, a scheduler with one batch at once).

`FakeCatalog` and `FakePayments` answer in the tenant of the request context only, as the real services
do, and `FakePayments.tenant_of` tells in which tenant each charge was made.
"""

from __future__ import annotations

import asyncio
import copy
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Self

from azotte_lifecycle.adapters.proto import to_event
from azotte_lifecycle.domain.contracts import Contract
from azotte_lifecycle.domain.customer import ChannelIdentity, Customer
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.events import HistoryEntry
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import PolicyVersion, TenantLifecyclePolicy
from azotte_lifecycle.domain.price_changes import PriceChangeRow, row_of
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import CustomerExists, IdentityLinked
from azotte_lifecycle.ports import (
    CustomerQuery,
    HistoryQuery,
    PeriodInvoice,
    PlanInfo,
    Price,
    RenewalChargeRequest,
    RenewalPriceQuery,
    SubscriptionQuery,
    TimeBound,
)
from azotte_platform import context
from azotte_platform.clock import Clock, TenantTimes
from azotte_platform.context import require_tenant
from azotte_platform.enums import Channel
from azotte_platform.errors import Unavailable
from azotte_platform.request_ids import require_request_id
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

MONTHLY = BillingInterval(IntervalUnit.MONTH)
ADDED_TAX = {"us-tx": Decimal("0.0825")}
FIRST_CHARGE_AT = datetime(2025, 1, 1, tzinfo=UTC)

IdentityKey = tuple[str, str, str, str]


def _identity_key(tenant_id: str, identity: ChannelIdentity) -> IdentityKey:
    return (tenant_id, identity.kind.value, identity.issuer, identity.value)


@dataclass
class LifecycleData:
    """What the lifecycle database holds, in memory."""

    customers: dict[tuple[str, str], Customer] = field(default_factory=dict)
    customer_identities: dict[IdentityKey, str] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    due: dict[tuple[str, str], datetime | None] = field(default_factory=dict)
    history: list[tuple[int, str, str, HistoryEntry]] = field(default_factory=list)
    subscription_identities: dict[IdentityKey, str] = field(default_factory=dict)
    policies: dict[str, TenantLifecyclePolicy] = field(default_factory=dict)
    policy_versions: dict[str, list[PolicyVersion]] = field(default_factory=dict)
    channel_events: dict[tuple[str, str], str] = field(default_factory=dict)
    price_changes: dict[tuple[str, str, datetime], PriceChangeRow] = field(default_factory=dict)
    contracts: dict[tuple[str, str], Contract] = field(default_factory=dict)

    def copy(self) -> LifecycleData:
        """A copy to work on in a transaction (policies are immutable: shared)."""
        return LifecycleData(
            copy.deepcopy(self.customers),
            dict(self.customer_identities),
            copy.deepcopy(self.subscriptions),
            dict(self.due),
            list(self.history),
            dict(self.subscription_identities),
            dict(self.policies),
            {tenant: list(versions) for tenant, versions in self.policy_versions.items()},
            dict(self.channel_events),
            dict(self.price_changes),
            copy.deepcopy(self.contracts),
        )


class FakeCustomerRepository:
    def __init__(self, data: LifecycleData):
        self._data = data

    async def add(self, customer: Customer) -> None:
        taken = {(c.tenant_id, c.external_id) for c in self._data.customers.values()}
        if (customer.tenant_id, customer.external_id) in taken:
            raise CustomerExists(f"a customer with external_id {customer.external_id!r} already exists")
        self._data.customers[(customer.tenant_id, customer.id)] = copy.deepcopy(customer)
        for identity in customer.identities:
            await self.link(customer.tenant_id, customer.id, identity)

    async def link(self, tenant_id: str, customer_id: str, identity: ChannelIdentity) -> None:
        owner = self._data.customer_identities.setdefault(_identity_key(tenant_id, identity), customer_id)
        if owner != customer_id:
            raise IdentityLinked(f"{identity.kind} {identity.value!r} is linked to another customer")
        self._data.customers[(tenant_id, customer_id)].identities.add(identity)

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
        return self._data.customer_identities.get(_identity_key(tenant_id, identity))

    async def get(self, tenant_id: str, customer_id: str) -> Customer | None:
        return copy.deepcopy(self._data.customers.get((tenant_id, customer_id)))

    async def exists(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> bool:
        return (tenant_id, customer_id) in self._data.customers

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: CustomerQuery,
        after: Sequence[str] | None = None,
    ) -> list[Customer]:
        def key(c: Customer) -> tuple[str, str]:
            value = c.created_at.isoformat() if query.order_by == "created_at" else getattr(c, query.order_by)
            return (value, c.id)

        def identified(c: Customer) -> bool:
            return any(
                (query.identity_kind is None or i.kind is query.identity_kind)
                and (not query.identity_value or i.value == query.identity_value)
                and (query.identity_issuer is None or i.issuer == query.identity_issuer)
                for i in c.identities
            )

        identity_asked = query.identity_kind is not None or query.identity_value or query.identity_issuer is not None
        found = [
            c
            for (tenant, _), c in self._data.customers.items()
            if tenant == tenant_id
            and (not query.external_id or c.external_id == query.external_id)
            and (not query.email or c.email == query.email.lower())
            and (not query.country_code or c.country_code == query.country_code)
            and (not identity_asked or identified(c))
            and _within(c.created_at, query.created)
        ]
        found.sort(key=key, reverse=query.descending)
        if after is not None:
            last = (after[0], after[1])
            found = [c for c in found if (key(c) < last if query.descending else key(c) > last)]
        return copy.deepcopy(found[:limit])


_COMPARE = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _within(at: datetime, bounds: Iterable[TimeBound]) -> bool:
    return all(_COMPARE[bound.op](at, bound.at) for bound in bounds)


class FakeSubscriptionRepository:
    def __init__(self, data: LifecycleData):
        self._data = data

    async def add(self, sub: Subscription, now: datetime) -> None:
        sub.created_at = now
        await self.save_many([sub], now)

    async def save_many(self, subs: Sequence[Subscription], now: datetime) -> None:
        for sub in subs:
            key = (sub.tenant_id, sub.id)
            actor = context.current().principal or "system"
            for entry in sub.history:
                stored_entry = replace(entry, actor=actor)
                self._data.history.append((len(self._data.history) + 1, sub.tenant_id, sub.id, stored_entry))
            sub.history.clear()
            for record in sub.price_records:
                self._data.price_changes[(sub.tenant_id, sub.id, record.change.effective_at)] = row_of(sub, record)
            sub.price_records.clear()
            stored = copy.deepcopy(sub)
            # NOTE: as in PostgreSQL: events go to the outbox, seen channel event ids to their ledger.
            stored.events, stored.channel_event_ids = [], set()
            self._data.subscriptions[key] = stored
            work = sub.next_due_work()
            self._data.due[key] = None if work is None else work.due_at

    async def get(self, tenant_id: str, subscription_id: str, *, for_update: bool = False) -> Subscription | None:
        return copy.deepcopy(self._data.subscriptions.get((tenant_id, subscription_id)))

    async def price_changes(self, tenant_id: str, storefront_id: str = "", plan_id: str = "") -> list[PriceChangeRow]:
        return [
            row
            for (tenant, _, _), row in self._data.price_changes.items()
            if tenant == tenant_id and storefront_id in ("", row.storefront_id) and plan_id in ("", row.plan_id)
        ]

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Subscription]:
        found = [
            s
            for (tenant, _), s in self._data.subscriptions.items()
            if tenant == tenant_id and s.customer_id == customer_id
        ]
        return copy.deepcopy(sorted(found, key=lambda s: (s.created_at.isoformat() if s.created_at else "", s.id)))

    async def find(
        self,
        tenant_id: str,
        limit: int,
        *,
        query: SubscriptionQuery,
        after: Sequence[str] | None = None,
    ) -> list[Subscription]:
        def key(s: Subscription) -> tuple[str, str]:
            at = s.current_period_end if query.order_by == "current_period_end" else s.created_at
            return (at.isoformat() if at else "", s.id)

        found = [
            s
            for (tenant, _), s in self._data.subscriptions.items()
            if tenant == tenant_id
            and (not query.customer_id or s.customer_id == query.customer_id)
            and (not query.plan_id or s.plan_id == query.plan_id)
            and (not query.states or s.state in query.states)
            and s.state not in query.not_states
            and (s.created_at is None or _within(s.created_at, query.created))
            and _within(s.current_period_end, query.period_end)
        ]
        found.sort(key=key, reverse=query.descending)
        if after is not None:
            last = (after[0], after[1])
            found = [s for s in found if (key(s) < last if query.descending else key(s) > last)]
        return copy.deepcopy(found[:limit])

    async def history(
        self,
        tenant_id: str,
        subscription_id: str,
        limit: int,
        after_seq: int | None,
        query: HistoryQuery,
    ) -> list[tuple[int, HistoryEntry]]:
        entries = [
            (seq, entry)
            for seq, tenant, sub_id, entry in self._data.history
            if (tenant, sub_id) == (tenant_id, subscription_id)
            and (after_seq is None or (seq < after_seq if query.descending else seq > after_seq))
            and (not query.event_type or entry.event_type.value == query.event_type)
            and (not query.cause or entry.cause.value == query.cause)
            and _within(entry.occurred_at, query.occurred)
        ]
        return sorted(entries, key=lambda row: row[0], reverse=query.descending)[:limit]

    async def claim_due(self, times: TenantTimes, limit: int, tenant_id: str | None = None) -> list[Subscription]:
        due = sorted((at, key) for key, at in self._data.due.items() if at is not None and at <= times.of(key[0]))
        if tenant_id is None and due:
            tenant_id = due[0][1][0]
        keys = [key for _, key in due if key[0] == tenant_id][:limit]
        return [copy.deepcopy(self._data.subscriptions[key]) for key in keys]

    async def defer(self, subs: Iterable[Subscription], until: datetime) -> None:
        for sub in subs:
            self._data.due[(sub.tenant_id, sub.id)] = until

    async def count_due(self, times: TenantTimes, tenant_id: str | None = None) -> int:
        return sum(
            1
            for (tenant, _), at in self._data.due.items()
            if at is not None and at <= times.of(tenant) and tenant_id in (None, tenant)
        )

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        due = self._data.due.items()
        return min((at - times.of(tenant) for (tenant, _), at in due if at is not None), default=None)

    async def link_identity(self, tenant_id: str, identity: ChannelIdentity, subscription_id: str) -> None:
        self._data.subscription_identities[_identity_key(tenant_id, identity)] = subscription_id

    async def find_by_identity(self, tenant_id: str, identity: ChannelIdentity) -> str | None:
        return self._data.subscription_identities.get(_identity_key(tenant_id, identity))


class FakePolicyRepository:
    def __init__(self, data: LifecycleData):
        self._data = data

    async def get(self, tenant_id: str) -> TenantLifecyclePolicy:
        return self._data.policies.get(tenant_id) or TenantLifecyclePolicy()

    async def current(self, tenant_id: str) -> PolicyVersion:
        versions = self._data.policy_versions.get(tenant_id)
        return versions[-1] if versions else PolicyVersion(0, TenantLifecyclePolicy())

    async def add_version(self, tenant_id: str, version: PolicyVersion) -> bool:
        versions = self._data.policy_versions.setdefault(tenant_id, [])
        if any(v.version == version.version for v in versions):
            return False
        versions.append(version)
        self._data.policies[tenant_id] = version.policy
        return True

    async def versions(self, tenant_id: str, limit: int | None, before: int | None) -> list[PolicyVersion]:
        versions = self._data.policy_versions.get(tenant_id, [])
        newest_first = [v for v in reversed(versions) if before is None or v.version < before]
        return newest_first[:limit]


class FakeChannelEventLedger:
    def __init__(self, data: LifecycleData):
        self._data = data

    async def claim(self, tenant_id: str, event_id: str, subscription_id: str, now: datetime) -> bool:
        return self._data.channel_events.setdefault((tenant_id, event_id), subscription_id) == subscription_id

    async def subscription_of(self, tenant_id: str, event_id: str) -> str | None:
        return self._data.channel_events.get((tenant_id, event_id))


class FakeContractRepository:
    def __init__(self, data: LifecycleData):
        self._data = data

    async def add(self, contract: Contract, now: datetime) -> None:
        contract.created_at = now
        await self.save(contract)

    async def save(self, contract: Contract) -> None:
        contract.new_versions.clear()
        self._data.contracts[(contract.tenant_id, contract.id)] = copy.deepcopy(contract)

    async def get(self, tenant_id: str, contract_id: str, *, for_update: bool = False) -> Contract | None:
        return copy.deepcopy(self._data.contracts.get((tenant_id, contract_id)))

    async def of_subscriptions(self, tenant_id: str, subscription_ids: Sequence[str]) -> dict[str, Contract]:
        found = [c for (t, _), c in self._data.contracts.items() if t == tenant_id]
        return {c.subscription_id: copy.deepcopy(c) for c in found if c.subscription_id in subscription_ids}

    async def find(
        self, tenant_id: str, limit: int, *, customer_id: str = "", after: tuple[datetime, str] | None = None
    ) -> list[Contract]:
        mine = [c for (t, _), c in self._data.contracts.items() if t == tenant_id]
        mine = [c for c in mine if not customer_id or c.customer_id == customer_id]
        ordered = sorted(mine, key=lambda c: (c.created_at or FIRST_CHARGE_AT, c.id), reverse=True)
        if after is not None:
            ordered = [c for c in ordered if (c.created_at or FIRST_CHARGE_AT, c.id) < after]
        return copy.deepcopy(ordered[:limit])

    async def claim_starting(self, times: TenantTimes, limit: int) -> list[Contract]:
        due = [c for (t, _), c in self._data.contracts.items() if c.due_to_start(times.of(t))]
        return copy.deepcopy(sorted(due, key=lambda c: c.start)[:limit])

    async def next_start_in(self, times: TenantTimes) -> timedelta | None:
        scheduled = [c for c in self._data.contracts.values() if c.scheduled]
        return min((c.start - times.of(c.tenant_id) for c in scheduled), default=None)


class FakeLifecycleUnitOfWork(FakeUnitOfWork):
    """`ports.LifecycleUnitOfWork` in memory: `data` is what it committed."""

    def __init__(self, clock: Clock, idempotency: InMemoryIdempotency | None = None):
        super().__init__(clock, idempotency, to_event)
        self.data = LifecycleData()
        self._begin(self.data)

    def _begin(self, working: LifecycleData) -> None:
        self._working = working
        self.customers = FakeCustomerRepository(working)
        self.subscriptions = FakeSubscriptionRepository(working)
        self.policies = FakePolicyRepository(working)
        self.channel_events = FakeChannelEventLedger(working)
        self.contracts = FakeContractRepository(working)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._begin(self.data.copy())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        self._begin(self.data.copy())

    async def commit(self) -> None:
        self.data = self._working
        self._begin(self.data.copy())
        await super().commit()

    def stored(self, tenant_id: str, subscription_id: str) -> Subscription:
        """The subscription as committed."""
        return self.data.subscriptions[(tenant_id, subscription_id)]


class FakeCatalog:
    """Plans basic ($10, rank 1), premium ($20, rank 2), trial ($10, 14-day trial) of family `video`, the add-on
    `extra-screen` ($3) of that family, and `songs` ($5) of family `music`, all monthly USD.

    Storefront "us-tx" adds 8.25 % tax on top of its prices; the others' prices include tax. Its storefronts sell in
    USD; its features are `hd` (boolean), `tokens` (quota) and `seats`.
    """

    features = {"hd": "boolean", "tokens": "quota", "seats": "seats"}

    plans = {
        "basic": (PlanInfo("basic", MONTHLY, 1, 0, "video"), 1000),
        "premium": (PlanInfo("premium", MONTHLY, 2, 0, "video"), 2000),
        "trial": (PlanInfo("trial", MONTHLY, 1, 14, "video"), 1000),
        "extra-screen": (PlanInfo("extra-screen", MONTHLY, 0, 0, "video", add_on=True), 300),
        "songs": (PlanInfo("songs", MONTHLY, 1, 0, "music"), 500),
    }

    async def plan(self, plan_id: str) -> PlanInfo:
        require_tenant()
        return self.plans[plan_id][0]

    async def price(self, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        require_tenant()
        return Price(self.plans[plan_id][1], "USD", ADDED_TAX.get(storefront_id, Decimal(0)), self.notice_days)

    def __init__(self) -> None:
        self.renewal_calls: list[list[RenewalPriceQuery]] = []
        self.renewal_price: dict[str, int | None] = {}  # plan id -> what its renewals cost (None: unpriced)
        self.unavailable = False
        self.notice_days = 0  # the storefronts' notice period for price increases
        self.consent_required = False  # whether their subscribers must accept an increase
        self.price_since: datetime | None = None  # when the renewal prices' version took effect (None: unknown)

    async def storefront_currency(self, storefront_id: str) -> str:
        require_tenant()
        return "USD"

    async def feature_kinds(self, feature_keys: Sequence[str]) -> dict[str, str]:
        require_tenant()
        return {key: self.features[key] for key in feature_keys if key in self.features}

    async def renewal_prices(self, queries: Sequence[RenewalPriceQuery]) -> list[Price | None]:
        require_tenant()
        if self.unavailable:
            raise Unavailable("catalog unavailable")
        self.renewal_calls.append(list(queries))
        prices: list[Price | None] = []
        for q in queries:
            amount = self.renewal_price.get(q.plan_id, self.plans[q.plan_id][1])
            price = Price(
                amount or 0, "USD", Decimal(0), self.notice_days, self.consent_required, effective_at=self.price_since
            )
            prices.append(None if amount is None else price)
        return prices


@dataclass(frozen=True)
class FakeCharge:
    """A succeeded charge: checkout ones pay for no subscription, lifecycle ones for a (subscription, period)."""

    charge_id: str
    amount_minor: int
    created_at: datetime
    subscription_id: str = ""
    period_index: int = 0


@dataclass
class FakePayments:
    """Charges once per idempotency key; the outcome of each new key is scripted (default approved).

    Refunds are kept once per request id (all to the card); `unavailable` refuses them, `lost_answers`
    makes that many refunds answer UNAVAILABLE after the money moved. `tenant_of` is the tenant each
    charge key was first asked in.
    """

    script: list[ChargeOutcome | None] = field(default_factory=list)
    results: dict[str, ChargeOutcome | None] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    charged: Counter[str] = field(default_factory=Counter)
    tenant_of: dict[str, str] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    payment_method: bool = True
    amounts: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=dict)
    paid: dict[str, FakeCharge] = field(default_factory=dict)
    refunds: dict[str, tuple[RefundLeg, str]] = field(default_factory=dict)
    refund_calls: int = 0
    unavailable: bool = False
    lost_answers: int = 0
    invoices: dict[str, PeriodInvoice] = field(default_factory=dict)
    invoice_calls: Counter[str] = field(default_factory=Counter)
    overdue_invoices: Counter[str] = field(default_factory=Counter)

    async def issue_invoices(self, invoices: Sequence[PeriodInvoice]) -> list[bool]:
        """One invoice per idempotency key (the first one's lines are kept); refused while `unavailable`; the
        answer waits for `gate` as charges do."""
        require_tenant()
        for invoice in invoices:
            self.invoice_calls[invoice.idempotency_key] += 1
            if not self.unavailable:
                self.invoices.setdefault(invoice.idempotency_key, invoice)
        if self.gate is not None:
            await self.gate.wait()
        return [not self.unavailable] * len(invoices)

    async def has_overdue_invoices(self, subscription_id: str) -> bool:
        """Whether `overdue_invoices` counts one for the subscription."""
        return self.overdue_invoices[subscription_id] > 0

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        return list(await asyncio.gather(*(self._renew(request) for request in requests)))

    async def _renew(self, request: RenewalChargeRequest) -> ChargeOutcome | None:
        key, sub = request.charge.idempotency_key, request.subscription
        return await self._charge(key, request.charge.amount_minor, (sub.id, request.charge.period_index))

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        return await self._charge(idempotency_key, amount_minor, (subscription.id, subscription.period_index))

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        require_tenant()
        require_request_id(request_id)  # as payments' GrantCredit does
        self.credits.setdefault(request_id, amount_minor)

    async def _charge(self, key: str, amount_minor: int, pays_for: tuple[str, int]) -> ChargeOutcome | None:
        tenant = require_tenant()
        self.calls[key] += 1
        if key not in self.results:
            self.tenant_of[key] = tenant
            self.results[key] = self.script.pop(0) if self.script else ChargeOutcome.SUCCEEDED
            self.charged[key] += 1
            self.amounts[key] = amount_minor
            if self.results[key] is ChargeOutcome.SUCCEEDED:
                self._add(key, amount_minor, *pays_for)
        if self.gate is not None:
            await self.gate.wait()
        return self.results[key]

    async def has_payment_method(self, customer_id: str) -> bool:
        require_tenant()
        return self.payment_method

    def checkout_charge(self, amount_minor: int) -> str:
        """A succeeded charge made before any subscription existed (as the gateway's checkout makes)."""
        return self._add(f"ch_checkout_{len(self.paid)}", amount_minor)

    def refunded(self) -> dict[str, int]:
        """Minor units refunded per charge."""
        totals: Counter[str] = Counter()
        for leg, _ in self.refunds.values():
            totals[leg.charge_id] += leg.amount_minor
        return dict(totals)

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        require_tenant()
        if self.unavailable:
            raise Unavailable("payments is unavailable")
        sub = subscription
        found = [c for c in self.paid.values() if (c.subscription_id, c.period_index) == (sub.id, sub.period_index)]
        found += [self.paid[charge_id] for charge_id in also if charge_id in self.paid]
        return [self._paid_charge(charge, reason) for charge in found]

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        require_tenant()
        self.refund_calls += 1
        if self.unavailable:
            raise Unavailable("payments is unavailable")
        self.refunds.setdefault(request_id, (leg, reason))
        if self.lost_answers:
            self.lost_answers -= 1
            raise Unavailable("the refund's answer was lost")

    def _add(self, charge_id: str, amount_minor: int, subscription_id: str = "", period_index: int = 0) -> str:
        # NOTE: each charge is a second newer than the one before it.
        created_at = FIRST_CHARGE_AT + timedelta(seconds=len(self.paid))
        self.paid[charge_id] = FakeCharge(charge_id, amount_minor, created_at, subscription_id, period_index)
        return charge_id

    def _paid_charge(self, charge: FakeCharge, reason: str) -> PaidCharge:
        legs = [(leg, why) for leg, why in self.refunds.values() if leg.charge_id == charge.charge_id]
        mine = sum(leg.amount_minor for leg, why in legs if why == reason)
        others = sum(leg.amount_minor for leg, why in legs if why != reason)
        return PaidCharge(charge.charge_id, charge.created_at, charge.amount_minor - others, 0, mine)
