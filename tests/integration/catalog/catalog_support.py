"""Helpers of the catalog integration tests: an in-process catalog service and its clients."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from nats.errors import TimeoutError as NatsTimeoutError

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.common.v1 import channel_pb2
from azotte_catalog.entrypoints.main import MIGRATIONS, CatalogService, assemble
from azotte_catalog.settings import CatalogSettings
from azotte_platform.clock import FixedClock
from azotte_platform.context import TENANT_HEADER
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent, stream_name
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.grpc.status import from_rpc_error
from azotte_platform.runtime import Runtime, start_runtime

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def example(name: str) -> str:
    """The text of a catalog document under docs/examples."""
    return (EXAMPLES / name).read_text()


def example_data(name: str) -> dict[str, Any]:
    """A catalog document under docs/examples, as data to modify."""
    data: dict[str, Any] = yaml.safe_load(example(name))
    return data


@dataclass
class CatalogHarness:
    """A catalog service running in this process, served over a real gRPC port."""

    runtime: Runtime
    service: CatalogService
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    clock: FixedClock
    database_url: str
    address: str

    def tenant(self, tenant_id: str) -> TenantStub:
        """A client of CatalogService calling as `tenant_id`."""
        return TenantStub(catalog_pb2_grpc.CatalogServiceStub(self.channel), tenant_id)

    async def stop(self) -> None:
        await self.channel.close(None)
        await self.server.stop(None)
        await self.runtime.close()


async def start_catalog(database_url: str, nats_url: str, clock: FixedClock) -> CatalogHarness:
    """Migrate, connect and serve a catalog replica on `database_url`."""
    settings = CatalogSettings(database_url=database_url, nats_url=nats_url, sandbox_clock=False, db_pool_size=5)
    runtime = await start_runtime("catalog", settings, MIGRATIONS, clock=clock)
    service = assemble(runtime)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("catalog")])
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(service.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    channel = grpc.aio.insecure_channel(address)
    return CatalogHarness(runtime, service, server, channel, clock, database_url, address)


class TenantStub:
    """Every CatalogService method, called with the tenant's metadata."""

    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceStub, tenant_id: str):
        self._stub = stub
        self.tenant_id = tenant_id

    def __getattr__(self, method: str) -> Any:
        return functools.partial(getattr(self._stub, method), metadata=((TENANT_HEADER, self.tenant_id),))


async def rejected(call: Awaitable[Any], code: grpc.StatusCode) -> AzotteError:
    """The typed error a call failed with, after checking its gRPC code."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        assert error.code() == code, f"expected {code.name}, got {error.code().name}: {error.details()}"
        return from_rpc_error(error)
    raise AssertionError(f"the call succeeded; expected {code.name}")


async def invalid_fields(call: Awaitable[Any]) -> list[str]:
    """The field paths an INVALID_ARGUMENT answer names."""
    error = await rejected(call, grpc.StatusCode.INVALID_ARGUMENT)
    assert isinstance(error, InvalidArgument)
    return [violation.field for violation in error.violations]


async def stream_events(
    runtime: Runtime, tenant_id: str, event_type: str, service: str = "catalog"
) -> list[ReceivedEvent]:
    """Every event of this type and tenant on the service's JetStream stream."""
    subject = f"azotte.{tenant_id}.{service}.{event_type}"
    info = await runtime.js.stream_info(stream_name(service), subjects_filter=subject)
    expected = (info.state.subjects or {}).get(subject, 0)
    if not expected:
        return []
    subscription = await runtime.js.pull_subscribe(subject, stream=stream_name(service))
    events: list[ReceivedEvent] = []
    try:
        while len(events) < expected:
            try:
                messages = await subscription.fetch(expected - len(events), timeout=2)
            except NatsTimeoutError:
                break
            for message in messages:
                events.append(ReceivedEvent.from_headers(message.subject, dict(message.headers or {}), message.data))
                await message.ack()
    finally:
        await subscription.unsubscribe()
    return events


def us_storefront(**changes: Any) -> pb.Storefront:
    fields: dict[str, Any] = {
        "id": "us",
        "display_name": "United States",
        "country_code": "US",
        "currency_code": "USD",
        "locales": ["en-US"],
        "channels": [channel_pb2.CHANNEL_WEB, channel_pb2.CHANNEL_APP_STORE],
        "tax_policy": pb.TaxPolicy(mode=pb.TAX_MODE_EXCLUSIVE, rate="0"),
        "payment_routing": pb.PaymentRouting(fallback_psps=["stripe"]),
    }
    return pb.Storefront(**(fields | changes))


def premium_plan(**changes: Any) -> pb.Plan:
    fields: dict[str, Any] = {
        "id": "premium",
        "display_name": "Premium",
        "family": "ott",
        "rank": 30,
        "billing_interval": pb.BillingInterval(unit=pb.INTERVAL_UNIT_MONTH, count=1),
        "feature_grants": [pb.FeatureGrant(feature_key="hd_streaming")],
    }
    return pb.Plan(**(fields | changes))


async def seed(t: TenantStub) -> None:
    """A storefront, a feature and an active plan with a price."""
    await t.CreateStorefront(pb.CreateStorefrontRequest(storefront=us_storefront(), request_id="sf"))
    feature = pb.Feature(key="hd_streaming", display_name="HD", kind=pb.FEATURE_KIND_BOOLEAN)
    await t.CreateFeature(pb.CreateFeatureRequest(feature=feature, request_id="f"))
    await t.CreatePlan(pb.CreatePlanRequest(plan=premium_plan(), request_id="p"))
    await t.ActivatePlan(pb.ActivatePlanRequest(id="premium", request_id="a"))
    await t.SchedulePrice(
        pb.SchedulePriceRequest(plan_id="premium", storefront_id="us", amount_minor=1299, request_id="price")
    )
