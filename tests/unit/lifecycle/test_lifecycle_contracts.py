"""Contracts: the lines each period is invoiced with, their terms' rules, and their subscription's lifecycle (the
period invoiced at its end, an overdue invoice's dunning, a paid one's recovery, the contract's last period)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from azotte_lifecycle.domain.contracts import (
    BillingContact,
    ContractTerms,
    InvoiceLineKind,
    MeterPrice,
    TermsRequest,
    UsageQuantity,
    period_invoice_lines,
)
from azotte_lifecycle.domain.events import Cause
from azotte_lifecycle.domain.policy import LifecyclePolicy
from azotte_lifecycle.errors import ContractNotFound
from azotte_lifecycle.service_layer import contracts
from azotte_lifecycle.service_layer.contracts import create_contract
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

K = InvoiceLineKind
S = SubscriptionState
MAY = datetime(2025, 5, 1, tzinfo=T0.tzinfo)
CONTACT = BillingContact("Acme Hotels Ltd", tax_id="FR40303265045")


def terms(**changes: object) -> ContractTerms:
    values: dict[str, object] = {
        "plan_id": "basic",
        "recurring_minor": 100_000,
        "committed_minimum_minor": 150_000,
        "end_time": T0 + timedelta(days=80),
        "renewal_periods": 0,
        "payment_terms_days": 30,
        "billing_contact": CONTACT,
        "meter_prices": (MeterPrice("tokens", Decimal("2.5"), Decimal(10_000)),),
    }
    values.update(changes)
    return ContractTerms(**values)  # type: ignore[arg-type]


def used(meter: str, quantity: int, amount: int = 0, dimension: str = "") -> UsageQuantity:
    return UsageQuantity(meter, dimension, Decimal(quantity), amount, f"{meter} {dimension}")


def billed(lines: list) -> list[tuple[InvoiceLineKind, str, int]]:  # type: ignore[type-arg]
    return [(line.kind, line.quantity, line.amount_minor) for line in lines]


def test_usage_below_the_minimum_is_trued_up() -> None:
    lines = period_invoice_lines(terms(), "basic", [used("tokens", 20_000, 20_000)], (T0, MAY))
    # 10,000 billable x 2.5 = 25,000; 100,000 + 25,000 is 25,000 short of 150,000.
    assert billed(lines) == [(K.RECURRING, "", 100_000), (K.USAGE, "10000", 25_000), (K.TRUE_UP, "", 25_000)]
    assert lines[0].description == "basic, 2025-04-01 to 2025-05-01"


def test_overage_is_billed_at_the_negotiated_price_rounded_half_up_and_needs_no_true_up() -> None:
    lines = period_invoice_lines(terms(), "basic", [used("tokens", 45_001, 45_001)], (T0, MAY))
    assert billed(lines) == [(K.RECURRING, "", 100_000), (K.USAGE, "35001", 87_503)]  # 87,502.5 -> 87,503


def test_exactly_the_minimum_adds_no_true_up() -> None:
    lines = period_invoice_lines(terms(), "basic", [used("tokens", 30_000, 30_000)], (T0, MAY))
    assert billed(lines) == [(K.RECURRING, "", 100_000), (K.USAGE, "20000", 50_000)]


def test_included_units_are_spent_once_across_dimensions_and_other_meters_keep_metering_prices() -> None:
    usage = [
        used("tokens", 6_000, 6_000, "model=small"),
        used("tokens", 8_000, 8_000, "model=large"),
        used("images", 40, 4_000),
        used("", 0, -1_500),  # what prepaid credit already paid
    ]
    lines = period_invoice_lines(terms(committed_minimum_minor=0), "basic", usage, (T0, MAY))
    assert billed(lines) == [
        (K.RECURRING, "", 100_000),
        (K.USAGE, "0", 0),  # 6,000 of the 10,000 included
        (K.USAGE, "4000", 10_000),  # the other 4,000 included, 4,000 billable x 2.5
        (K.USAGE, "40", 4_000),  # not negotiated: metering's amount
        (K.CREDIT, "", 1_500),
    ]
    assert (lines[2].meter_key, lines[2].dimension, lines[2].unit_price_minor) == ("tokens", "model=large", "2.5")


def test_credits_count_against_the_minimum() -> None:
    lines = period_invoice_lines(terms(), "basic", [used("", 0, -10_000)], (T0, MAY))
    assert billed(lines)[-1] == (K.TRUE_UP, "", 60_000)  # 150,000 - (100,000 - 10,000)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"plan_id": ""}, "terms.plan_id"),
        ({"recurring_minor": -1}, "terms.recurring_price.amount_minor"),
        ({"committed_minimum_minor": -1}, "terms.committed_minimum.amount_minor"),
        ({"end_time": T0}, "terms.end_time"),
        ({"renewal_periods": -1}, "terms.renewal_periods"),
        ({"payment_terms_days": 366}, "terms.payment_terms_days"),
        ({"billing_contact": BillingContact(" ")}, "terms.billing_contact.name"),
        ({"meter_prices": (MeterPrice("t", Decimal(1)),) * 2}, "terms.meter_prices[1].meter_key"),
        ({"meter_prices": (MeterPrice("t", Decimal(-1)),)}, "terms.meter_prices[0].unit_price_minor"),
        ({"meter_prices": (MeterPrice("t", Decimal(1), Decimal(-1)),)}, "terms.meter_prices[0].included_quantity"),
    ],
)
def test_bad_terms_name_their_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        terms(**changes).violations(T0)
    assert [v.field for v in refused.value.violations] == [field]


def asked(**changes: object) -> TermsRequest:
    return TermsRequest(terms(**changes), recurring_given=True, currencies={})


async def sign(use_cases: UseCases, **changes: object) -> tuple[str, str]:
    customer = await use_cases.customer()
    contract, sub = await use_cases.run(
        lambda uow: create_contract(uow, use_cases.catalog, TENANT, customer, "us", asked(**changes))
    )
    assert sub is not None  # a contract starting now has its subscription at once
    return contract.id, sub.id


async def test_signing_starts_a_direct_subscription_with_the_negotiated_price(use_cases: UseCases) -> None:
    contract_id, sub_id = await sign(use_cases)
    stored = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (stored.channel.value, stored.state, stored.renewal_amount_minor) == ("direct", S.ACTIVE, 100_000)
    assert stored.invoiced
    contract = use_cases.uow.data.contracts[(TENANT, contract_id)]
    # The 80-day term ends inside the third monthly period: it is the last.
    assert (contract.version, contract.final_end) == (1, datetime(2025, 7, 1, tzinfo=T0.tzinfo))
    assert [e.type for e in use_cases.uow.published] == ["subscription.created", "subscription.activated"]


async def test_without_a_negotiated_price_the_storefront_price_is_the_recurring_price(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    request = TermsRequest(terms(recurring_minor=0), recurring_given=False, currencies={})
    contract, _ = await use_cases.run(
        lambda uow: create_contract(uow, use_cases.catalog, TENANT, customer, "us", request)
    )
    assert contract.terms.recurring_minor == 1000  # the fake catalog's basic plan


async def test_amounts_in_another_currency_are_refused(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    request = TermsRequest(terms(), recurring_given=True, currencies={"terms.recurring_price.currency_code": "EUR"})
    with pytest.raises(InvalidArgument) as refused:
        await use_cases.run(lambda uow: create_contract(uow, use_cases.catalog, TENANT, customer, "us", request))
    assert refused.value.violations[0].field == "terms.recurring_price.currency_code"
    assert use_cases.uow.data.contracts == {}


async def test_each_period_is_invoiced_at_its_end_until_the_last_then_the_subscription_expires(
    use_cases: UseCases,
) -> None:
    _, sub_id = await sign(use_cases)
    for month in (5, 6, 7):
        use_cases.clock.set(datetime(2025, month, 1, 1, tzinfo=T0.tzinfo))
        await use_cases.scheduler.sweep()
    keys = [f"lifecycle:contract-invoice:{sub_id}:{period}" for period in (1, 2, 3)]
    assert list(use_cases.payments.invoices) == keys
    assert [invoice.period_key for invoice in use_cases.payments.invoices.values()] == ["1", "2", "3"]
    stored = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (stored.state, stored.next_due_work()) == (S.EXPIRED, None)
    types = [e.type for e in use_cases.uow.published]
    assert types[-3:] == ["subscription.renewed", "subscription.renewed", "subscription.expired"]
    assert use_cases.payments.charged == {}  # nothing is charged to a card


async def test_an_amendment_is_a_new_version_invoiced_from_the_next_period(use_cases: UseCases) -> None:
    contract_id, _ = await sign(use_cases)
    amended, sub = await use_cases.run(
        lambda uow: contracts.amend_contract(
            uow, use_cases.catalog, TENANT, contract_id, asked(recurring_minor=120_000, plan_id="premium")
        )
    )
    assert [v.version for v in amended.versions] == [1, 2]
    assert [v.terms.recurring_minor for v in amended.versions] == [100_000, 120_000]
    assert sub is not None
    assert (sub.plan_id, sub.renewal_amount_minor) == ("premium", 120_000)
    assert use_cases.uow.published[-1].type == "subscription.plan_changed"
    use_cases.clock.set(MAY + timedelta(hours=1))
    await use_cases.scheduler.sweep()
    (invoice,) = use_cases.payments.invoices.values()
    assert [(line.kind, line.amount_minor) for line in invoice.lines] == [(K.RECURRING, 120_000), (K.TRUE_UP, 30_000)]


async def test_ending_a_contract_ends_it_with_the_current_period(use_cases: UseCases) -> None:
    contract_id, sub_id = await sign(use_cases, end_time=T0 + timedelta(days=365))
    use_cases.clock.advance(timedelta(days=10))
    ended, _ = await use_cases.run(lambda uow: contracts.end_contract(uow, TENANT, contract_id))
    assert ended.final_end == MAY
    use_cases.clock.set(MAY + timedelta(hours=1))
    await use_cases.scheduler.sweep()
    assert len(use_cases.payments.invoices) == 1
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].state is S.EXPIRED
    with pytest.raises(ContractNotFound):
        await use_cases.run(lambda uow: contracts.get_contract(uow, "other-tenant", contract_id), "other-tenant")


async def test_an_overdue_invoice_follows_the_policy_and_paying_it_restores_access(
    use_cases: UseCases, policy: LifecyclePolicy
) -> None:
    _, sub_id = await sign(use_cases)
    use_cases.clock.set(MAY + timedelta(hours=1))
    await use_cases.scheduler.sweep()

    use_cases.clock.advance(timedelta(days=31))
    overdue, payments = use_cases.payments.overdue_invoices, use_cases.payments

    async def follow(cause: Cause = Cause.INVOICE_PAID) -> None:
        await use_cases.run(lambda uow: contracts.follow_invoices(uow, TENANT, payments, sub_id, cause))

    overdue[sub_id] = 1
    await follow()
    sub = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (sub.state, sub.entitled, sub.next_retry_at) == (S.PAST_DUE, True, None)
    overdue[sub_id] = 2
    await follow()  # a second overdue invoice
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].grace_end == sub.grace_end

    use_cases.clock.advance(timedelta(days=3))  # the default grace
    await use_cases.scheduler.sweep()
    sub = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (sub.state, sub.entitled) == (S.ON_HOLD, False)
    assert list(use_cases.payments.invoices) == [f"lifecycle:contract-invoice:{sub_id}:1"]  # no retry invoices

    overdue[sub_id] = 1
    await follow()  # one of the two paid: still suspended
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].state is S.ON_HOLD
    overdue[sub_id] = 0
    await follow()  # the last one paid
    sub = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (sub.state, sub.entitled, sub.period_index, sub.grace_end) == (S.ACTIVE, True, 2, None)
    assert [e.type for e in use_cases.uow.published][-3:] == [
        "subscription.renewal_failed",
        "subscription.on_hold",
        "subscription.recovered",
    ]


async def test_voiding_the_overdue_invoice_restores_access_and_says_so(use_cases: UseCases) -> None:
    _, sub_id = await sign(use_cases)
    use_cases.clock.set(MAY + timedelta(hours=1))
    await use_cases.scheduler.sweep()
    use_cases.clock.advance(timedelta(days=31))
    use_cases.payments.overdue_invoices[sub_id] = 1
    await use_cases.run(
        lambda uow: contracts.follow_invoices(uow, TENANT, use_cases.payments, sub_id, Cause.INVOICE_PAID)
    )
    use_cases.clock.advance(timedelta(days=3))
    await use_cases.scheduler.sweep()
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].state is S.ON_HOLD

    use_cases.payments.overdue_invoices[sub_id] = 0
    await use_cases.run(
        lambda uow: contracts.follow_invoices(uow, TENANT, use_cases.payments, sub_id, Cause.INVOICE_VOIDED)
    )
    sub = use_cases.uow.data.subscriptions[(TENANT, sub_id)]
    assert (sub.state, sub.entitled) == (S.ACTIVE, True)
    recovered = use_cases.uow.published[-1]
    assert (recovered.type, recovered.payload.cause) == ("subscription.recovered", "invoice_voided")  # type: ignore[attr-defined]


async def test_invoice_events_leave_card_subscriptions_alone(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.payments.overdue_invoices[sub.id] = 1
    await use_cases.run(
        lambda uow: contracts.follow_invoices(uow, TENANT, use_cases.payments, sub.id, Cause.INVOICE_PAID)
    )
    assert use_cases.stored(sub).state is S.ACTIVE


async def test_invoices_not_issued_wait_and_are_asked_again_under_the_same_key(use_cases: UseCases) -> None:
    _, sub_id = await sign(use_cases)
    use_cases.clock.set(MAY + timedelta(hours=1))
    use_cases.payments.unavailable = True
    await use_cases.scheduler.sweep()
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].period_index == 1
    use_cases.payments.unavailable = False
    use_cases.clock.advance(timedelta(minutes=6))  # past the unsettled delay
    await use_cases.scheduler.sweep()
    key = f"lifecycle:contract-invoice:{sub_id}:1"
    assert (list(use_cases.payments.invoices), use_cases.payments.invoice_calls[key]) == ([key], 2)
    assert use_cases.uow.data.subscriptions[(TENANT, sub_id)].period_index == 2
