"""In-memory fakes of the entitlement ports: use cases run against them in milliseconds, without PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

from azotte_entitlement.adapters import proto
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, StoredSubscription
from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantSource
from azotte_entitlement.domain.groups import Group, GroupInvite, GroupMember
from azotte_entitlement.domain.projection import CustomerRef, CustomerState, Usage
from azotte_entitlement.domain.suspension import Suspension
from azotte_entitlement.service_layer.consistency import ConsistencyGate
from azotte_platform.clock import Clock
from azotte_platform.context import require_tenant
from azotte_platform.errors import NotFound
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

Feature = tuple[str, str, str]  # tenant, customer, feature


class FakeGrantRepository:
    """Grants by (tenant, grant id), and remembered denial reasons."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Grant] = {}
        self.denials: dict[Feature, AccessReason] = {}

    async def get(self, tenant_id: str, grant_id: str) -> Grant | None:
        return self.rows.get((tenant_id, grant_id))

    async def from_sources(self, tenant_id: str, sources: Sequence[tuple[GrantSource, str]]) -> list[Grant]:
        wanted = set(sources)
        return [g for g in await self.of_tenant(tenant_id) if (g.key.source, g.key.source_ref) in wanted]

    async def of_tenant(self, tenant_id: str) -> list[Grant]:
        return [grant for (tenant, _), grant in self.rows.items() if tenant == tenant_id]

    async def of_customer(self, tenant_id: str, customer_id: str) -> list[Grant]:
        return [grant for grant in await self.of_tenant(tenant_id) if grant.key.customer_id == customer_id]

    async def tenants(self) -> list[str]:
        return sorted({tenant for tenant, _ in self.rows})

    async def remember_denials(
        self, tenant_id: str, features: Sequence[tuple[str, str]], why_not: AccessReason
    ) -> None:
        for customer_id, feature_key in features:
            self.denials[(tenant_id, customer_id, feature_key)] = why_not

    async def apply(self, corrections: Iterable[Correction]) -> None:
        for correction in corrections:
            key = correction.grant.key
            feature = (key.tenant_id, key.customer_id, key.feature_key)
            if correction.kind is CorrectionKind.REVOKE:
                self.rows.pop((key.tenant_id, key.grant_id), None)
                if correction.why_not is not None:
                    self.denials[feature] = correction.why_not
            else:
                self.rows[(key.tenant_id, key.grant_id)] = correction.grant
                self.denials.pop(feature, None)


class FakeSubscriptionRepository:
    """Subscription snapshots by (tenant, subscription id)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredSubscription] = {}

    async def get_for_update(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        return self.rows.get((tenant_id, subscription_id))

    async def get(self, tenant_id: str, subscription_id: str) -> StoredSubscription | None:
        return self.rows.get((tenant_id, subscription_id))

    async def put(self, stored: StoredSubscription) -> None:
        self.rows[(stored.snapshot.tenant_id, stored.snapshot.subscription_id)] = stored

    async def of_tenant(self, tenant_id: str) -> list[StoredSubscription]:
        return [stored for (tenant, _), stored in self.rows.items() if tenant == tenant_id]

    async def tenants(self) -> list[str]:
        return sorted({tenant for tenant, _ in self.rows})


class FakeGroupRepository:
    """Groups, members and invites stored apart, so a use case only changes what it writes back."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], tuple[str, str]] = {}  # -> owner, subscription
        self.members: dict[tuple[str, str], dict[str, GroupMember]] = {}
        self.invites: dict[tuple[str, str], tuple[str, GroupInvite]] = {}  # (tenant, code) -> group, invite

    async def ensure(self, tenant_id: str, group_id: str, owner_customer_id: str, subscription_id: str) -> None:
        self.groups.setdefault((tenant_id, group_id), (owner_customer_id, subscription_id))

    async def get(self, tenant_id: str, group_id: str, *, lock: bool = False) -> Group | None:
        row = self.groups.get((tenant_id, group_id))
        if row is None:
            return None
        members = dict(self.members.get((tenant_id, group_id), {}))
        return Group(group_id, tenant_id, row[0], row[1], members)

    async def of_tenant(self, tenant_id: str) -> list[Group]:
        groups = [await self.get(tenant, group_id) for tenant, group_id in self.groups if tenant == tenant_id]
        return [group for group in groups if group is not None]

    async def of_owner(self, tenant_id: str, owner_customer_id: str) -> list[Group]:
        owned = sorted(g for (t, g), (owner, _) in self.groups.items() if t == tenant_id and owner == owner_customer_id)
        return [group for group in [await self.get(tenant_id, g) for g in owned] if group is not None]

    async def add_member(self, group: Group, member: GroupMember) -> None:
        self.members.setdefault((group.tenant_id, group.group_id), {})[member.customer_id] = member

    async def remove_member(self, group: Group, customer_id: str) -> None:
        self.members.get((group.tenant_id, group.group_id), {}).pop(customer_id, None)

    async def add_invite(self, group: Group, invite: GroupInvite) -> None:
        self.invites[(group.tenant_id, invite.code)] = (group.group_id, invite)

    async def group_of_invite(self, tenant_id: str, code: str) -> str | None:
        found = self.invites.get((tenant_id, code))
        return found[0] if found is not None else None

    async def load_invites(self, group: Group) -> None:
        for (tenant, code), (group_id, invite) in self.invites.items():
            if tenant == group.tenant_id and group_id == group.group_id:
                group.invites[code] = invite

    async def mark_invite_accepted(self, group: Group, code: str, customer_id: str) -> None:
        group_id, invite = self.invites[(group.tenant_id, code)]
        self.invites[(group.tenant_id, code)] = (
            group_id,
            GroupInvite(invite.code, invite.created_at, invite.expires_at, customer_id),
        )

    async def delete_invite(self, group: Group, code: str) -> None:
        self.invites.pop((group.tenant_id, code), None)


