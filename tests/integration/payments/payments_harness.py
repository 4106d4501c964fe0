"""Payments service in-process over real PostgreSQL, NATS and sandbox PSP HTTP servers."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import uvicorn
from starlette.applications import Starlette

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_payments.entrypoints.main import MIGRATIONS, build_servicer
from azotte_payments.service_layer.charge_processor import ChargeProcessor
from azotte_payments.settings import PaymentsSettings
from azotte_platform.clock import FixedClock
from azotte_platform.enums import Channel
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime

START = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` in this event loop on a free loopback port (listening before serve starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class SandboxPsp:
    """A running sandbox PSP."""

    kind: str
    url: str

    async def captures(self, key: str) -> int:
        """How many captures the PSP made under an attempt key."""
        param = "idempotency_key" if self.kind == "stripe_like" else "reference"
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get("/_test/captures", params={param: key})
        return int(response.json()["captures"])

    async def set_outage(self, enabled: bool) -> None:
        """Make every charge answer 503 (or stop doing so)."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            await client.post("/_test/outage", json={"enabled": enabled})


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """Answers GetStorefront from storefronts registered per tenant."""

    def __init__(self) -> None:
        self.storefronts: dict[tuple[str, str], catalog_pb2.Storefront] = {}
        self.calls = 0

    async def GetStorefront(self, request: Any, context: Any) -> catalog_pb2.GetStorefrontResponse:
        self.calls += 1
        tenant = dict(context.invocation_metadata()).get("x-azotte-tenant", "")
        storefront = self.storefronts.get((tenant, request.id))
        if storefront is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"storefront {request.id} not found")
        return catalog_pb2.GetStorefrontResponse(storefront=storefront)


def storefront(
    storefront_id: str = "de",
    *,
    currency: str = "EUR",
    country: str = "DE",
    inclusive: bool = True,
    rate: str = "0.19",
    psps: tuple[str, ...] = ("stripe_like", "adyen_like"),
) -> catalog_pb2.Storefront:
    """A storefront routing every charge to `psps` in order."""
    mode = catalog_pb2.TAX_MODE_INCLUSIVE if inclusive else catalog_pb2.TAX_MODE_EXCLUSIVE
    return catalog_pb2.Storefront(
        id=storefront_id,
        country_code=country,
        currency_code=currency,
        tax_policy=catalog_pb2.TaxPolicy(mode=mode, rate=rate),
        payment_routing=catalog_pb2.PaymentRouting(
            rules=[
                catalog_pb2.RoutingRule(psps=list(psps), condition=catalog_pb2.RoutingCondition(currencies=[currency]))
            ]
        ),
    )


def eur(amount_minor: int, currency: str = "EUR") -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, amount_minor=amount_minor)


def charge_request(
    customer: str, amount: int = 999, *, key: str | None = None, **fields: Any
) -> payments_pb2.CreateChargeRequest:
    """A CreateCharge request in storefront `de` on the web channel (a fresh key unless given)."""
    key = key or uuid.uuid4().hex
    return payments_pb2.CreateChargeRequest(
        request_id=key,
        idempotency_key=key,
        customer_id=customer,
        storefront_id=fields.pop("storefront_id", "de"),
        channel=channel_pb2.CHANNEL_WEB,
        plan_id=fields.pop("plan_id", "pro"),
        amount=fields.pop("money", None) or eur(amount),
        **fields,
    )


@dataclass
class Faults:
    """Crash points armed by tests: the next charge passing `point` raises."""

    armed: set[str] = field(default_factory=set)

    async def hook(self, point: str, charge_id: str) -> None:
        if point in self.armed:
            self.armed.discard(point)
            raise RuntimeError(f"simulated crash at {point}")


