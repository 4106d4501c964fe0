"""Contracts with custom features and quotas (with or without a plan) and a start other than now: what is refused
(naming the field), what the subscription's events carry for entitlement, a back-dated first period, and a scheduled
start that creates the subscription only when it comes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from azotte.lifecycle.v1 import events_pb2
from azotte_lifecycle.domain.contracts import BillingContact, ContractFeature, ContractTerms, MeterPrice, TermsRequest
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.service_layer import contracts
from azotte_platform.clock import tenant_times
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

S = SubscriptionState
MONTHLY = BillingInterval(IntervalUnit.MONTH)
TOKENS = ContractFeature("tokens", 50_000)


def terms(**changes: object) -> ContractTerms:
    values: dict[str, object] = {
        "plan_id": "",
        "recurring_minor": 90_000,
        "committed_minimum_minor": 0,
        "end_time": T0 + timedelta(days=365),
        "renewal_periods": 0,
        "payment_terms_days": 30,
        "billing_contact": BillingContact("Acme Hotels Ltd"),
        "features": (TOKENS, ContractFeature("hd")),
        "interval": MONTHLY,
    }
    values.update(changes)
    return ContractTerms(**values)  # type: ignore[arg-type]


def asked(recurring_given: bool = True, **changes: object) -> TermsRequest:
    return TermsRequest(terms(**changes), recurring_given, {})


async def sign(use_cases: UseCases, request: TermsRequest, start: datetime | None = None):
    customer = await use_cases.customer()
    return await use_cases.run(
        lambda uow: contracts.create_contract(uow, use_cases.catalog, TENANT, customer, "us", request, start)
    )


def event_features(use_cases: UseCases) -> list[tuple[str, list[tuple[str, int | None]]]]:
    """Each published subscription event's type and the custom features its snapshot carries."""
    found = []
    for event in use_cases.uow.published:
        assert isinstance(event.payload, events_pb2.SubscriptionEvent)
        grants = event.payload.subscription.features
        found.append((event.type, [(g.feature_key, g.limit if g.HasField("limit") else None) for g in grants]))
    return found


