"""In-memory portal ports: users, sessions, failed sign-ins and the tenants they belong to."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from azotte_gateway.domain.portal_users import Passwords, PortalSession, PortalUser
from azotte_gateway.domain.tenants import Tenant
from azotte_gateway.service_layer.portal_users import PortalUsers
from azotte_platform.clock import Clock
from azotte_platform.paging import Page, PageRequest
from azotte_platform.service_kit import Units
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

# NOTE: the lowest Argon2id costs, so use-case tests hash in microseconds; production uses Passwords().
CHEAP_PASSWORDS = Passwords(time_cost=1, memory_cost_kib=8, parallelism=1)


@dataclass
class PortalData:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[tuple[str, str], PortalUser] = field(default_factory=dict)
    sessions: dict[str, PortalSession] = field(default_factory=dict)
    failures: list[tuple[str, str, datetime]] = field(default_factory=list)


class FakeTenants:
    def __init__(self, data: PortalData):
        self._data = data

    async def add(self, tenant: Tenant, create_time: datetime) -> bool:
        return self._data.tenants.setdefault(tenant.id, tenant) is tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        return self._data.tenants.get(tenant_id)

    async def any_exists(self) -> bool:
        return bool(self._data.tenants)

    async def lock_bootstrap(self) -> None:
        return None


class FakePortalUserRepository:
    """Implements `ports.PortalUserRepository` over `PortalData`."""

    def __init__(self, data: PortalData):
        self._data = data

    async def add(self, user: PortalUser) -> bool:
        if any(t == user.tenant_id and u.email == user.email for (t, _), u in self._data.users.items()):
            return False
        self._data.users[(user.tenant_id, user.id)] = copy.deepcopy(user)
        return True

    async def get(self, tenant_id: str, user_id: str, *, for_update: bool = False) -> PortalUser | None:
        return copy.deepcopy(self._data.users.get((tenant_id, user_id)))

    async def by_email(self, tenant_id: str, email: str) -> PortalUser | None:
        found = [u for (t, _), u in self._data.users.items() if t == tenant_id and u.email == email]
        return copy.deepcopy(found[0]) if found else None

    async def list_page(self, tenant_id: str, page: PageRequest) -> Page[PortalUser]:
        mine = [u for (t, _), u in self._data.users.items() if t == tenant_id]
        return page.page_in_memory(mine, lambda u: u.email)

    async def save_disable(self, user: PortalUser) -> None:
        self._data.users[(user.tenant_id, user.id)].disabled_at = user.disabled_at

    async def record_failure(self, tenant_id: str, email: str, at: datetime) -> None:
        self._data.failures.append((tenant_id, email, at))

    async def failures_since(self, tenant_id: str, email: str, since: datetime) -> list[datetime]:
        return [at for t, e, at in self._data.failures if t == tenant_id and e == email and at >= since]


class FakePortalSessionRepository:
    """Implements `ports.PortalSessionRepository` over `PortalData`."""

    def __init__(self, data: PortalData):
        self._data = data

    async def add(self, session: PortalSession) -> None:
        self._data.sessions[session.token_hash] = copy.deepcopy(session)

    async def get(self, token_hash: str) -> PortalSession | None:
        return copy.deepcopy(self._data.sessions.get(token_hash))

    async def touch(self, token_hash: str, at: datetime) -> None:
        self._data.sessions[token_hash].last_seen_at = at

    async def delete(self, token_hash: str) -> None:
        self._data.sessions.pop(token_hash, None)

    async def delete_of_user(self, tenant_id: str, user_id: str) -> None:
        for key, session in list(self._data.sessions.items()):
            if session.tenant_id == tenant_id and session.user_id == user_id:
                del self._data.sessions[key]


class FakePortalUnitOfWork(FakeUnitOfWork):
    """Implements `ports.PortalUnitOfWork`: each `async with` works on a copy that `commit()` keeps."""

    def __init__(self, clock: Clock, data: PortalData, idempotency: InMemoryIdempotency):
        super().__init__(clock, idempotency)
        self._kept = data
        self._working = PortalData()

    @property
    def tenants(self) -> FakeTenants:
        return FakeTenants(self._working)

    @property
    def portal_users(self) -> FakePortalUserRepository:
        return FakePortalUserRepository(self._working)

    @property
    def portal_sessions(self) -> FakePortalSessionRepository:
        return FakePortalSessionRepository(self._working)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._working = copy.deepcopy(self._kept)
        return self

    async def commit(self) -> None:
        await super().commit()
        self._kept.users, self._kept.sessions = self._working.users, self._working.sessions
        self._kept.failures = self._working.failures
        self._working = copy.deepcopy(self._kept)


class PortalWorld:
    """Portal users over memory, for the tenants given."""

    def __init__(self, clock: Clock, *tenants: Tenant):
        self.clock = clock
        self.data = PortalData(tenants={t.id: t for t in tenants})
        self.idempotency = InMemoryIdempotency()

    def uow(self) -> FakePortalUnitOfWork:
        return FakePortalUnitOfWork(self.clock, self.data, self.idempotency)

    def area(self) -> PortalUsers:
        return PortalUsers(Units(self.uow), self.clock, CHEAP_PASSWORDS)