@dataclass
class Payments:
    """A payments service under test and a client for one tenant at a time."""

    runtime: Runtime
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: payments_pb2_grpc.PaymentsServiceStub
    catalog: FakeCatalog
    clock: FixedClock
    faults: Faults
    processor: ChargeProcessor
    psps: dict[str, SandboxPsp]
    address: str

    async def call(self, tenant: str, method: str, request: Any) -> Any:
        """Call a PaymentsService method as `tenant`."""
        return await getattr(self.stub, method)(request, metadata=(("x-azotte-tenant", tenant),))

    async def add_customer(self, tenant: str, token: str = "tok_success", *, exp: tuple[int, int] = (0, 0)) -> str:
        """A new customer with one (default) payment method; returns the customer id."""
        customer = f"cus_{uuid.uuid4().hex[:10]}"
        await self.call(
            tenant,
            "CreatePaymentMethod",
            payments_pb2.CreatePaymentMethodRequest(
                request_id=uuid.uuid4().hex,
                customer_id=customer,
                type=payments_pb2.PAYMENT_METHOD_TYPE_CARD,
                token=token,
                brand="visa",
                last4="4242",
                exp_month=exp[0],
                exp_year=exp[1],
            ),
        )
        return customer

    async def charge(
        self, tenant: str, customer: str, amount: int = 999, *, key: str | None = None, **fields: Any
    ) -> payments_pb2.Charge:
        """CreateCharge in storefront `de` on the web channel."""
        response: payments_pb2.CreateChargeResponse = await self.call(
            tenant, "CreateCharge", charge_request(customer, amount, key=key, **fields)
        )
        return response.charge

    async def charge_many(
        self, tenant: str, requests: list[payments_pb2.CreateChargeRequest]
    ) -> list[payments_pb2.CreateChargeResult]:
        """CreateCharges with the given items."""
        response = await self.call(tenant, "CreateCharges", payments_pb2.CreateChargesRequest(charges=requests))
        return list(response.results)

    async def capture_count(self, charge: payments_pb2.Charge) -> int:
        """Captures every PSP made for this charge, over all its attempt keys."""
        return sum([await psp.captures(f"{charge.id}:{name}") for name, psp in self.psps.items()])

    async def ledger(self, tenant: str, currency: str = "") -> payments_pb2.GetLedgerBalanceResponse:
        request = payments_pb2.GetLedgerBalanceRequest(currency_code=currency)
        response: payments_pb2.GetLedgerBalanceResponse = await self.call(tenant, "GetLedgerBalance", request)
        return response

    async def close(self) -> None:
        await self.channel.close(None)
        await self.server.stop(None)
        await self.runtime.close()


@asynccontextmanager
async def payments_service(
    servers: Any, psps: dict[str, SandboxPsp], *, psp_urls: dict[str, str] | None = None, **settings: Any
) -> AsyncIterator[Payments]:
    """Start payments (own database) against a fake catalog and the given sandbox PSPs."""
    catalog = FakeCatalog()  # type: ignore[abstract]
    catalog_server = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, catalog_server)
    catalog_port = catalog_server.add_insecure_port("127.0.0.1:0")
    await catalog_server.start()
    urls = psp_urls or {name: psp.url for name, psp in psps.items()}
    config = PaymentsSettings(
        database_url=servers.new_database_url("payments"),
        nats_url=servers.nats_url,
        sandbox_clock=False,
        catalog_addr=f"127.0.0.1:{catalog_port}",
        psp_stripe_like_url=urls.get("stripe_like", ""),
        psp_adyen_like_url=urls.get("adyen_like", ""),
        **{"psp_timeout_s": 1.0, "charge_wait_s": 20.0, **settings},
    )
    clock = FixedClock(START)
    runtime = await start_runtime("payments", config, MIGRATIONS, clock=clock)
    faults = Faults()
    servicer, processor = build_servicer(runtime, fault=faults.hook)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("payments")])
    payments_pb2_grpc.add_PaymentsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    harness = Payments(
        runtime,
        server,
        channel,
        payments_pb2_grpc.PaymentsServiceStub(channel),
        catalog,
        clock,
        faults,
        processor,
        psps,
        f"127.0.0.1:{port}",
    )
    try:
        yield harness
    finally:
        await harness.close()
        await catalog_server.stop(None)


LIFECYCLE_PRO = PlanTerms("pro", 1000, "EUR", BillingInterval(IntervalUnit.MONTH))


def lifecycle_subscription(tenant: str, customer: str, initial_charge_id: str = "") -> Subscription:
    """A monthly EUR subscription in storefront `de`, as lifecycle holds it, for its payments adapter."""
    return Subscription.create(
        subscription_id=f"sub_{uuid.uuid4().hex[:10]}",
        tenant_id=tenant,
        customer_id=customer,
        plan=LIFECYCLE_PRO,
        storefront_id="de",
        channel=Channel.WEB,
        billing_origin=BillingOrigin.AZOTTE_BILLED,
        now=START,
        initial_charge_id=initial_charge_id,
    )
