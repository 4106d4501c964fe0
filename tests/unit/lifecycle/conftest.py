"""Fixtures of the lifecycle unit tests: a clock origin, plans, a policy, subscriptions in any state, and the
use cases over fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.entrypoints.servicer import LifecycleServicer
from azotte_lifecycle.ports import LifecycleUnitOfWork
from azotte_lifecycle.service_layer import customers, subscriptions
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.service_kit import Units
from tests.unit.lifecycle.fakes import FakeCatalog, FakeLifecycleUnitOfWork, FakePayments

T0 = datetime(2025, 4, 1, tzinfo=UTC)
MONTHLY = BillingInterval(IntervalUnit.MONTH)


class Plans:
    """Three monthly USD plans ranked lite < basic < premium."""

    lite = PlanTerms("lite", 500, "USD", MONTHLY, rank=0)
    basic = PlanTerms("basic", 1000, "USD", MONTHLY, rank=1)
    premium = PlanTerms("premium", 2000, "USD", MONTHLY, rank=2)


NewSubscription = Callable[..., Subscription]
SubscriptionFactory = Callable[[str], Subscription]


@pytest.fixture
def t0() -> datetime:
    """Creation time of built subscriptions: 2025-04-01T00:00Z (a 30-day month)."""
    return T0


@pytest.fixture
def plans() -> Plans:
    """The test plans."""
    return Plans()


@pytest.fixture
def policy() -> LifecyclePolicy:
    """Grace 3 days, retries on days 1, 3, 5, 7, hold 30 days, pauses up to 90 days."""
    return LifecyclePolicy(
        grace_period=timedelta(days=3),
        retry_schedule_days=(1, 3, 5, 7),
        hold_period=timedelta(days=30),
        max_pause=timedelta(days=90),
    )


@pytest.fixture
def new_subscription() -> NewSubscription:
    """Build a fresh subscription to basic created at T0 (keywords override the defaults)."""

    def build(
        *,
        trial: bool = False,
        origin: BillingOrigin = BillingOrigin.AZOTTE_BILLED,
        plan: PlanTerms = Plans.basic,
        now: datetime = T0,
    ) -> Subscription:
        return Subscription.create(
            subscription_id="sub-1",
            tenant_id="tenant-1",
            customer_id="cus-1",
            plan=plan,
            storefront_id="us",
            channel=Channel.WEB,
            billing_origin=origin,
            now=now,
            trial_end=now + timedelta(days=14) if trial else None,
        )

    return build


@pytest.fixture
def subscription_in(policy: LifecyclePolicy, new_subscription: NewSubscription) -> SubscriptionFactory:
    """Build a subscription in a named state by driving real commands."""

    def build(state: str) -> Subscription:
        sub = new_subscription(trial=state == "trialing")
        if state in ("past_due", "on_hold"):
            sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SOFT_DECLINE, sub.current_period_end, policy)
            while state == "on_hold" and sub.state is SubscriptionState.PAST_DUE:
                work = sub.next_due_work()
                assert work is not None
                if work.kind.charges:
                    sub.apply_charge_result(sub.renewal_charge(), ChargeOutcome.SOFT_DECLINE, work.due_at, policy)
                else:
                    sub.apply_due_work(work, work.due_at, policy)
        elif state == "active_cancel_pending":
            sub.cancel(T0, policy, mode=CancelMode.AT_PERIOD_END)
        elif state == "paused":
            sub.pause(T0, policy, periods=1)
        elif state == "expired":
            sub.cancel(T0, policy, mode=CancelMode.IMMEDIATE)
        sub.pull_events()
        return sub

    return build


# ---------------------------------------------------------------------------------------- use cases with fakes

TENANT = "acme"
HALFWAY = timedelta(days=15)  # of April's 30 days
R = TypeVar("R")
M = TypeVar("M", bound=Message)


@dataclass
class UseCases:
    """The lifecycle use cases over fakes, acting for TENANT (unless told) from T0; one scheduler batch at once."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    payments: FakePayments = field(default_factory=FakePayments)

    def __post_init__(self) -> None:
        self.uow = FakeLifecycleUnitOfWork(self.clock)
        self.units: Units[LifecycleUnitOfWork] = Units(lambda: self.uow)
        settings = SchedulerSettings(parallel_batches=1)
        self.scheduler = Scheduler(lambda: self.uow, self.catalog, self.payments, self.clock, settings)
        self.servicer = LifecycleServicer(self.units, self.catalog, self.payments, self.scheduler)

    async def run(self, work: Callable[[LifecycleUnitOfWork], Awaitable[R]], tenant: str = TENANT) -> R:
        """Run a use case in a unit of work as `tenant` would (a servicer runs in its caller's tenant), and commit."""
        with tenant_scope(tenant):
            async with self.uow:
                result = await work(self.uow)
                await self.uow.commit()
                return result

    async def call(self, rpc: Callable[[M, Any], Awaitable[R]], request: M) -> R:
        """Call a servicer method as TENANT would."""
        with tenant_scope(TENANT):
            return await rpc(request, None)

    async def customer(self, tenant: str = TENANT) -> str:
        """A new customer's id."""
        external_id = f"ext-{len(self.uow.data.customers)}"
        new = await self.run(
            lambda uow: customers.create_customer(
                uow, tenant, external_id=external_id, email="ana@example.com", country_code="FR"
            ),
            tenant,
        )
        return new.id

    async def subscribe(
        self,
        plan_id: str = "basic",
        *,
        checkout_minor: int | None = None,
        storefront_id: str = "us",
        trial_end: datetime | None = None,
        tenant: str = TENANT,
    ) -> Subscription:
        """A new Azotte-billed web subscription; `checkout_minor` is what a checkout charged for its first period."""
        charge_id = "" if checkout_minor is None else self.payments.checkout_charge(checkout_minor)
        new = subscriptions.NewSubscription(
            await self.customer(tenant),
            plan_id,
            storefront_id,
            Channel.WEB,
            BillingOrigin.AZOTTE_BILLED,
            trial_end=trial_end,
            initial_charge_id=charge_id,
        )
        return await self.run(lambda uow: subscriptions.create_subscription(uow, self.catalog, tenant, new), tenant)

    def stored(self, sub: Subscription) -> Subscription:
        """The subscription as committed."""
        return self.uow.stored(sub.tenant_id, sub.id)


@pytest.fixture
def use_cases() -> UseCases:
    """Fresh fakes: no customer, no subscription, default policy."""
    return UseCases()
