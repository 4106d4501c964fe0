"""Contract renewals on real PostgreSQL: each period is invoiced once, whether due work runs twice at once or a
sweep dies after payments issued the invoices and before lifecycle committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from azotte.common.v1 import subscription_state_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import contracts_pb2 as cpb
from azotte.lifecycle.v1 import contracts_pb2_grpc
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.contracts import InvoiceLineKind
from azotte_platform.convert import timestamp
from azotte_platform.grpc.interceptors import ServiceInterceptor
from tests.helpers import eventually
from tests.integration.lifecycle.conftest import T0, Service
from tests.integration.lifecycle.test_lifecycle_year import get, new_customer, rid

ACTIVE = subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE


@pytest.fixture
async def contracts(service: Service) -> AsyncIterator[contracts_pb2_grpc.ContractsServiceAsyncStub]:
    server = grpc.aio.server(interceptors=[ServiceInterceptor("lifecycle")])
    contracts_pb2_grpc.add_ContractsServiceServicer_to_server(service.lifecycle.contracts, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield contracts_pb2_grpc.ContractsServiceStub(channel)
    await server.stop(None)


async def sign(svc: Service, stub: contracts_pb2_grpc.ContractsServiceAsyncStub) -> cpb.Contract:
    terms = cpb.ContractTerms(
        plan_id="basic",
        recurring_price=Money(currency_code="USD", amount_minor=50_000),
        committed_minimum=Money(currency_code="USD", amount_minor=60_000),
        end_time=timestamp(T0 + timedelta(days=365)),
        payment_terms_days=30,
        billing_contact=cpb.BillingContact(name="Acme Hotels Ltd", tax_id="FR40303265045"),
    )
    answer = await stub.CreateContract(
        cpb.CreateContractRequest(
            request_id=rid(), customer_id=await new_customer(svc), storefront_id="us", terms=terms
        ),
        metadata=svc.metadata,
    )
    return answer.contract


async def renewals(svc: Service, subscription_id: str) -> int:
    history = await svc.stub.ListSubscriptionHistory(
        pb.ListSubscriptionHistoryRequest(subscription_id=subscription_id), metadata=svc.metadata
    )
    return [entry.event_type for entry in history.entries].count("subscription.renewed")


async def test_due_work_run_twice_at_once_invoices_each_period_once(
    service: Service, contracts: contracts_pb2_grpc.ContractsServiceAsyncStub
) -> None:
    signed = [await sign(service, contracts) for _ in range(20)]
    service.clock.advance(timedelta(days=31))

    await asyncio.gather(service.lifecycle.scheduler.sweep(), service.lifecycle.scheduler.sweep())

    keys = {f"lifecycle:contract-invoice:{c.subscription_id}:1" for c in signed}
    assert set(service.payments.invoices) == keys
    assert set(service.payments.invoice_calls.values()) == {1}
    for contract in signed:
        sub = await get(service, contract.subscription_id)
        assert (sub.state, sub.period_index) == (ACTIVE, 2)
        assert await renewals(service, contract.subscription_id) == 1
    invoice = service.payments.invoices[next(iter(keys))]
    # 500.00 recurring, no usage: 100.00 of true-up reaches the 600.00 committed minimum.
    assert [(line.kind, line.amount_minor) for line in invoice.lines] == [
        (InvoiceLineKind.RECURRING, 50_000),
        (InvoiceLineKind.TRUE_UP, 10_000),
    ]


async def test_a_sweep_that_dies_after_issuing_asks_for_the_same_invoices_again(
    service: Service, contracts: contracts_pb2_grpc.ContractsServiceAsyncStub
) -> None:
    signed = [await sign(service, contracts) for _ in range(10)]
    service.clock.advance(timedelta(days=31))
    service.payments.gate = asyncio.Event()  # invoices issued, answers held back: the batch cannot commit
    crashed = asyncio.create_task(service.lifecycle.scheduler.sweep())

    async def all_issued() -> bool:
        return len(service.payments.invoices) == len(signed)

    await eventually(all_issued)
    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert [(await get(service, c.subscription_id)).period_index for c in signed] == [1] * len(signed)

    service.payments.gate = None
    result = await service.lifecycle.scheduler.sweep()
    assert (result.processed, result.remaining) == (len(signed), 0)
    assert len(service.payments.invoices) == len(signed)  # one invoice per period...
    assert set(service.payments.invoice_calls.values()) == {2}  # ...though asked twice, under the same key
    for contract in signed:
        assert (await get(service, contract.subscription_id)).period_index == 2
        assert await renewals(service, contract.subscription_id) == 1
