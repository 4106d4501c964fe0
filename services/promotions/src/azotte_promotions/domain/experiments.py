"""A/B experiments: 2 to 4 weighted variants (an offer, a price point, a trial length), a sticky deterministic
assignment per customer, and results per variant with a two-proportion z-test against the control."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_platform.errors import InvalidArgument

MIN_VARIANTS, MAX_VARIANTS = 2, 4
MAX_WEIGHT = 10_000
SIGNIFICANCE = 0.05


class VariantKind(StrEnum):
    OFFER = "offer"
    PRICE_POINT = "price_point"
    TRIAL_LENGTH = "trial_length"


class ExperimentState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    weight: int
    kind: VariantKind
    promotion_id: str = ""
    price_minor: int = 0
    trial_days: int = 0

    def check(self, field: str) -> None:
        if not self.id:
            raise InvalidArgument.field(f"{field}.id", "is required")
        if not 1 <= self.weight <= MAX_WEIGHT:
            raise InvalidArgument.field(f"{field}.weight", f"must be between 1 and {MAX_WEIGHT}")
        if self.kind is VariantKind.OFFER and not self.promotion_id:
            raise InvalidArgument.field(f"{field}.promotion_id", "an offer names its promotion")
        if self.kind is VariantKind.PRICE_POINT and self.price_minor <= 0:
            raise InvalidArgument.field(f"{field}.price.amount_minor", "a price point is positive")
        if self.kind is VariantKind.TRIAL_LENGTH and not 0 <= self.trial_days <= 366:
            raise InvalidArgument.field(f"{field}.trial_days", "must be between 0 and 366")


def bucket(experiment_id: str, customer_id: str, total_weight: int) -> int:
    """Where the customer falls in [0, total_weight): a hash of the experiment and customer ids, so the same
    customer always lands in the same place, independently across experiments."""
    digest = hashlib.sha256(f"{experiment_id}\0{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_weight


@dataclass(slots=True)
class Experiment:
    tenant_id: str
    id: str
    display_name: str
    variants: tuple[Variant, ...]
    currency_code: str
    created_at: datetime
    state: ExperimentState = ExperimentState.RUNNING
    shipped_variant_id: str = ""
    updated_at: datetime | None = None

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field (under `experiment.`) that does not make sense."""
        if not self.display_name.strip():
            raise InvalidArgument.field("experiment.display_name", "is required")
        if not MIN_VARIANTS <= len(self.variants) <= MAX_VARIANTS:
            raise InvalidArgument.field("experiment.variants", f"needs {MIN_VARIANTS} to {MAX_VARIANTS} variants")
        for index, variant in enumerate(self.variants):
            variant.check(f"experiment.variants[{index}]")
        if len({v.id for v in self.variants}) != len(self.variants):
            raise InvalidArgument.field("experiment.variants", "variant ids must be unique")
        if len(self.currency_code) != 3 or not self.currency_code.isalpha() or not self.currency_code.isupper():
            raise InvalidArgument.field("experiment.currency_code", "must be an ISO 4217 code")

    def variant(self, variant_id: str) -> Variant:
        found = next((v for v in self.variants if v.id == variant_id), None)
        if found is None:
            raise InvalidArgument.field("ship_variant_id", f"is not a variant of experiment {self.id!r}")
        return found

    def variant_for(self, customer_id: str) -> Variant:
        """The shipped variant, else the one the customer's bucket falls in (by weight, in order)."""
        if self.state is ExperimentState.SHIPPED:
            return self.variant(self.shipped_variant_id)
        point = bucket(self.id, customer_id, sum(v.weight for v in self.variants))
        for variant in self.variants:
            if point < variant.weight:
                return variant
            point -= variant.weight
        raise AssertionError("the bucket is below the total weight")


@dataclass(frozen=True, slots=True)
class Assignment:
    tenant_id: str
    experiment_id: str
    customer_id: str
    variant_id: str
    assigned_at: datetime


@dataclass(frozen=True, slots=True)
class VariantCounts:
    exposed: int = 0
    converted: int = 0
    revenue_minor: int = 0


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def two_proportion_z_test(converted_a: int, exposed_a: int, converted_b: int, exposed_b: int) -> tuple[float, float]:
    """(z, two-sided p) of B's conversion against A's, with the pooled proportion; (0, 1) when undefined."""
    if exposed_a == 0 or exposed_b == 0:
        return 0.0, 1.0
    pooled = (converted_a + converted_b) / (exposed_a + exposed_b)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / exposed_a + 1 / exposed_b))
    if standard_error == 0:
        return 0.0, 1.0
    z = (converted_b / exposed_b - converted_a / exposed_a) / standard_error
    return z, 2 * (1 - normal_cdf(abs(z)))


@dataclass(frozen=True, slots=True)
class VariantResult:
    variant_id: str
    counts: VariantCounts
    z_score: float = 0.0
    p_value: float = 1.0

    @property
    def conversion_rate(self) -> float:
        return self.counts.converted / self.counts.exposed if self.counts.exposed else 0.0

    @property
    def revenue_per_customer_minor(self) -> int:
        # NOTE: rounded half up to the minor unit.
        exposed = self.counts.exposed
        return (2 * self.counts.revenue_minor + exposed) // (2 * exposed) if exposed else 0

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def results(experiment: Experiment, counts: dict[str, VariantCounts]) -> list[VariantResult]:
    """Each variant's figures, in the experiment's order; every variant but the control tested against it."""
    control = counts.get(experiment.variants[0].id, VariantCounts())
    answer = [VariantResult(experiment.variants[0].id, control)]
    for variant in experiment.variants[1:]:
        mine = counts.get(variant.id, VariantCounts())
        z, p = two_proportion_z_test(control.converted, control.exposed, mine.converted, mine.exposed)
        answer.append(VariantResult(variant.id, mine, z, p))
    return answer
