"""A/B experiments over fakes: sticky deterministic assignment by weight, exposure published once, results with
revenue and a two-proportion z-test, stop and ship."""

from __future__ import annotations

from collections import Counter

import pytest

from azotte_platform.errors import InvalidArgument, NotFound
from azotte_promotions.domain.experiments import (
    Experiment,
    ExperimentState,
    Variant,
    VariantKind,
    bucket,
    two_proportion_z_test,
)
from azotte_promotions.errors import ExperimentEnded
from azotte_promotions.service_layer import experiments
from azotte_promotions.service_layer.experiments import Payment
from tests.unit.promotions.conftest import T0, TENANT, UseCases
from tests.unit.promotions.fakes import FakePeople

PRICE_A = Variant("control", 1, VariantKind.PRICE_POINT, price_minor=999)
PRICE_B = Variant("cheaper", 1, VariantKind.PRICE_POINT, price_minor=799)


@pytest.fixture
def people() -> FakePeople:
    return FakePeople()


async def experiment(use_cases: UseCases, *variants: Variant, currency: str = "USD") -> Experiment:
    new = Experiment(TENANT, "", "Paywall price", variants or (PRICE_A, PRICE_B), currency, T0)
    return await use_cases.run(lambda uow: experiments.create_experiment(uow, TENANT, new))


async def assign(use_cases: UseCases, people: FakePeople, experiment_id: str, customer: str) -> str:
    variant, _ = await use_cases.run(lambda uow: experiments.assign(uow, people, TENANT, experiment_id, customer))
    return variant.id


async def pay(use_cases: UseCases, customer: str, amount: int, currency: str = "USD") -> None:
    await use_cases.run(lambda uow: experiments.record_payment(uow, TENANT, Payment(customer, currency, amount)))


def test_the_z_test_matches_a_worked_example():
    # 200/1000 vs 260/1000: pooled 0.23, z = 0.06 / sqrt(0.23 * 0.77 * 0.002) = 3.188, p = 0.00143
    z, p = two_proportion_z_test(200, 1000, 260, 1000)

    assert z == pytest.approx(3.188, abs=1e-3) and p == pytest.approx(0.00143, abs=1e-5)
    assert two_proportion_z_test(0, 0, 5, 10) == (0.0, 1.0)
    assert two_proportion_z_test(0, 10, 0, 10) == (0.0, 1.0)


def test_buckets_follow_the_weights_and_differ_per_experiment():
    weights = Counter(bucket("exp-1", f"cus-{i}", 4) for i in range(4000))
    assert all(900 < weights[b] < 1100 for b in range(4))
    assert [bucket("exp-1", f"cus-{i}", 100) for i in range(50)] != [
        bucket("exp-2", f"cus-{i}", 100) for i in range(50)
    ]


async def test_assignment_is_sticky_deterministic_and_exposed_once(use_cases: UseCases, people: FakePeople):
    made = await experiment(use_cases, PRICE_A, Variant("cheaper", 3, VariantKind.PRICE_POINT, price_minor=799))

    first = {c: await assign(use_cases, people, made.id, c) for c in (f"cus-{i}" for i in range(200))}
    again = {c: await assign(use_cases, people, made.id, c) for c in first}

    assert first == again == {c: made.variant_for(c).id for c in first}
    assert 110 < Counter(first.values())["cheaper"] < 190  # weight 3 of 4
    assert use_cases.uow.published_types().count("experiment.assigned") == 200


async def test_results_count_exposure_conversion_and_revenue_per_variant(use_cases: UseCases, people: FakePeople):
    made = await experiment(use_cases)
    customers = [f"cus-{i}" for i in range(40)]
    variant_of = {c: await assign(use_cases, people, made.id, c) for c in customers}
    payers = [c for c in customers if variant_of[c] == "cheaper"][:6] + [
        c for c in customers if variant_of[c] == "control"
    ][:1]
    for customer in payers:
        await pay(use_cases, customer, 799 if variant_of[customer] == "cheaper" else 999)
    await pay(use_cases, payers[0], -300)
    await pay(use_cases, payers[1], 799, currency="EUR")
    await pay(use_cases, "never-exposed", 999)

    _, figures = await use_cases.run(lambda uow: experiments.experiment_results(uow, TENANT, made.id))

    control, cheaper = figures
    exposed = Counter(variant_of.values())
    assert (control.counts.exposed, control.counts.converted, control.counts.revenue_minor) == (
        exposed["control"],
        1,
        999,
    )
    assert (cheaper.counts.exposed, cheaper.counts.converted) == (exposed["cheaper"], 6)
    assert cheaper.counts.revenue_minor == 6 * 799 - 300
    z, p = two_proportion_z_test(1, exposed["control"], 6, exposed["cheaper"])
    assert (cheaper.z_score, cheaper.p_value) == (z, p) and control.p_value == 1.0


async def test_stop_keeps_assignments_and_ship_gives_everyone_the_winner(use_cases: UseCases, people: FakePeople):
    made = await experiment(use_cases)
    before = await assign(use_cases, people, made.id, "ana")
    await use_cases.run(lambda uow: experiments.end(uow, TENANT, made.id, ""))

    assert await assign(use_cases, people, made.id, "ana") == before
    with pytest.raises(ExperimentEnded):
        await assign(use_cases, people, made.id, "newcomer")

    shipped = await use_cases.run(lambda uow: experiments.end(uow, TENANT, made.id, "cheaper"))
    assert shipped.state is ExperimentState.SHIPPED
    assert {await assign(use_cases, people, made.id, c) for c in ("ana", "newcomer", "bob")} == {"cheaper"}
    with pytest.raises(ExperimentEnded):
        await use_cases.run(lambda uow: experiments.end(uow, TENANT, made.id, "control"))


async def test_bad_experiments_name_their_field(use_cases: UseCases, people: FakePeople):
    cases = {
        "experiment.variants": (PRICE_A,),
        "experiment.variants[1].weight": (PRICE_A, Variant("b", 0, VariantKind.TRIAL_LENGTH, trial_days=7)),
        "experiment.variants[1].promotion_id": (PRICE_A, Variant("b", 1, VariantKind.OFFER)),
    }
    for field, variants in cases.items():
        with pytest.raises(InvalidArgument) as refused:
            await experiment(use_cases, *variants)
        assert refused.value.violations[0].field == field
    with pytest.raises(NotFound):
        await experiment(use_cases, PRICE_A, Variant("b", 1, VariantKind.OFFER, promotion_id="nope"))
    made = await experiment(use_cases)
    people.unknown.add("ghost")
    with pytest.raises(NotFound):
        await assign(use_cases, people, made.id, "ghost")
    with pytest.raises(InvalidArgument):
        await use_cases.run(lambda uow: experiments.end(uow, TENANT, made.id, "no-such-variant"))
