"""In-memory stand-ins for the payments ports: repositories, unit of work, PSPs, catalog and charge locks.

`FakePayments.build()` wires the real service layer and servicer over them, so a use case runs in
milliseconds without PostgreSQL. Rows are copied in and out, and a unit of work's writes become
visible to others only when it commits, as with the PostgreSQL adapters.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, Self, TypeVar

from azotte_payments.adapters.proto import to_event
from azotte_payments.adapters.psp.registry import PspRegistry
from azotte_payments.adapters.psp.webhooks import PspWebhookVerifiers
from azotte_payments.adapters.sealing import CredentialKeyring
from azotte_payments.domain.charge import Charge, ChargeQuery, ChargeRecord, ChargeStatus, RefundedFilter
from azotte_payments.domain.circuit_breaker import BreakerSettings, CircuitBreakerBoard
from azotte_payments.domain.credit import CreditBalance, CreditMovement, CreditMovementKind
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult
from azotte_payments.domain.dispute import Dispute
from azotte_payments.domain.dispute_policy import DisputePolicy
from azotte_payments.domain.ledger import EntryKind, JournalEntry, trial_balance
from azotte_payments.domain.payment_method import CustomerPaymentMethods, PaymentMethod, PaymentMethodQuery
from azotte_payments.domain.psp_account import PspAccount
from azotte_payments.domain.refund import Refund
from azotte_payments.domain.routing import RoutingCondition, RoutingRule
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.entrypoints.servicer import PaymentsServicer
from azotte_payments.errors import ChargeNotFound, PspAccountNotFound, StorefrontNotFound
from azotte_payments.ports import PspChargeRequest
from azotte_payments.service_layer.charge_processor import ChargeProcessor
from azotte_payments.service_layer.charges import ChargeDesk
from azotte_platform.clock import FixedClock, TenantTimes
from azotte_platform.events.envelope import Event
from azotte_platform.listing import Ordering, page_in_order
from azotte_platform.paging import Page, PageRequest
from azotte_platform.service_kit import Units
from azotte_platform.tax import TaxMode, TaxPolicy
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

START = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
TENANT = "t1"
# Two key-encryption keys (32 zero bytes, 32 0x01 bytes); the first is active.
TEST_KEKS = "k2:" + "A" * 43 + "=,k1:" + "AQEB" * 10 + "AQE="
K = TypeVar("K")
V = TypeVar("V")


class _Table(Generic[K, V]):
    """Committed rows of one table and the pending writes of one unit of work over them."""

    def __init__(self, committed: dict[K, V]):
        self._committed = committed
        self._pending: dict[K, V | None] = {}

    def get(self, key: K) -> V | None:
        value = self._pending[key] if key in self._pending else self._committed.get(key)
        return copy.deepcopy(value)

    def put(self, key: K, value: V) -> None:
        self._pending[key] = copy.deepcopy(value)

    def delete(self, key: K) -> None:
        self._pending[key] = None

    def rows(self) -> list[tuple[K, V]]:
        merged = {**self._committed, **self._pending}
        return [(key, copy.deepcopy(value)) for key, value in merged.items() if value is not None]

    def commit(self) -> None:
        for key, value in self._pending.items():
            if value is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
        self._pending = {}


@dataclass
class FakeState:
    """What the payments database would hold, plus the events published and request ids seen."""

    clock: FixedClock
    idempotency: InMemoryIdempotency = field(default_factory=InMemoryIdempotency)
    published: list[Event] = field(default_factory=list)
    charges: dict[tuple[str, str], tuple[ChargeRecord, datetime]] = field(default_factory=dict)
    methods: dict[tuple[str, str], tuple[PaymentMethod, int]] = field(default_factory=dict)
    refunds: dict[tuple[str, str], tuple[Refund, str, int]] = field(default_factory=dict)
    credits: dict[tuple[str, str, str], int] = field(default_factory=dict)
    movements: dict[tuple[str, int], CreditMovement] = field(default_factory=dict)
    entries: dict[tuple[str, str, str], JournalEntry] = field(default_factory=dict)
    psp_accounts: dict[tuple[str, str], PspAccount] = field(default_factory=dict)
    webhook_events: dict[tuple[str, str, str], str] = field(default_factory=dict)
    disputes: dict[tuple[str, str], Dispute] = field(default_factory=dict)
    dispute_policies: dict[str, DisputePolicy] = field(default_factory=dict)
    sequence: itertools.count[int] = field(default_factory=itertools.count)


class FakeChargeRepository:
    def __init__(self, table: _Table[tuple[str, str], tuple[ChargeRecord, datetime]], tenant_id: str):
        self._table = table
        self._tenant = tenant_id

    def _mine(self) -> list[tuple[ChargeRecord, datetime]]:
        return [row for (tenant, _), row in self._table.rows() if tenant == self._tenant]

    async def insert_many(self, records: Sequence[ChargeRecord], now: datetime) -> set[str]:
        taken = {record.charge.idempotency_key for record, _ in self._mine()}
        inserted = set()
        for record in sorted(records, key=lambda r: r.charge.idempotency_key):
            if record.charge.idempotency_key not in taken:
                self._table.put((self._tenant, record.charge.charge_id), (record, now))
                taken.add(record.charge.idempotency_key)
                inserted.add(record.charge.charge_id)
        return inserted

    async def save(self, record: ChargeRecord, now: datetime) -> None:
        await self.save_many([record], now)

    async def save_many(self, records: Sequence[ChargeRecord], now: datetime) -> None:
        for record in records:
            assert self._table.get((self._tenant, record.charge.charge_id)) is not None, "save of an unknown charge"
            self._table.put((self._tenant, record.charge.charge_id), (record, now))

    async def by_keys(self, idempotency_keys: Sequence[str]) -> dict[str, ChargeRecord]:
        wanted = set(idempotency_keys)
        return {r.charge.idempotency_key: r for r, _ in self._mine() if r.charge.idempotency_key in wanted}

    async def paid_periods(self, subscription_ids: Sequence[str], period_keys: Sequence[str]) -> list[ChargeRecord]:
        return [
            r
            for r, _ in self._mine()
            if r.charge.request.subscription_id in subscription_ids
            and r.charge.request.period_key in period_keys
            and r.charge.status is ChargeStatus.SUCCEEDED
        ]

    async def by_psp_reference(self, psp: str, psp_reference: str) -> ChargeRecord | None:
        for record, _ in self._mine():
            if any(a.psp == psp and a.psp_reference == psp_reference for a in record.charge.attempts):
                return record
        return None

    async def get(self, charge_id: str, *, lock: bool = False) -> ChargeRecord:
        found = self._table.get((self._tenant, charge_id))
        if found is None:
            raise ChargeNotFound(f"charge_id {charge_id!r}: no such charge")
        return found[0]

    async def list_for_customer(self, query: ChargeQuery, page: PageRequest) -> Page[Charge]:
        def kept(charge: Charge) -> bool:
            refunded = charge.refunded_minor
            by_refund = {
                None: True,
                RefundedFilter.NONE: refunded == 0,
                RefundedFilter.PARTLY: 0 < refunded < charge.amounts.gross_minor,
                RefundedFilter.FULLY: 0 < refunded >= charge.amounts.gross_minor,
            }[query.refunded]
            return (
                charge.request.customer_id == query.customer_id
                and (not query.subscription_id or charge.request.subscription_id == query.subscription_id)
                and (not query.statuses or charge.status in query.statuses)
                and by_refund
            )

        def key(charge: Charge) -> list[Any]:
            return [charge.created_at.isoformat(), charge.charge_id]

        ordered = sorted((r.charge for r, _ in self._mine() if kept(r.charge)), key=key, reverse=not query.oldest_first)
        if page.after is not None:
            after = page.after
            ordered = [c for c in ordered if (key(c) > after if query.oldest_first else key(c) < after)]
        return page.page(ordered[: page.limit], key)


class FakeOpenChargeRepository:
    def __init__(self, table: _Table[tuple[str, str], tuple[ChargeRecord, datetime]]):
        self._table = table

    async def untouched_since(self, touched_before: TenantTimes, limit: int) -> list[tuple[str, str]]:
        open_charges = [
            (updated_at, tenant, charge_id)
            for (tenant, charge_id), (record, updated_at) in self._table.rows()
            if record.charge.status in (ChargeStatus.PENDING, ChargeStatus.UNKNOWN)
            and updated_at <= touched_before.of(tenant)
        ]
        return [(tenant, charge_id) for _, tenant, charge_id in sorted(open_charges)[:limit]]


class FakePaymentMethodRepository:
    def __init__(self, table: _Table[tuple[str, str], tuple[PaymentMethod, int]], tenant_id: str, state: FakeState):
        self._table = table
        self._tenant = tenant_id
        self._state = state

    def _ordered(self, customer_id: str) -> list[tuple[PaymentMethod, int]]:
        found = [
            row
            for (tenant, _), row in self._table.rows()
            if tenant == self._tenant and row[0].customer_id == customer_id
        ]
        return sorted(found, key=lambda row: (row[0].created_at, row[1]))

    async def for_customer(self, customer_id: str, *, lock: bool = False) -> CustomerPaymentMethods:
        return CustomerPaymentMethods(customer_id, [method for method, _ in self._ordered(customer_id)])

    async def for_customers(self, customer_ids: Sequence[str]) -> dict[str, CustomerPaymentMethods]:
        return {customer_id: await self.for_customer(customer_id) for customer_id in customer_ids}

    async def list_for_customer(self, query: PaymentMethodQuery, page: PageRequest) -> Page[PaymentMethod]:
        kept = [
            (method, seq)
            for method, seq in self._ordered(query.customer_id)
            if query.method_type in (None, method.method_type) and query.is_default in (None, method.is_default)
        ]
        ordering = Ordering((("added", query.newest_first),))
        found = page_in_order(
            kept, ordering, {"added": lambda row: f"{row[0].created_at.isoformat()}/{row[1]:012d}"}, lambda _: "", page
        )
        return Page([method for method, _ in found.items], found.next_page_token)

    async def save(self, customer: CustomerPaymentMethods, removed: Sequence[str] = ()) -> None:
        for payment_method_id in removed:
            self._table.delete((self._tenant, payment_method_id))
        for method in customer.methods:
            stored = self._table.get((self._tenant, method.payment_method_id))
            seq = stored[1] if stored is not None else next(self._state.sequence)
            self._table.put((self._tenant, method.payment_method_id), (method, seq))


class FakeRefundRepository:
    def __init__(self, table: _Table[tuple[str, str], tuple[Refund, str, int]], tenant_id: str, state: FakeState):
        self._table = table
        self._tenant = tenant_id
        self._state = state

    async def add(self, refund: Refund, reason: str) -> None:
        self._table.put((self._tenant, refund.refund_id), (refund, reason, next(self._state.sequence)))

    async def for_charge(self, charge_id: str) -> list[tuple[Refund, str]]:
        found = [
            row for (tenant, _), row in self._table.rows() if tenant == self._tenant and row[0].charge_id == charge_id
        ]
        return [(refund, reason) for refund, reason, _ in sorted(found, key=lambda row: row[2])]


class FakeCreditRepository:
    def __init__(
        self,
        table: _Table[tuple[str, str, str], int],
        movements: _Table[tuple[str, int], CreditMovement],
        tenant_id: str,
        state: FakeState,
    ):
        self._table = table
        self._movements = movements
        self._tenant = tenant_id
        self._state = state

    async def for_customer(self, customer_id: str) -> list[CreditBalance]:
        return sorted(
            (
                CreditBalance(customer, currency, balance)
                for (tenant, customer, currency), balance in self._table.rows()
                if tenant == self._tenant and customer == customer_id
            ),
            key=lambda balance: balance.currency,
        )

    async def movements(
        self, customer_id: str, currency: str, kind: CreditMovementKind | None, page: PageRequest
    ) -> Page[CreditMovement]:
        rows = sorted(
            (
                (seq, movement)
                for (tenant, seq), movement in self._movements.rows()
                if tenant == self._tenant
                and movement.customer_id == customer_id
                and (not currency or movement.currency == currency)
                and (kind is None or movement.kind is kind)
            ),
            key=lambda row: -row[0],
        )
        if page.after is not None:
            rows = [row for row in rows if row[0] < int(page.after[0])]
        cut = page.page(rows[: page.limit], lambda row: [row[0]])
        return Page([movement for _, movement in cut.items], cut.next_page_token)

    async def get(self, customer_id: str, currency: str, *, lock: bool = False) -> CreditBalance:
        return CreditBalance(customer_id, currency, self._table.get((self._tenant, customer_id, currency)) or 0)

    async def spendable(self, customer_ids: Sequence[str]) -> dict[tuple[str, str], CreditBalance]:
        return {
            (customer, currency): CreditBalance(customer, currency, balance)
            for (tenant, customer, currency), balance in self._table.rows()
            if tenant == self._tenant and customer in customer_ids and balance > 0
        }

    async def save(self, balance: CreditBalance) -> None:
        assert balance.balance_minor >= 0, "credit_balances_not_negative"
        self._table.put((self._tenant, balance.customer_id, balance.currency), balance.balance_minor)
        for movement in balance.movements:
            self._movements.put((self._tenant, next(self._state.sequence)), movement)
        balance.movements.clear()

    async def save_many(self, balances: Sequence[CreditBalance]) -> None:
        for balance in balances:
            await self.save(balance)


class FakeLedgerRepository:
    def __init__(self, table: _Table[tuple[str, str, str], JournalEntry], tenant_id: str):
        self._table = table
        self._tenant = tenant_id

    def _mine(self) -> list[JournalEntry]:
        return sorted(
            (entry for (tenant, _, _), entry in self._table.rows() if tenant == self._tenant),
            key=lambda entry: (entry.occurred_at, entry.entry_id),
        )

    async def post(self, entry: JournalEntry) -> bool:
        return bool(await self.post_many([entry]))

    async def post_many(self, entries: Sequence[JournalEntry]) -> list[JournalEntry]:
        posted = []
        for entry in entries:
            key = (self._tenant, entry.kind.value, entry.source_id)
            if self._table.get(key) is None:
                self._table.put(key, entry)
                posted.append(entry)
        return posted

    async def entry_for(self, kind: EntryKind, source_id: str) -> JournalEntry | None:
        return self._table.get((self._tenant, kind.value, source_id))

    async def entries_between(self, period_from: str, period_to: str) -> list[JournalEntry]:
        return [entry for entry in self._mine() if period_from <= entry.dimensions.period <= period_to]

    async def trial_balance(self, currency: str) -> dict[str, dict[str, int]]:
        balances = trial_balance(entry for entry in self._mine() if not currency or entry.currency == currency)
        return {
            code: {account.value: amount for account, amount in sorted(accounts.items())}
            for code, accounts in sorted(balances.items())
        }


class FakePspAccountRepository:
    def __init__(
        self,
        accounts: _Table[tuple[str, str], PspAccount],
        events: _Table[tuple[str, str, str], str],
        tenant_id: str,
    ):
        self._accounts, self._events, self._tenant = accounts, events, tenant_id

    async def add(self, account: PspAccount) -> bool:
        if self._accounts.get((self._tenant, account.account_id)) is not None:
            return False
        self._accounts.put((self._tenant, account.account_id), account)
        return True

    async def get(self, account_id: str) -> PspAccount:
        account = self._accounts.get((self._tenant, account_id))
        if account is None:
            raise PspAccountNotFound(f"PSP account {account_id!r} not found")
        return account

    async def list(self) -> list[PspAccount]:
        return sorted((a for (t, _), a in self._accounts.rows() if t == self._tenant), key=lambda a: a.account_id)

    async def save(self, account: PspAccount) -> None:
        self._accounts.put((self._tenant, account.account_id), account)

    async def claim_webhook_event(self, account_id: str, event_id: str, event_type: str, now: datetime) -> bool:
        if self._events.get((self._tenant, account_id, event_id)) is not None:
            return False
        self._events.put((self._tenant, account_id, event_id), event_type)
        return True


class FakeDisputeRepository:
    def __init__(self, table: _Table[tuple[str, str], Dispute], policies: _Table[str, DisputePolicy], tenant_id: str):
        self._table, self._policies, self._tenant = table, policies, tenant_id

    async def add(self, dispute: Dispute) -> bool:
        if await self.by_psp_id(dispute.account_id, dispute.psp_dispute_id) is not None:
            return False
        await self.save(dispute)
        return True

    async def by_psp_id(self, account_id: str, psp_dispute_id: str) -> Dispute | None:
        for (tenant, _), dispute in self._table.rows():
            if (tenant, dispute.account_id, dispute.psp_dispute_id) == (self._tenant, account_id, psp_dispute_id):
                return dispute
        return None

    async def save(self, dispute: Dispute) -> None:
        self._table.put((self._tenant, dispute.dispute_id), dataclasses.replace(dispute, events=[]))

    async def policy(self) -> DisputePolicy:
        return self._policies.get(self._tenant) or DisputePolicy()

    async def set_policy(self, policy: DisputePolicy) -> None:
        self._policies.put(self._tenant, policy)


class FakePaymentsUnitOfWork(FakeUnitOfWork):
    """The payments unit of work over `FakeState` (implements `ports.PaymentsUnitOfWork`)."""

    def __init__(self, state: FakeState):
        super().__init__(state.clock, state.idempotency, to_event)
        self.state = state
        self.published = state.published
        self._open()

    def _open(self) -> None:
        self._charges = _Table(self.state.charges)
        self._methods = _Table(self.state.methods)
        self._refunds = _Table(self.state.refunds)
        self._credits = _Table(self.state.credits)
        self._movements = _Table(self.state.movements)
        self._entries = _Table(self.state.entries)
        self._psp_accounts = _Table(self.state.psp_accounts)
        self._webhook_events = _Table(self.state.webhook_events)
        self._disputes = _Table(self.state.disputes)
        self._dispute_policies = _Table(self.state.dispute_policies)

    async def __aenter__(self) -> Self:
        self._open()
        return await super().__aenter__()

    async def commit(self) -> None:
        for table in (
            self._charges,
            self._methods,
            self._refunds,
            self._credits,
            self._movements,
            self._entries,
            self._psp_accounts,
            self._webhook_events,
            self._disputes,
            self._dispute_policies,
        ):
            table.commit()
        await super().commit()

    def charges(self, tenant_id: str) -> FakeChargeRepository:
        return FakeChargeRepository(self._charges, tenant_id)

    def open_charges(self) -> FakeOpenChargeRepository:
        return FakeOpenChargeRepository(self._charges)

    def payment_methods(self, tenant_id: str) -> FakePaymentMethodRepository:
        return FakePaymentMethodRepository(self._methods, tenant_id, self.state)

    def refunds(self, tenant_id: str) -> FakeRefundRepository:
        return FakeRefundRepository(self._refunds, tenant_id, self.state)

    def credits(self, tenant_id: str) -> FakeCreditRepository:
        return FakeCreditRepository(self._credits, self._movements, tenant_id, self.state)

    def ledger(self, tenant_id: str) -> FakeLedgerRepository:
        return FakeLedgerRepository(self._entries, tenant_id)

    def psp_accounts(self, tenant_id: str) -> FakePspAccountRepository:
        return FakePspAccountRepository(self._psp_accounts, self._webhook_events, tenant_id)

    def disputes(self, tenant_id: str) -> FakeDisputeRepository:
        return FakeDisputeRepository(self._disputes, self._dispute_policies, tenant_id)


SUCCESS = "tok_success"
INSUFFICIENT_FUNDS = "tok_insufficient_funds"
PROCESSING_ERROR = "tok_processing_error"
TIMEOUT = "tok_timeout"
AUTHENTICATION_REQUIRED = "tok_authentication_required"
_DECLINES = {
    INSUFFICIENT_FUNDS: DeclineReason.INSUFFICIENT_FUNDS,
    AUTHENTICATION_REQUIRED: DeclineReason.AUTHENTICATION_REQUIRED,
    "tok_stolen_card": DeclineReason.STOLEN_CARD,
    PROCESSING_ERROR: DeclineReason.PROCESSING_ERROR,
}


class FakePsp:
    """A PSP answering by payment token like the sandbox PSPs (implements `ports.PaymentServiceProvider`).

    `tok_timeout` captures but answers too late; `lookup_fails` makes lookups raise (PSP unreachable).
    """

    def __init__(self, name: str):
        self._name = name
        self.charges: list[PspChargeRequest] = []
        self.captures: dict[str, PspChargeResult] = {}
        self.refunds: list[tuple[str, int, str]] = []
        self.voids: list[str] = []
        self.lookup_fails = False
        self.refund_answer: PspOperationResult | None = None

    @property
    def name(self) -> str:
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        self.charges.append(request)
        if request.idempotency_key in self.captures:
            return self.captures[request.idempotency_key]
        if request.payment_token in _DECLINES:
            decline, reference = Decline(_DECLINES[request.payment_token], "raw"), f"{self._name}_{len(self.charges)}"
            secret = f"{reference}_secret" if decline.reason is DeclineReason.AUTHENTICATION_REQUIRED else ""
            return PspChargeResult.declined(self._name, decline, reference, client_secret=secret)
        approved = PspChargeResult.approved(self._name, f"{self._name}_{len(self.charges)}", latency_ms=5)
        self.captures[request.idempotency_key] = approved
        if request.payment_token == TIMEOUT:
            return PspChargeResult.declined(self._name, Decline(DeclineReason.TIMEOUT, "timeout"))
        return approved

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        if self.refund_answer is not None:
            return self.refund_answer
        self.refunds.append((psp_reference, amount_minor, idempotency_key))
        return PspOperationResult(self._name, succeeded=True, psp_reference=f"re_{len(self.refunds)}")

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        self.voids.append(psp_reference)
        return PspOperationResult(self._name, succeeded=True, psp_reference=psp_reference)

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        if self.lookup_fails:
            raise ConnectionError("PSP unreachable")
        return self.captures.get(idempotency_key)

    async def aclose(self) -> None:
        return None


def storefront_de() -> StorefrontTerms:
    """Storefront `de`: EUR, 19 % tax included, stripe_like then adyen_like."""
    rule = RoutingRule("stripe_like", ("adyen_like",), RoutingCondition(currencies=frozenset({"EUR"})))
    return StorefrontTerms("de", "EUR", "DE", TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"), "DE"), (rule,))


class FakeStorefronts:
    """The catalog peer: storefront terms per (tenant, storefront) (implements `ports.StorefrontCatalog`)."""

    def __init__(self) -> None:
        self.storefronts: dict[tuple[str, str], StorefrontTerms] = {(TENANT, "de"): storefront_de()}

    async def terms(self, tenant_id: str, storefront_id: str) -> StorefrontTerms:
        found = self.storefronts.get((tenant_id, storefront_id))
        if found is None:
            raise StorefrontNotFound(f"storefront_id {storefront_id!r}: no such storefront")
        return found


class FakeChargeLocks:
    """Charge locks in memory (implements `ports.ChargeLocks`)."""

    def __init__(self) -> None:
        self.held: set[tuple[str, str]] = set()

    @contextlib.asynccontextmanager
    async def hold_all(self, tenant_id: str, charge_ids: Sequence[str]) -> AsyncIterator[None]:
        keys = {(tenant_id, charge_id) for charge_id in charge_ids}
        assert not keys & self.held, "new charges are never held by anyone else"
        self.held |= keys
        try:
            yield
        finally:
            self.held -= keys

    @contextlib.asynccontextmanager
    async def try_hold(self, tenant_id: str, charge_id: str) -> AsyncIterator[bool]:
        key = (tenant_id, charge_id)
        if key in self.held:
            yield False
            return
        self.held.add(key)
        try:
            yield True
        finally:
            self.held.discard(key)


@dataclass
class FakePayments:
    """The payments service layer and servicer wired over fakes."""

    state: FakeState
    psps: dict[str, FakePsp]
    registry: PspRegistry
    storefronts: FakeStorefronts
    locks: FakeChargeLocks
    processor: ChargeProcessor
    desk: ChargeDesk
    servicer: PaymentsServicer

    @classmethod
    def build(cls) -> FakePayments:
        state = FakeState(FixedClock(START))
        psps = {name: FakePsp(name) for name in ("stripe_like", "adyen_like")}
        registry = PspRegistry(psps, CircuitBreakerBoard(BreakerSettings()), state.clock)
        storefronts, locks = FakeStorefronts(), FakeChargeLocks()

        def uow() -> FakePaymentsUnitOfWork:
            return FakePaymentsUnitOfWork(state)

        processor = ChargeProcessor(uow, registry, locks, state.clock, max_drivers=4)
        desk = ChargeDesk(uow, storefronts, processor, wait_s=0.05, max_batches=2)
        keyring = CredentialKeyring.parse(TEST_KEKS)
        servicer = PaymentsServicer(Units(uow), desk, registry, keyring, PspWebhookVerifiers())
        return cls(state, psps, registry, storefronts, locks, processor, desk, servicer)

    def uow(self) -> FakePaymentsUnitOfWork:
        """A fresh unit of work over the state."""
        return FakePaymentsUnitOfWork(self.state)

    def published_types(self) -> list[str]:
        """Types of every event published so far, in order."""
        return [event.type for event in self.state.published]

    def published(self, event_type: str) -> list[Event]:
        """The events of one type published so far."""
        return [event for event in self.state.published if event.type == event_type]
