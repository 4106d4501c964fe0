"""In-memory webhook ports: the repository and unit of work, a resolver, and a sender that records what it sent."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Self

from azotte_gateway.domain.webhooks import (
    DeliveryAttempt,
    DeliveryResult,
    MessageQuery,
    MessageState,
    WebhookEndpoint,
    WebhookMessage,
)
from azotte_gateway.service_layer.webhooks import Webhooks
from azotte_platform.clock import Clock, TenantTimes
from azotte_platform.events.envelope import Event
from azotte_platform.paging import Page, PageRequest
from azotte_platform.service_kit import Units
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency


@dataclass
class WebhookData:
    endpoints: dict[tuple[str, str], WebhookEndpoint] = field(default_factory=dict)
    messages: dict[tuple[str, str], WebhookMessage] = field(default_factory=dict)
    attempts: list[DeliveryAttempt] = field(default_factory=list)


class FakeWebhookRepository:
    """Implements `ports.WebhookRepository` over `WebhookData`."""

    def __init__(self, data: WebhookData):
        self._data = data

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._data.endpoints[(endpoint.tenant_id, endpoint.id)] = copy.deepcopy(endpoint)

    async def get_endpoint(
        self, tenant_id: str, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        found = self._data.endpoints.get((tenant_id, endpoint_id))
        return copy.deepcopy(found)

    async def list_endpoints(self, tenant_id: str, page: PageRequest) -> Page[WebhookEndpoint]:
        mine = [e for (t, _), e in self._data.endpoints.items() if t == tenant_id]
        return page.page_in_memory(mine, lambda e: f"{e.create_time.isoformat()} {e.id}")

    async def enabled_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        return [copy.deepcopy(e) for (t, _), e in self._data.endpoints.items() if t == tenant_id and e.enabled]

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._data.endpoints[(endpoint.tenant_id, endpoint.id)] = copy.deepcopy(endpoint)

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        if self._data.endpoints.pop((tenant_id, endpoint_id), None) is None:
            return False
        for key, message in list(self._data.messages.items()):
            if key[0] == tenant_id and message.endpoint_id == endpoint_id:
                del self._data.messages[key]
        return True

    async def add_messages(self, messages: Sequence[WebhookMessage]) -> None:
        for message in messages:
            self._data.messages.setdefault((message.tenant_id, message.id), message)

    async def get_message(self, tenant_id: str, message_id: str, *, for_update: bool = False) -> WebhookMessage | None:
        return self._data.messages.get((tenant_id, message_id))

    async def save_message(self, message: WebhookMessage) -> None:
        self._data.messages[(message.tenant_id, message.id)] = message

    async def list_messages(self, tenant_id: str, page: PageRequest, query: MessageQuery) -> Page[WebhookMessage]:
        def wanted(m: WebhookMessage) -> bool:
            checks = (
                (query.endpoint_id, m.endpoint_id),
                (query.event_type, m.event_type),
                (query.event_id, m.event_id),
                (query.state, m.state),
            )
            return m.tenant_id == tenant_id and all(want is None or want == got for want, got in checks)

        mine = sorted((m for m in self._data.messages.values() if wanted(m)), key=lambda m: m.create_time, reverse=True)
        return Page(mine[: page.size], "")

    async def add_attempts(self, attempts: Sequence[DeliveryAttempt]) -> None:
        self._data.attempts.extend(attempts)

    async def list_attempts(self, tenant_id: str, message_id: str, page: PageRequest) -> Page[DeliveryAttempt]:
        mine = [a for a in self._data.attempts if a.tenant_id == tenant_id and a.message_id == message_id]
        return Page(mine[: page.size], "")

    async def claim_due(
        self, times: TenantTimes, limit: int, lease: timedelta
    ) -> list[tuple[WebhookMessage, WebhookEndpoint]]:
        claimed = []
        for key, message in sorted(self._data.messages.items(), key=lambda item: str(item[1].next_attempt_time)):
            endpoint = self._data.endpoints.get((message.tenant_id, message.endpoint_id))
            due = message.next_attempt_time is not None and message.next_attempt_time <= times.of(message.tenant_id)
            if message.state is MessageState.PENDING and due and endpoint is not None and endpoint.enabled:
                leased = replace(message, next_attempt_time=times.of(message.tenant_id) + lease)
                self._data.messages[key] = leased
                claimed.append((leased, copy.deepcopy(endpoint)))
        return claimed[:limit]

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        leads = [
            m.next_attempt_time - times.of(m.tenant_id)
            for m in self._data.messages.values()
            if m.state is MessageState.PENDING and m.next_attempt_time is not None
        ]
        return min(leads, default=None)

    async def fail_pending(self, tenant_id: str, endpoint_id: str) -> None:
        for key, m in list(self._data.messages.items()):
            if key[0] == tenant_id and m.endpoint_id == endpoint_id and m.state is MessageState.PENDING:
                self._data.messages[key] = replace(m, state=MessageState.FAILED, next_attempt_time=None)

    async def replay_range(
        self,
        tenant_id: str,
        endpoint_id: str,
        start: datetime,
        end: datetime,
        *,
        include_delivered: bool,
        now: datetime,
    ) -> int:
        states = {MessageState.FAILED} | (
            {MessageState.DELIVERED, MessageState.PENDING} if include_delivered else set()
        )
        count = 0
        for key, m in list(self._data.messages.items()):
            if (
                key[0] == tenant_id
                and m.endpoint_id == endpoint_id
                and start <= m.create_time < end
                and m.state in states
            ):
                self._data.messages[key] = m.replayed(now)
                count += 1
        return count


class FakeWebhooksUnitOfWork(FakeUnitOfWork):
    """Implements `ports.WebhooksUnitOfWork`: each `async with` works on a copy that `commit()` keeps."""

    def __init__(self, clock: Clock, data: WebhookData, idempotency: InMemoryIdempotency):
        super().__init__(clock, idempotency)
        self._kept = data
        self._working = WebhookData()

    @property
    def webhooks(self) -> FakeWebhookRepository:
        return FakeWebhookRepository(self._working)

    def record(self, *events: Event) -> None:
        self._pending.extend(events)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._working = copy.deepcopy(self._kept)
        return self

    async def commit(self) -> None:
        await super().commit()
        self._kept.endpoints, self._kept.messages = self._working.endpoints, self._working.messages
        self._kept.attempts = self._working.attempts
        self._working = copy.deepcopy(self._kept)


class FakeResolver:
    """Implements `ports.HostResolver`: literal addresses stand for themselves, names as `hosts` says."""

    def __init__(self, hosts: Mapping[str, list[str]] | None = None):
        self.hosts = dict(hosts or {})

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return self.hosts.get(host, [])


@dataclass
class Sent:
    url: str
    headers: dict[str, str]
    body: bytes


class FakeSender:
    """Implements `ports.WebhookSender`: answers from `script` (then 200), and records every request."""

    def __init__(self, *script: DeliveryResult):
        self.script = list(script)
        self.sent: list[Sent] = []

    async def send(self, url: str, *, sandbox: bool, headers: Mapping[str, str], body: bytes) -> DeliveryResult:
        self.sent.append(Sent(url, dict(headers), body))
        return self.script.pop(0) if self.script else DeliveryResult(200, 3)


@dataclass
class WebhookWorld:
    """The webhook area over fakes, and what it needs to look inside."""

    clock: Clock
    data: WebhookData = field(default_factory=WebhookData)
    idempotency: InMemoryIdempotency = field(default_factory=InMemoryIdempotency)
    resolver: FakeResolver = field(default_factory=FakeResolver)
    published: list[Event] = field(default_factory=list)
    wakes: int = 0

    def uow(self) -> FakeWebhooksUnitOfWork:
        unit = FakeWebhooksUnitOfWork(self.clock, self.data, self.idempotency)
        unit.published = self.published
        return unit

    def woke(self) -> None:
        self.wakes += 1

    def area(self) -> Webhooks:
        return Webhooks(Units(self.uow), self.resolver, self.woke)
