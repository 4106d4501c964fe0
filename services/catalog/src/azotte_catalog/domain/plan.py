"""Plans (bundles): what a subscriber buys, its billing interval, trial, granted features and rank."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from azotte_catalog.errors import PlanFamilyMismatch, PlanStatusTransitionNotAllowed

from .feature import Feature, FeatureKind
from .texts import Texts, validate_texts
from .validation import Violations, check_name, check_slug, join

MAX_TRIAL_DAYS = 366


class IntervalUnit(StrEnum):
    """Calendar unit of a billing interval."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class BillingInterval:
    """A billing period: `count` times `unit` (e.g. 3 months)."""

    unit: IntervalUnit
    count: int = 1


class PlanStatus(StrEnum):
    """Whether a plan can be sold."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class PlanChange(StrEnum):
    """How moving between two plans of a family is classified."""

    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    LATERAL = "lateral"


@dataclass(frozen=True)
class FeatureGrant:
    """A feature a plan grants; `limit` is the quota amount or seat count (None for boolean features)."""

    feature_key: str
    limit: int | None = None


@dataclass(frozen=True)
class Plan:
    """A sellable bundle; `rank` orders the plans of `family` from lowest to highest tier."""

    id: str
    name: str
    family: str
    rank: int
    interval: BillingInterval
    trial_days: int = 0
    grants: tuple[FeatureGrant, ...] = ()
    is_add_on: bool = False
    add_on_ids: tuple[str, ...] = ()
    status: PlanStatus = PlanStatus.DRAFT
    texts: Texts = ()
    """Display name, description, bullets and disclosure per locale; `name` is in the catalog's default locale."""

    @property
    def sellable(self) -> bool:
        """Whether new customers may subscribe."""
        return self.status is PlanStatus.ACTIVE

    @property
    def renewable(self) -> bool:
        """Whether existing subscriptions keep renewing."""
        # NOTE: retiring stops new sales only; existing subscribers keep renewing on a retired plan.
        return self.status in (PlanStatus.ACTIVE, PlanStatus.RETIRED)

    def activate(self) -> Plan:
        """Open a draft plan for sale."""
        return self.transition_to(PlanStatus.ACTIVE)

    def retire(self) -> Plan:
        """Stop selling an active plan; its subscribers keep renewing."""
        return self.transition_to(PlanStatus.RETIRED)

    def transition_to(self, status: PlanStatus) -> Plan:
        """This plan in `status`, if the move is allowed (draft → active → retired)."""
        if status is self.status:
            return self
        if (self.status, status) not in _ALLOWED_TRANSITIONS:
            raise PlanStatusTransitionNotAllowed(f"plan {self.id!r} is {self.status}; it cannot become {status}")
        return replace(self, status=status)


_ALLOWED_TRANSITIONS = frozenset({(PlanStatus.DRAFT, PlanStatus.ACTIVE), (PlanStatus.ACTIVE, PlanStatus.RETIRED)})


def can_transition(current: PlanStatus, target: PlanStatus) -> bool:
    """Whether a plan may move from `current` to `target` (staying put is allowed)."""
    return current is target or (current, target) in _ALLOWED_TRANSITIONS


def compare_plans(current: Plan, target: Plan) -> PlanChange:
    """Classify a move from `current` to `target` by rank within their family."""
    # NOTE: upgrade vs downgrade is the explicit rank, never price per day: a cheaper annual
    # plan of a higher tier is still an upgrade, and a same-rank interval switch is lateral.
    if current.family != target.family:
        raise PlanFamilyMismatch(
            f"plan {current.id!r} (family {current.family!r}) and plan {target.id!r} "
            f"(family {target.family!r}) are in different families"
        )
    if target.rank > current.rank:
        return PlanChange.UPGRADE
    if target.rank < current.rank:
        return PlanChange.DOWNGRADE
    return PlanChange.LATERAL


def validate_plan(plan: Plan, path: str = "plan") -> Violations:
    """Every field violation of a plan on its own (references are checked by `validate_plan_refs`)."""
    v = Violations()
    check_slug(v, join(path, "id"), plan.id)
    check_name(v, join(path, "name"), plan.name)
    check_slug(v, join(path, "family"), plan.family)
    if plan.rank < 0:
        v.add(join(path, "rank"), "must be >= 0")
    if plan.interval.count < 1:
        v.add(join(join(path, "interval"), "count"), "must be >= 1")
    if not 0 <= plan.trial_days <= MAX_TRIAL_DAYS:
        v.add(join(path, "trial_days"), f"must be between 0 and {MAX_TRIAL_DAYS}")
    keys = [grant.feature_key for grant in plan.grants]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            v.add(join(join(join(path, "features"), i), "key"), f"feature {key!r} is granted twice")
    if plan.is_add_on and plan.add_on_ids:
        v.add(join(path, "add_ons"), "an add-on plan cannot have add-ons of its own")
    for i, add_on_id in enumerate(plan.add_on_ids):
        if add_on_id == plan.id:
            v.add(join(join(path, "add_ons"), i), "a plan cannot be its own add-on")
    validate_texts(v, join(path, "texts"), plan.texts, full=True)
    return v


def validate_plan_refs(
    plan: Plan, features: Mapping[str, Feature], plans: Mapping[str, Plan], path: str = "plan"
) -> Violations:
    """Violations of a plan's references to features and add-on plans."""
    v = Violations()
    for i, grant in enumerate(plan.grants):
        grant_path = join(join(path, "features"), i)
        feature = features.get(grant.feature_key)
        if feature is None:
            v.add(join(grant_path, "key"), f"unknown feature {grant.feature_key!r}")
            continue
        _check_limit(v, join(grant_path, "limit"), feature, grant.limit)
    for i, add_on_id in enumerate(plan.add_on_ids):
        add_on = plans.get(add_on_id)
        if add_on is None:
            v.add(join(join(path, "add_ons"), i), f"unknown plan {add_on_id!r}")
        elif not add_on.is_add_on:
            v.add(join(join(path, "add_ons"), i), f"plan {add_on_id!r} is not marked as an add-on")
    return v


def _check_limit(v: Violations, path: str, feature: Feature, limit: int | None) -> None:
    if feature.kind is FeatureKind.BOOLEAN:
        if limit is not None:
            v.add(path, f"feature {feature.key!r} is boolean and takes no limit")
    elif limit is None:
        v.add(path, f"required for {feature.kind} feature {feature.key!r}")
    elif feature.kind is FeatureKind.QUOTA and limit < 0:
        v.add(path, "a quota amount must be >= 0")
    elif feature.kind is FeatureKind.SEATS and limit < 1:
        v.add(path, "a seat count must be >= 1")
