"""Use cases on a tenant's lifecycle policy: read it, update it (a new version each time), list its versions.

NOTE: due work reads the policy when it computes a due time (a retry, a grace or hold end, a trial end),
so an update applies to work computed from then on; times already computed keep their value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from azotte_lifecycle.domain.policy import PolicyOverride, PolicyVersion, TenantLifecyclePolicy
from azotte_lifecycle.errors import PolicyVersionMismatch
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork
from azotte_platform import context
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering, page_in_order
from azotte_platform.paging import Page, PageRequest


async def get_policy(uow: LifecycleUnitOfWork, tenant_id: str) -> PolicyVersion:
    """The tenant's current policy version (version 0, the default, until the tenant sets one)."""
    return await uow.policies.current(tenant_id)


async def update_policy(
    uow: LifecycleUnitOfWork,
    tenant_id: str,
    update: Callable[[TenantLifecyclePolicy], TenantLifecyclePolicy],
    *,
    expected_version: int | None = None,
) -> PolicyVersion:
    """Store `update(current policy)` as the tenant's next policy version, by the calling principal.

    Based on another version than `expected_version` (when given), or raced by a concurrent update,
    it is `PolicyVersionMismatch` and nothing is stored.
    """
    current = await uow.policies.current(tenant_id)
    if expected_version is not None and expected_version != current.version:
        raise PolicyVersionMismatch(
            f"the policy is at version {current.version}, not {expected_version}: read it again and retry"
        )
    policy = update(current.policy)
    violations = policy.update_violations()
    if violations:
        raise InvalidArgument("invalid lifecycle policy", violations)
    actor = context.current().principal or "system"
    stored = PolicyVersion(current.version + 1, policy, uow.clock.now(), actor)
    if not await uow.policies.add_version(tenant_id, stored):
        raise PolicyVersionMismatch(f"the policy changed concurrently from version {current.version}: retry")
    return stored


async def set_plan_override(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    plan_id: str,
    override: Callable[[PolicyOverride], PolicyOverride],
    *,
    expected_version: int | None = None,
) -> PolicyVersion:
    """Store a new version whose override of `plan_id` is `override(its current override)`."""
    await catalog.plan(plan_id)
    return await update_policy(
        uow,
        tenant_id,
        lambda current: current.with_plan_override(
            plan_id, override(current.plan_overrides.get(plan_id, PolicyOverride()))
        ),
        expected_version=expected_version,
    )


@dataclass(frozen=True)
class VersionQuery:
    """Which stored versions to list (AIP-160 `filter`) and in which order (AIP-132 `order_by`)."""

    filter: Filter
    ordering: Ordering

    @classmethod
    def parse(cls, filter_text: str, order_by: str) -> VersionQuery:
        """The query a ListLifecyclePolicyVersions request asks for; its errors name `filter` or `order_by`."""
        parsed = Filter.parse(filter_text, VERSION_FILTER)
        for condition in parsed.conditions:
            if condition.field == "update_time":
                _time_bound(condition.value)
        return cls(parsed, Ordering.parse(order_by, ["version"], "version desc"))

    @property
    def key(self) -> tuple[object, ...]:
        """What a page token is bound to."""
        return ("policy_versions", self.filter.canonical(), self.ordering.text)

    def keeps(self, version: PolicyVersion, previous: TenantLifecyclePolicy) -> bool:
        """Whether the filter keeps `version`, stored after `previous`."""
        for condition in self.filter.conditions:
            if condition.field == "plan_id":
                if not _changed(previous, version.policy, condition.value):
                    return False
            elif version.created_at is None or not _COMPARE[condition.op](
                version.created_at, _time_bound(condition.value)
            ):
                return False
        return True


VERSION_FILTER = {"plan_id": EQUALITY, "update_time": COMPARISONS}
_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_VERSION = {"version": lambda version: f"{version.version:020d}"}


def _time_bound(value: str) -> datetime:
    try:
        bound = datetime.fromisoformat(value)
    except ValueError:
        bound = None
    if bound is None or bound.tzinfo is None:
        raise InvalidArgument.field("filter", "update_time is compared with an RFC 3339 time with its offset")
    return bound


def _changed(previous: TenantLifecyclePolicy, current: TenantLifecyclePolicy, plan_id: str) -> bool:
    """Whether `current` changed the plan's override (the tenant's rules for "")."""
    if not plan_id:
        return previous.default != current.default
    return previous.plan_overrides.get(plan_id) != current.plan_overrides.get(plan_id)


async def list_versions(
    uow: LifecycleUnitOfWork, tenant_id: str, query: VersionQuery, page: PageRequest
) -> Page[PolicyVersion]:
    """One page of the stored versions the query keeps, in its order.

    NOTE: a policy has few versions, and whether one changed a plan's rules takes the version before it: they
    are read at once and paged in memory.
    """
    previous = TenantLifecyclePolicy()
    kept: list[PolicyVersion] = []
    for version in reversed(await uow.policies.versions(tenant_id, None, None)):
        if query.keeps(version, previous):
            kept.append(version)
        previous = version.policy
    return page_in_order(kept, query.ordering, _VERSION, _VERSION["version"], page)
