"""A backlog of usage rated a customer at a time: each customer's events together lock, pay and check once, and
leave the same totals, adjustments, wallet and limits as rating them one by one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from azotte.metering.v1 import events_pb2
from azotte.metering.v1 import metering_pb2 as mpb
from azotte_metering.adapters import billing_proto
from azotte_metering.billing_ports import BillingUnitOfWork, MovementEntry
from azotte_metering.domain.charges import Period, UsageAccount, UsageCharges
from azotte_metering.domain.limits import Limit, Measure, Policy
from azotte_metering.domain.meters import Aggregation, Meter, QuotaFeature
from azotte_metering.domain.pricing import PriceModel, PricingModel, Tier, UsagePrice
from azotte_metering.domain.wallets import GrantSource, Movement, MovementKind
from azotte_metering.service_layer import limits, prices, rating, wallets
from azotte_metering.service_layer.rating import RecordedUsage
from azotte_platform.events.envelope import ReceivedEvent
from tests.unit.metering.billing_fakes import MARCH, T0, TENANT, Billing, FakeUsage

D = Decimal
GRADUATED = PriceModel(PricingModel.GRADUATED, tiers=(Tier(D(5), D(700)), Tier(D(10), D(650)), Tier(None, D(600))))
CUSTOMERS = ("cus_1", "cus_2")
CREDIT = 10_000


def usage(number: int, customer: str, quantity: str, *, late: bool = False, **dimensions: str) -> RecordedUsage:
    at = T0 - timedelta(days=3) if late else T0 + timedelta(hours=number)
    return RecordedUsage(f"ev_{number}", customer, "tokens", "sum", dimensions, at, at, 1, D(quantity))


BACKLOG = [
    usage(1, "cus_2", "4", model="small"),
    usage(2, "cus_1", "3", model="small"),
    usage(3, "cus_1", "4", model="large"),
    usage(4, "cus_2", "9", model="small"),
    usage(5, "cus_1", "2", late=True, model="small"),
    usage(6, "cus_1", "5", model="small"),
]


async def billing_with_credit() -> Billing:
    """cus_1 and cus_2 on `plan_ai`, graduated tokens, 100 USD of credit each, a spend limit of 80 USD on cus_1."""
    billing = Billing()
    billing.uow.data.accounts[(TENANT, "cus_2")] = UsageAccount("cus_2", "sub_2", "sf_us", "plan_ai", "USD", MARCH)
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", GRADUATED, {})
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    for customer in CUSTOMERS:
        await billing.run(
            partial(
                wallets.grant_credit,
                tenant_id=TENANT,
                customer_id=customer,
                currency_code="USD",
                amount_minor=CREDIT,
                source=GrantSource.ADMIN,
            )
        )
    limit = Limit("spend", "cus_1", "ai.chat", Measure.SPEND, D(8000), Policy.SUSPEND, currency_code="USD")
    await billing.run(lambda uow: limits.set_limit(uow, TENANT, limit))
    return billing


async def outcome(billing: Billing) -> tuple[list[UsageCharges], list[int], list[str]]:
    """Each customer's charges so far, wallet balance, and the limit events published."""
    charges = [await billing.run(partial(rating.preview_charges, tenant_id=TENANT, customer_id=c)) for c in CUSTOMERS]
    found = [
        await billing.run(partial(wallets.get_wallet, tenant_id=TENANT, customer_id=c, currency_code="USD"))
        for c in CUSTOMERS
    ]
    balances = [wallet.balance(billing.clock.now()) for wallet in found]
    limit_events = [event.type for event in billing.uow.published if event.type.startswith("limit.")]
    return charges, balances, limit_events


async def rate(billing: Billing, usages: Sequence[RecordedUsage]) -> bool:
    """Rate `usages` in one unit of work."""
    return await billing.run(partial(rating.rate_usage, resets=billing.resets, tenant_id=TENANT, usages=usages))


async def test_a_backlog_rated_a_customer_at_a_time_leaves_what_rating_each_event_alone_leaves() -> None:
    alone, together = await billing_with_credit(), await billing_with_credit()
    for one in BACKLOG:
        await rate(alone, [one])
    await rate(together, BACKLOG)

    charges, balances, limit_events = await outcome(together)
    assert (charges, balances, limit_events) == await outcome(alone)
    cus_1, cus_2 = charges
    assert [(dict(line.dimensions), line.quantity, line.amount_minor) for line in cus_1.lines] == [
        ({"model": "large"}, D(4), 2800),
        ({"model": "small"}, D(8), 5450),
    ]
    assert [(a.quantity, a.amount_minor) for a in cus_1.adjustments] == [(D(2), 1400)]
    assert [(line.quantity, line.amount_minor) for line in cus_2.lines] == [(D(13), 8550)]
    assert balances == [CREDIT - 2800 - 5450 - 1400, CREDIT - 8550]
    assert limit_events == ["limit.reached"]  # cus_1 spent 96.50 USD of 80


async def burned(billing: Billing, customer: str) -> list[Movement]:
    async def history(uow: BillingUnitOfWork) -> list[MovementEntry]:
        return await uow.wallets.movements(TENANT, customer, "USD", 100, None)

    return [entry.movement for entry in await billing.run(history) if entry.movement.kind is MovementKind.BURNED]


