"""The webhook delivery worker on real PostgreSQL: replicas share the queue, a lost claim is taken over."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_gateway.adapters.tables import tenants
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.webhooks import DeliveryResult, MessageState, WebhookEndpoint, WebhookMessage, new_secret
from azotte_gateway.entrypoints.main import MIGRATIONS
from azotte_gateway.service_layer.webhook_delivery import WebhookDelivery
from azotte_platform.clock import FixedClock, tenant_times
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from tests.conftest import Servers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = "acme-hooks"


class CountingSender:
    """Answers 200 after a short pause (so replicas overlap), counting each webhook-id it was given."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    async def send(self, url: str, *, sandbox: bool, headers: Mapping[str, str], body: bytes) -> DeliveryResult:
        self.sent[headers["webhook-id"]] += 1
        await asyncio.sleep(0.01)
        return DeliveryResult(200, 10)


@pytest.fixture
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    url = servers.new_database_url("webhooks")
    await migrate(MIGRATIONS, url)
    engine = create_engine(url, pool_size=10)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(tenants).values(
                tenant_id=TENANT,
                name=TENANT,
                mode="sandbox",
                operator_refund_limit_minor=0,
                create_time=NOW,
                customer_token_secret=b"s" * 32,
            )
        )
    yield engine
    await engine.dispose()


async def _queue(engine: AsyncEngine, clock: FixedClock, count: int) -> None:
    async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
        endpoint = WebhookEndpoint(TENANT, "ep_1", "http://127.0.0.1:9/x", "", (), new_secret(), True, NOW, NOW)
        await uow.webhooks.add_endpoint(endpoint)
        messages = [
            WebhookMessage(TENANT, f"msg_{n}", "ep_1", f"ev_{n}", "payment.succeeded", "{}", NOW, next_attempt_time=NOW)
            for n in range(count)
        ]
        await uow.webhooks.add_messages(messages)
        await uow.commit()


async def _states(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("select state from webhook_messages"))).all()
    return Counter(row.state for row in rows)


async def test_two_replicas_deliver_every_message_exactly_once(engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    await _queue(engine, clock, 120)
    sender = CountingSender()

    def replica() -> WebhookDelivery:
        return WebhookDelivery(lambda: PostgresGatewayUnitOfWork(engine, "gateway", clock), clock, sender, batch_size=7)

    delivered = await asyncio.gather(replica().work_due(), replica().work_due(), replica().work_due())
    assert sum(delivered) == 120
    assert len(sender.sent) == 120 and set(sender.sent.values()) == {1}
    assert await _states(engine) == Counter({MessageState.DELIVERED.value: 120})


async def test_a_claim_never_reported_is_taken_over_after_its_lease(engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    await _queue(engine, clock, 3)
    async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
        claimed = await uow.webhooks.claim_due(tenant_times(clock), 10, timedelta(seconds=60))
        await uow.commit()  # NOTE: the replica that claimed them dies here
    assert len(claimed) == 3
    sender = CountingSender()
    survivor = WebhookDelivery(lambda: PostgresGatewayUnitOfWork(engine, "gateway", clock), clock, sender)
    assert await survivor.work_due() == 0
    clock.advance(timedelta(seconds=61), TENANT)
    assert await survivor.work_due() == 3
    assert await _states(engine) == Counter({MessageState.DELIVERED.value: 3})


async def test_a_transaction_reads_the_enabled_endpoints_as_it_and_earlier_commits_changed_them(
    engine: AsyncEngine,
) -> None:
    """The enabled endpoints a transaction read are read once, yet never stale: a change in the transaction drops
    them, and the next transaction of the unit of work reads them again."""
    clock = FixedClock(NOW)

    def endpoint(endpoint_id: str, enabled: bool = True) -> WebhookEndpoint:
        return WebhookEndpoint(
            TENANT, endpoint_id, "http://127.0.0.1:9/x", "", (), new_secret(), True, NOW, NOW, enabled=enabled
        )

    def ids(endpoints: list[WebhookEndpoint]) -> set[str]:
        return {e.id for e in endpoints}

    async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
        assert await uow.webhooks.enabled_endpoints(TENANT) == []
        await uow.webhooks.add_endpoint(endpoint("ep_1"))
        assert ids(await uow.webhooks.enabled_endpoints(TENANT)) == {"ep_1"}
        await uow.webhooks.save_endpoint(endpoint("ep_1", enabled=False))
        assert await uow.webhooks.enabled_endpoints(TENANT) == []
        await uow.webhooks.add_endpoint(endpoint("ep_2"))
        assert ids(await uow.webhooks.enabled_endpoints(TENANT)) == {"ep_2"}
        await uow.webhooks.delete_endpoint(TENANT, "ep_2")
        assert await uow.webhooks.enabled_endpoints(TENANT) == []
        await uow.webhooks.save_endpoint(endpoint("ep_1"))
        await uow.commit()
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as other:
            await other.webhooks.add_endpoint(endpoint("ep_3"))
            await other.commit()
        assert ids(await uow.webhooks.enabled_endpoints(TENANT)) == {"ep_1", "ep_3"}
