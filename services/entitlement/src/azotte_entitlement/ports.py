"""What the entitlement use cases need: repositories, the catalog's plan features, and the unit of work.

PostgreSQL implements them in `adapters/`, the unit tests with fakes; the composition root injects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, StoredSubscription
from azotte_entitlement.domain.drift import Correction
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantSource
from azotte_entitlement.domain.groups import Group, GroupInvite, GroupMember
from azotte_entitlement.domain.projection import CustomerRef, CustomerState
from azotte_entitlement.domain.suspension import Suspension
from azotte_platform.ports import AbstractUnitOfWork


class GrantRepository(Protocol):
    """Grants and the remembered reasons why features are denied; every query is scoped by tenant."""

    async def get(self, tenant_id: str, grant_id: str) -> Grant | None: ...

    async def from_sources(self, tenant_id: str, sources: Sequence[tuple[GrantSource, str]]) -> list[Grant]:
        """Grants given by any of the (source, source_ref) pairs."""
        ...

    async def of_tenant(self, tenant_id: str) -> list[Grant]: ...

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Grant]:
        """Every grant of one customer, from every source."""
        ...

    async def tenants(self) -> list[str]:
        """Tenants holding any grant."""
        ...

    async def remember_denials(
        self, tenant_id: str, features: Sequence[tuple[str, str]], why_not: AccessReason
    ) -> None:
        """Remember why these (customer, feature) pairs are denied."""
        ...

    async def apply(self, corrections: Iterable[Correction]) -> None:
        """Write grant changes computed by the domain; a granted feature forgets why it was denied."""
        ...


class SubscriptionRepository(Protocol):
    """The latest lifecycle snapshot of every subscription."""

    async def get_for_update(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        """The stored snapshot, locked so events of one subscription apply one at a time."""
        ...

    async def put(self, stored: StoredSubscription) -> None: ...

    async def get(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        """The stored snapshot, unlocked (for reads)."""
        ...

    async def of_tenant(self, tenant_id: str) -> list[StoredSubscription]: ...

    async def tenants(self) -> list[str]:
        """Tenants with any subscription."""
        ...


class GroupRepository(Protocol):
    """Groups with their members and invites; a group read with `lock` serializes seat claims."""

    async def ensure(self, tenant_id: str, group_id: str, owner_customer_id: str, subscription_id: str) -> None:
        """Create the group of a subscription if it does not exist yet."""
        ...

    async def get(self, tenant_id: str, group_id: str, *, lock: bool = False) -> Group | None:
        """The group with its members; with `lock`, nobody else changes it until the transaction ends."""
        ...

    async def of_tenant(self, tenant_id: str) -> list[Group]: ...

    async def of_owner(self, tenant_id: str, owner_customer_id: str) -> list[Group]:
        """The groups a customer owns, with their members, by group id."""
        ...

    async def add_member(self, group: Group, member: GroupMember) -> None: ...

    async def remove_member(self, group: Group, customer_id: str) -> None: ...

    async def add_invite(self, group: Group, invite: GroupInvite) -> None: ...

    async def group_of_invite(self, tenant_id: str, code: str) -> str | None: ...

    async def load_invites(self, group: Group) -> None:
        """Fill the group's invites (only the invite flows need them)."""
        ...

    async def mark_invite_accepted(self, group: Group, code: str, customer_id: str) -> None: ...

    async def delete_invite(self, group: Group, code: str) -> None: ...


class AccessRepository(Protocol):
    """Suspensions and usage of customers, and the stored state behind the access projection."""

    async def suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> Suspension | None: ...

    async def put_suspension(self, tenant_id: str, customer_id: str, suspension: Suspension) -> None: ...

    async def delete_suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> None: ...

    async def record_usage(
        self,
        tenant_id: str,
        customer_id: str,
        feature_key: str,
        used: int,
        period_start: datetime,
        period_end: datetime | None,
    ) -> bool:
        """Keep the newest period's usage; within a period the highest total, with the end reported with it.
        Whether the report changed it."""
        ...

    async def load(self, customers: Collection[CustomerRef] | None = None) -> dict[CustomerRef, CustomerState]:
        """Stored access state of the given customers (every customer when None)."""
        ...

    async def handled_events(self, consumer: str, event_ids: Collection[str]) -> set[str]:
        """Which of these incoming events `consumer` has committed as handled (its inbox)."""
        ...


class PlanCatalog(Protocol):
    """The catalog service: which features a plan grants."""

    async def features(self, plan_id: str, *, fresh: bool = False) -> tuple[PlanFeature, ...]:
        """The features of plan `plan_id` of the tenant in the request context; `fresh` asks the catalog itself
        rather than a copy kept for a while."""
        ...

    async def feature_kind(self, feature_key: str) -> FeatureKind:
        """How grants of a feature of the tenant in the request context combine."""
        ...


class EntitlementUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction of the entitlement service; projection changes wait for its commit."""

    @property
    def grants(self) -> GrantRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def groups(self) -> GroupRepository: ...

    @property
    def access(self) -> AccessRepository: ...

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        """Take the tenant's grant-derivation lock until the transaction ends.

        NOTE: lifecycle events and group changes share it; drift reconciliation takes it exclusively,
        so it never corrects against a half-applied change.
        """
        ...