class FakeAccessRepository:
    """Suspensions and usage; `load` reads them with the grants and denials of `grants`."""

    def __init__(self, grants: FakeGrantRepository) -> None:
        self._grants = grants
        self.suspensions: dict[Feature, Suspension] = {}
        self.usage: dict[Feature, Usage] = {}
        self.handled: set[str] = set()

    async def suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> Suspension | None:
        return self.suspensions.get((tenant_id, customer_id, feature_key))

    async def handled_events(self, consumer: str, event_ids: Collection[str]) -> set[str]:
        return set(event_ids) & self.handled

    async def put_suspension(self, tenant_id: str, customer_id: str, suspension: Suspension) -> None:
        self.suspensions.setdefault((tenant_id, customer_id, suspension.feature_key), suspension)

    async def delete_suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> None:
        self.suspensions.pop((tenant_id, customer_id, feature_key), None)

    async def record_usage(
        self,
        tenant_id: str,
        customer_id: str,
        feature_key: str,
        used: int,
        period_start: datetime,
        period_end: datetime | None,
    ) -> bool:
        current, report = self.usage.get((tenant_id, customer_id, feature_key)), Usage(used, period_start, period_end)
        if current is None or current.replaced_by(report):
            self.usage[(tenant_id, customer_id, feature_key)] = report
            return True
        return False

    async def load(self, customers: Collection[CustomerRef] | None = None) -> dict[CustomerRef, CustomerState]:
        states: dict[CustomerRef, CustomerState] = {ref: CustomerState() for ref in customers or ()}

        def state_of(tenant_id: str, customer_id: str) -> CustomerState | None:
            if customers is not None and (tenant_id, customer_id) not in customers:
                return None
            return states.setdefault((tenant_id, customer_id), CustomerState())

        for grant in self._grants.rows.values():
            if (state := state_of(grant.key.tenant_id, grant.key.customer_id)) is not None:
                state.grants.append(grant)
        for (tenant_id, customer_id, feature_key), reason in self._grants.denials.items():
            if (state := state_of(tenant_id, customer_id)) is not None:
                state.why_not[feature_key] = reason
        for (tenant_id, customer_id, _), suspension in self.suspensions.items():
            if (state := state_of(tenant_id, customer_id)) is not None:
                state.suspensions.append(suspension)
        for (tenant_id, customer_id, feature_key), usage in self.usage.items():
            if (state := state_of(tenant_id, customer_id)) is not None:
                state.usage[feature_key] = usage
        return states


class FakeEntitlementUnitOfWork(FakeUnitOfWork):
    """`ports.EntitlementUnitOfWork` over memory; its repositories outlive each `async with`, like a database."""

    def __init__(self, clock: Clock, idempotency: InMemoryIdempotency | None = None):
        super().__init__(clock, idempotency, proto.outbox_event)
        self.grants = FakeGrantRepository()
        self.subscriptions = FakeSubscriptionRepository()
        self.groups = FakeGroupRepository()
        self.access = FakeAccessRepository(self.grants)
        self.locks: list[tuple[str, bool]] = []

    async def lock_tenant(self, tenant_id: str, *, exclusive: bool = False) -> None:
        self.locks.append((tenant_id, exclusive))


class FakePlanCatalog:
    """Plans and their features; `calls` lists the (tenant, plan) pairs asked for, `fresh` the plans asked for past
    a cache."""

    def __init__(self, plans: Mapping[str, tuple[PlanFeature, ...]]) -> None:
        self.plans = dict(plans)
        self.calls: list[tuple[str, str]] = []
        self.fresh: list[str] = []

    async def features(self, plan_id: str, *, fresh: bool = False) -> tuple[PlanFeature, ...]:
        self.calls.append((require_tenant(), plan_id))
        if fresh:
            self.fresh.append(plan_id)
        if plan_id not in self.plans:
            raise NotFound(f"plan {plan_id} does not exist")
        return self.plans[plan_id]

    async def feature_kind(self, feature_key: str) -> FeatureKind:
        kinds = {f.feature_key: f.kind for features in self.plans.values() for f in features}
        if feature_key not in kinds:
            raise NotFound(f"feature {feature_key} does not exist")
        return kinds[feature_key]


def no_gate() -> ConsistencyGate:
    """A consistency gate that finds no event handled elsewhere and reloads nothing."""

    async def handled(event_ids: frozenset[str]) -> set[str]:
        return set()

    async def reload(customer: CustomerRef) -> bool:
        return True

    return ConsistencyGate(handled, reload, wait_seconds=0.2, poll_seconds=0.05)
