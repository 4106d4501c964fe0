"""The tenant's dispute access policy: read it, set it (for disputes opened from then on)."""

from __future__ import annotations

from azotte_payments.domain.dispute_policy import DisputeAccess, DisputePolicy
from azotte_payments.ports import PaymentsUnitOfWork


async def get_dispute_policy(uow: PaymentsUnitOfWork, tenant_id: str) -> DisputePolicy:
    """The tenant's policy (keep access when it never set one)."""
    return await uow.disputes(tenant_id).policy()


async def update_dispute_policy(
    uow: PaymentsUnitOfWork, tenant_id: str, on_dispute_opened: DisputeAccess
) -> DisputePolicy:
    """Replace the policy; a dispute already open keeps what it did to access."""
    policy = DisputePolicy(on_dispute_opened, uow.clock.now())
    await uow.disputes(tenant_id).set_policy(policy)
    return policy
