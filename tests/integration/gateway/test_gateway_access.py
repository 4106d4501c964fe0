"""Access checks through the gateway answer from its edge cache until an entitlement event names the customer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import nats

from azotte.entitlement.v1 import events_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.service_layer.admin import SANDBOX_TENANT_ID
from azotte_platform.events.envelope import SUBJECT_HEADER, binary_headers, subject_for
from azotte_stack.nats import EmbeddedNats
from tests.helpers import eventually
from tests.integration.gateway.conftest import GatewayUnderTest, running_gateway


async def announce_entitlement_change(nats_url: str, customer_id: str) -> None:
    """An entitlement.revoked event as the entitlement service's relay publishes it."""
    client = await nats.connect(nats_url)
    try:
        payload = events_pb2.EntitlementRevoked()
        headers = binary_headers(
            event_id=f"evt-{customer_id}",
            event_type="entitlement.revoked",
            source="azotte/entitlement",
            tenant_id=SANDBOX_TENANT_ID,
            time=datetime.now(UTC),
            data_schema=payload.DESCRIPTOR.full_name,
        )
        subject = subject_for("entitlement", SANDBOX_TENANT_ID, "entitlement.revoked")
        await client.publish(subject, payload.SerializeToString(), headers={**headers, SUBJECT_HEADER: customer_id})
        await client.flush()
    finally:
        await client.close()


async def test_a_cached_answer_holds_until_an_entitlement_event_names_the_customer(
    gateway: GatewayUnderTest, servers: Any
) -> None:
    key = await gateway.new_key("publishable")
    gateway.world.customers |= {(SANDBOX_TENANT_ID, "ann"), (SANDBOX_TENANT_ID, "bo")}
    gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_cache")] = lc.Subscription(id="sub_cache", customer_id="ann")
    gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_other")] = lc.Subscription(id="sub_other", customer_id="bo")
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        metadata = (("authorization", f"Bearer {key}"),)

        async def allowed(customer: str) -> bool:
            request = gw.CheckAccessRequest(customer_id=customer, feature_key="hd")
            return bool((await stub.CheckAccess(request, metadata=metadata)).decision.allowed)

        assert await allowed("ann") and await allowed("bo")
        del gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_cache")]
        del gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_other")]
        assert await allowed("ann"), "the second check is answered at the edge"
        await announce_entitlement_change(servers.nats_url, "ann")
        assert await eventually(lambda: _not(allowed("ann")))
        assert await allowed("bo"), "an event about one customer leaves the others' answers"


async def test_answers_kept_while_nats_was_unreachable_are_forgotten_when_it_returns(
    servers: Any, tmp_path: Path
) -> None:
    own_nats = EmbeddedNats(tmp_path / "nats")
    await own_nats.start()
    wiring = SimpleNamespace(new_database_url=servers.new_database_url, nats_url=own_nats.url)
    try:
        async with running_gateway(wiring, tmp_path / "state") as gateway:
            gateway.world.customers.add((SANDBOX_TENANT_ID, "cy"))
            gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_nats")] = lc.Subscription(
                id="sub_nats", customer_id="cy"
            )
            key = await gateway.new_key("publishable")

            async def allowed() -> bool:
                answer = await gateway.http.get("/v1/customers/cy/access/hd", headers=gateway.auth(key))
                return bool(answer.json()["decision"]["allowed"])

            assert await allowed()
            del gateway.world.subscriptions[(SANDBOX_TENANT_ID, "sub_nats")]
            own_nats.stop()  # the revocation's event is lost with it
            assert await allowed()
            await own_nats.start()
            assert await eventually(lambda: _not(allowed()))
    finally:
        own_nats.stop()


async def _not(check: Any) -> bool:
    return not await check
