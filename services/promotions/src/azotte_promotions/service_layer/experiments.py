"""A/B experiments: create, assign a customer's sticky variant (recording the exposure once), count what the
assigned customers paid (payments' events), answer the results with their significance, stop or ship."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_promotions.domain.events import ExperimentAssigned
from azotte_promotions.domain.experiments import (
    Assignment,
    Experiment,
    ExperimentState,
    Variant,
    VariantKind,
    VariantResult,
    results,
)
from azotte_promotions.errors import ExperimentEnded, ExperimentNotFound
from azotte_promotions.ports import People, PromotionsUnitOfWork
from azotte_promotions.service_layer.promotions import load


@dataclass(frozen=True, slots=True)
class Payment:
    """What a customer paid (net; negative for a refund), from payments' events."""

    customer_id: str
    currency_code: str
    net_minor: int


async def create_experiment(uow: PromotionsUnitOfWork, tenant: str, experiment: Experiment) -> Experiment:
    """A running experiment; the promotions its offers name must exist."""
    experiment.check()
    for variant in experiment.variants:
        if variant.kind is VariantKind.OFFER:
            await load(uow, tenant, variant.promotion_id)
    experiment.id = experiment.id or f"exp_{secrets.token_hex(8)}"
    experiment.created_at = experiment.updated_at = uow.clock.now()
    await uow.experiments.add(experiment)
    return experiment


async def get_experiment(
    uow: PromotionsUnitOfWork, tenant: str, experiment_id: str, *, for_update: bool = False
) -> Experiment:
    if not experiment_id:
        raise InvalidArgument.field("experiment_id", "is required")
    experiment = await uow.experiments.get(tenant, experiment_id, for_update=for_update)
    if experiment is None:
        raise ExperimentNotFound(f"experiment {experiment_id!r} not found")
    return experiment


async def list_experiments(uow: PromotionsUnitOfWork, tenant: str, paging: PageRequest) -> Page[Experiment]:
    rows = await uow.experiments.find(tenant, paging.limit, paging.after_key())
    return paging.page(rows, lambda e: [e.created_at.isoformat(), e.id])


async def assign(
    uow: PromotionsUnitOfWork, people: People, tenant: str, experiment_id: str, customer_id: str
) -> tuple[Variant, Assignment | None]:
    """The customer's variant, and its assignment: the first one is recorded and published once; a shipped
    experiment answers its variant to everyone, a stopped one only to customers assigned before."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    experiment = await get_experiment(uow, tenant, experiment_id)
    if experiment.state is ExperimentState.SHIPPED:
        return experiment.variant(experiment.shipped_variant_id), None
    earlier = await uow.experiments.assignment(tenant, experiment_id, customer_id)
    if earlier is not None:
        return experiment.variant(earlier.variant_id), earlier
    if experiment.state is not ExperimentState.RUNNING:
        raise ExperimentEnded(
            f"experiment {experiment_id!r} is {experiment.state.value}", metadata={"state": "stopped"}
        )
    await people.markers(customer_id)  # NOTE: an unknown customer (or another tenant's) is NOT_FOUND.
    variant = experiment.variant_for(customer_id)
    assignment = Assignment(tenant, experiment_id, customer_id, variant.id, uow.clock.now())
    if not await uow.experiments.assign(assignment):
        # NOTE: a concurrent first exposure won; the variant is the same (deterministic), its record is kept.
        kept = await uow.experiments.assignment(tenant, experiment_id, customer_id)
        return variant, kept
    uow.emit(tenant, ExperimentAssigned(assignment, variant, experiment.currency_code))
    return variant, assignment


async def record_payment(uow: PromotionsUnitOfWork, tenant: str, payment: Payment) -> None:
    """Count a payment (or refund) of an assigned customer toward their running experiments of its currency."""
    if payment.customer_id and payment.net_minor:
        await uow.experiments.record_payment(tenant, payment.customer_id, payment.currency_code, payment.net_minor)


async def experiment_results(
    uow: PromotionsUnitOfWork, tenant: str, experiment_id: str
) -> tuple[Experiment, list[VariantResult]]:
    experiment = await get_experiment(uow, tenant, experiment_id)
    return experiment, results(experiment, await uow.experiments.counts(tenant, experiment_id))


async def end(uow: PromotionsUnitOfWork, tenant: str, experiment_id: str, ship_variant_id: str) -> Experiment:
    """Stop the experiment, or ship one of its variants to every customer."""
    experiment = await get_experiment(uow, tenant, experiment_id, for_update=True)
    if experiment.state is ExperimentState.SHIPPED:
        raise ExperimentEnded(f"experiment {experiment_id!r} shipped already", metadata={"state": "shipped"})
    if ship_variant_id:
        experiment.variant(ship_variant_id)
        experiment.state, experiment.shipped_variant_id = ExperimentState.SHIPPED, ship_variant_id
    else:
        experiment.state = ExperimentState.STOPPED
    experiment.updated_at = uow.clock.now()
    await uow.experiments.save(experiment)
    return experiment
