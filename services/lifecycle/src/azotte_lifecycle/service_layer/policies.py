"""Use cases on a tenant's lifecycle policy: read it, update it (a new version each time), list its versions.

NOTE: due work reads the policy when it computes a due time (a retry, a grace or hold end, a trial end),
so an update applies to work computed from then on; times already computed keep their value.
"""

from __future__ import annotations

from collections.abc import Callable

from azotte_lifecycle.domain.policy import PolicyOverride, PolicyVersion, TenantLifecyclePolicy
from azotte_lifecycle.errors import PolicyVersionMismatch
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork
from azotte_lifecycle.service_layer.queries import sequence_after
from azotte_platform import context
from azotte_platform.errors import InvalidArgument
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


async def list_versions(uow: LifecycleUnitOfWork, tenant_id: str, page: PageRequest) -> Page[PolicyVersion]:
    """One page of the stored versions, newest first."""
    rows = await uow.policies.versions(tenant_id, page.limit, sequence_after(page))
    return page.page(rows, lambda version: [version.version])