@pytest.mark.parametrize(
    ("request_", "start", "field"),
    [
        (asked(features=()), None, "terms.plan_id"),
        (asked(interval=None), None, "terms.interval"),
        (asked(meter_prices=(MeterPrice("tokens", Decimal("0.01")),)), None, "terms.meter_prices"),
        (asked(recurring_given=False), None, "terms.recurring_price"),
        (asked(features=(ContractFeature("gpu_hours"),)), None, "terms.features[0].feature_key"),
        (asked(features=(TOKENS, TOKENS)), None, "terms.features[1].feature_key"),
        (asked(features=(ContractFeature("hd", 3),)), None, "terms.features[0].limit"),
        (asked(features=(ContractFeature("tokens", -1),)), None, "terms.features[0].limit"),
        (asked(plan_id="basic", interval=BillingInterval(IntervalUnit.WEEK)), None, "terms.interval"),
        (asked(), T0 - timedelta(days=32), "start_time"),  # more than the month back
        (asked(end_time=T0 + timedelta(days=800)), T0 + timedelta(days=366), "start_time"),
        (asked(), T0 + timedelta(days=400), "terms.end_time"),  # the term would end before it starts
    ],
)
async def test_bad_terms_and_starts_are_refused_naming_the_field_and_store_nothing(
    use_cases: UseCases, request_: TermsRequest, start: datetime | None, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await sign(use_cases, request_, start)
    assert [v.field for v in refused.value.violations] == [field]
    assert (use_cases.uow.data.contracts, use_cases.uow.data.subscriptions) == ({}, {})


async def test_a_contract_without_a_plan_bills_its_price_and_interval_and_its_events_carry_its_features(
    use_cases: UseCases,
) -> None:
    contract, sub = await sign(use_cases, asked(interval=BillingInterval(IntervalUnit.WEEK, 2)))
    assert sub is not None and not contract.scheduled
    stored = use_cases.uow.data.subscriptions[(TENANT, sub.id)]
    assert (stored.plan_id, stored.renewal_amount_minor, stored.current_period_end) == ("", 90_000, T0 + timedelta(14))
    assert (contract.currency_code, contract.interval) == ("USD", BillingInterval(IntervalUnit.WEEK, 2))
    carried = [("tokens", 50_000), ("hd", None)]
    assert event_features(use_cases) == [("subscription.created", carried), ("subscription.activated", carried)]

    use_cases.clock.set(T0 + timedelta(days=14, hours=1))
    await use_cases.scheduler.sweep()
    (invoice,) = use_cases.payments.invoices.values()
    assert [(line.description, line.amount_minor) for line in invoice.lines] == [
        (f"Contract {contract.id}, 2025-04-01 to 2025-04-15", 90_000)
    ]


async def test_custom_features_ride_on_a_plan_and_an_amendment_of_them_reaches_entitlement(
    use_cases: UseCases,
) -> None:
    contract, sub = await sign(use_cases, asked(plan_id="basic", interval=None, features=(TOKENS,)))
    assert sub is not None and sub.plan_id == "basic"
    assert event_features(use_cases)[-1] == ("subscription.activated", [("tokens", 50_000)])

    more = (replace(TOKENS, limit=80_000), ContractFeature("seats", 25))
    await use_cases.run(
        lambda uow: contracts.amend_contract(
            uow, use_cases.catalog, TENANT, contract.id, asked(plan_id="basic", features=more)
        )
    )
    assert event_features(use_cases)[-1] == ("subscription.features_changed", [("tokens", 80_000), ("seats", 25)])
    published = len(use_cases.uow.published)
    await use_cases.run(
        lambda uow: contracts.amend_contract(
            uow, use_cases.catalog, TENANT, contract.id, asked(plan_id="basic", features=more, recurring_minor=95_000)
        )
    )
    assert len(use_cases.uow.published) == published  # the same features: nothing for entitlement
    stored = use_cases.uow.data.contracts[(TENANT, contract.id)]
    assert [v.terms.features for v in stored.versions] == [(TOKENS,), more, more]


async def test_a_back_dated_contract_runs_its_first_period_from_its_start(use_cases: UseCases) -> None:
    start = T0 - timedelta(days=20)
    contract, sub = await sign(use_cases, asked(plan_id="basic", interval=None), start)
    assert sub is not None and contract.start == start
    assert (sub.current_period_start, sub.current_period_end) == (start, datetime(2025, 4, 12, tzinfo=T0.tzinfo))
    assert [(e.type, e.payload.cause) for e in use_cases.uow.published] == [  # type: ignore[attr-defined]
        ("subscription.created", "contract_started"),
        ("subscription.activated", "contract_started"),
    ]

    use_cases.clock.set(datetime(2025, 4, 12, 1, tzinfo=T0.tzinfo))
    await use_cases.scheduler.sweep()
    (invoice,) = use_cases.payments.invoices.values()
    assert invoice.lines[0].description == "basic, 2025-03-12 to 2025-04-12"
    assert invoice.lines[0].amount_minor == 90_000


async def test_a_scheduled_contract_has_no_subscription_until_its_start_then_runs_from_it(use_cases: UseCases) -> None:
    start = T0 + timedelta(days=3)
    contract, sub = await sign(use_cases, asked(), start)
    assert (sub, contract.scheduled) == (None, True)
    assert use_cases.uow.data.subscriptions == {} and use_cases.uow.published == []
    got, none = await use_cases.run(lambda uow: contracts.get_contract(uow, TENANT, contract.id))
    assert (got.scheduled, none) == (True, None)
    async with use_cases.uow as uow:
        assert await uow.contracts.next_start_in(tenant_times(use_cases.clock)) == timedelta(days=3)

    use_cases.clock.set(start - timedelta(minutes=1))
    await use_cases.scheduler.sweep()
    assert use_cases.uow.data.subscriptions == {}

    use_cases.clock.set(start + timedelta(hours=5))  # the sweep runs late: periods still run from the start
    await use_cases.scheduler.sweep()
    started = use_cases.uow.data.subscriptions[(TENANT, contract.subscription_id)]
    assert (started.state, started.current_period_start) == (S.ACTIVE, start)
    assert started.current_period_end == datetime(2025, 5, 4, tzinfo=T0.tzinfo)
    assert not use_cases.uow.data.contracts[(TENANT, contract.id)].scheduled
    assert [(e.type, e.payload.cause) for e in use_cases.uow.published] == [  # type: ignore[attr-defined]
        ("subscription.created", "contract_started"),
        ("subscription.activated", "contract_started"),
    ]
    await use_cases.scheduler.sweep()
    assert len(use_cases.uow.published) == 2  # started once


async def test_a_scheduled_contract_starts_on_its_amended_terms_and_one_ended_before_its_start_never_starts(
    use_cases: UseCases,
) -> None:
    start = T0 + timedelta(days=3)
    amended, _ = await sign(use_cases, asked(), start)
    ended, _ = await sign(use_cases, asked(), start)
    await use_cases.run(
        lambda uow: contracts.amend_contract(
            uow, use_cases.catalog, TENANT, amended.id, asked(recurring_minor=70_000, features=(TOKENS,))
        )
    )
    await use_cases.run(lambda uow: contracts.end_contract(uow, TENANT, ended.id))
    assert use_cases.uow.data.contracts[(TENANT, ended.id)].final_end == start

    use_cases.clock.set(start + timedelta(minutes=1))
    await use_cases.scheduler.sweep()
    subs = use_cases.uow.data.subscriptions
    assert list(subs) == [(TENANT, amended.subscription_id)]
    assert (
        subs[(TENANT, amended.subscription_id)].renewal_amount_minor,
        subs[(TENANT, amended.subscription_id)].features,
    ) == (
        70_000,
        (TOKENS,),
    )