async def test_each_customer_pays_once_for_the_events_rated_together() -> None:
    billing = await billing_with_credit()
    await rate(billing, BACKLOG)
    burns = {customer: await burned(billing, customer) for customer in CUSTOMERS}
    assert [(m.amount_minor, m.reference) for m in burns["cus_1"]] == [(-9650, "ev_2")]
    assert [(m.amount_minor, m.reference) for m in burns["cus_2"]] == [(-8550, "ev_1")]


def test_a_backlog_is_rated_customer_by_customer_in_order_each_in_its_event_order() -> None:
    grouped = rating.by_customer(BACKLOG)
    assert list(grouped) == ["cus_1", "cus_2"]
    assert [u.event_id for u in grouped["cus_1"]] == ["ev_2", "ev_3", "ev_5", "ev_6"]
    assert [u.event_id for u in grouped["cus_2"]] == ["ev_1", "ev_4"]


def received(payload: events_pb2.UsageRecorded) -> ReceivedEvent:
    """A `usage.recorded` as the rating consumer receives it."""
    data = payload.SerializeToString()
    return ReceivedEvent("ev_9", "usage.recorded", "azotte/metering", TENANT, T0, "cus_1", "", data, {})


def test_a_usage_recorded_event_is_rated_per_group_it_carries() -> None:
    payload = events_pb2.UsageRecorded(tenant_id=TENANT, customer_id="cus_1")
    for model, quantity in (("large", "4"), ("small", "2.5")):
        group = payload.usage.add(meter_key="tokens", aggregation=mpb.AGGREGATION_SUM, event_count=2, quantity=quantity)
        group.dimensions["model"] = model
        group.first_event_time.FromDatetime(T0)
        group.last_event_time.FromDatetime(T0 + timedelta(minutes=1))

    usages = billing_proto.recorded_usage(received(payload))

    assert usages == [
        RecordedUsage("ev_9", "cus_1", "tokens", "sum", {"model": model}, T0, T0 + timedelta(minutes=1), 2, D(q))
        for model, q in (("large", "4"), ("small", "2.5"))
    ]


def test_an_event_of_one_group_in_its_own_fields_published_before_grouping_by_customer_is_still_rated() -> None:
    legacy = events_pb2.UsageRecorded(
        tenant_id=TENANT, customer_id="cus_1", meter_key="tokens", aggregation=mpb.AGGREGATION_SUM, quantity="7"
    )
    legacy.event_count = 3
    legacy.first_event_time.FromDatetime(T0)
    legacy.last_event_time.FromDatetime(T0)

    assert billing_proto.recorded_usage(received(legacy)) == [
        RecordedUsage("ev_9", "cus_1", "tokens", "sum", {}, T0, T0, 3, D(7))
    ]
    assert billing_proto.recorded_usage(received(events_pb2.UsageRecorded(customer_id="cus_1"))) == []


async def test_customers_rated_in_one_transaction_each_report_their_own_quota_use() -> None:
    alone, together = await billing_with_credit(), await billing_with_credit()
    tokens = Meter(TENANT, "tokens", "Tokens", "ai.tokens", "$.tokens", Aggregation.SUM, ("model",), T0, T0)
    for billing in (alone, together):
        billing.uow.data.quota_meters.append(replace(tokens, quota_features=(QuotaFeature("tokens_all"),)))
    for own in rating.by_customer(BACKLOG).values():
        await rate(alone, own)  # each customer in a transaction of their own
    await rate(together, BACKLOG)

    def used(billing: Billing) -> list[tuple[str, str, int]]:
        quota = billing.published("quota.used")
        return [(e.payload.customer_id, e.payload.feature_key, e.payload.used) for e in quota]  # type: ignore[attr-defined]

    assert used(together) == used(alone) == [("cus_1", "tokens_all", 12), ("cus_2", "tokens_all", 13)]


async def test_a_customer_whose_period_closed_while_rating_waited_for_the_lock_is_rated_in_the_new_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    billing = await billing_with_credit()
    april = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))
    lock_periods = FakeUsage.lock_periods

    async def renewed_meanwhile(self: FakeUsage, tenant_id: str, periods: Sequence[tuple[str, Period]]) -> None:
        await lock_periods(self, tenant_id, periods)
        account = self.data.accounts[TENANT, "cus_1"]
        if account.period == MARCH:  # NOTE: the renewal committed while this transaction waited for the lock
            self.data.accounts[TENANT, "cus_1"] = replace(account, period=april)

    monkeypatch.setattr(FakeUsage, "lock_periods", renewed_meanwhile)
    await rate(billing, [usage(1, "cus_1", "3", model="small"), usage(2, "cus_2", "4", model="small")])

    assert (TENANT, "cus_1", april.start) in billing.uow.data.periods  # the new period locked too
    cus_1, cus_2 = [
        await billing.run(partial(rating.preview_charges, tenant_id=TENANT, customer_id=c)) for c in CUSTOMERS
    ]
    assert (cus_1.period, [(a.quantity, a.amount_minor) for a in cus_1.adjustments]) == (april, [(D(3), 2100)])
    assert (cus_2.period, [(line.quantity, line.amount_minor) for line in cus_2.lines]) == (MARCH, [(D(4), 2800)])
