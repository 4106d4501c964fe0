"""Use cases on a tenant's lifecycle policy."""

from __future__ import annotations

from collections.abc import Callable

from azotte_lifecycle.domain.policy import TenantLifecyclePolicy
from azotte_lifecycle.ports import LifecycleUnitOfWork


async def get_policy(uow: LifecycleUnitOfWork, tenant_id: str) -> TenantLifecyclePolicy:
    """The tenant's policy (the default until the tenant sets one)."""
    return await uow.policies.get(tenant_id)


async def update_policy(
    uow: LifecycleUnitOfWork, tenant_id: str, update: Callable[[TenantLifecyclePolicy], TenantLifecyclePolicy]
) -> TenantLifecyclePolicy:
    """Store `update(current policy)` as the tenant's policy."""
    policy = update(await uow.policies.get(tenant_id))
    await uow.policies.put(tenant_id, policy, uow.clock.now())
    return policy
