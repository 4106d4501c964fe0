"""The one servicer dialect: a read runs in a unit of work, a mutation runs once per request id.

A servicer method builds a command from the request, then hands `work(uow, tenant)` to `read` or
`mutate`; `work` calls a use case and translates its answer to the response message.

    async def GetCustomer(self, request, context):
        async def work(uow: LifecycleUnitOfWork, tenant: str) -> pb.GetCustomerResponse:
            customer = await customers.get_customer(uow, tenant, request.customer_id)
            return pb.GetCustomerResponse(customer=proto.customer_to_pb(customer))

        return await self.units.read(work)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from azotte_platform.context import require_tenant
from azotte_platform.idempotency import run_once
from azotte_platform.ports import AbstractUnitOfWork

R = TypeVar("R", bound=Message)
T = TypeVar("T")
U = TypeVar("U", bound=AbstractUnitOfWork)


def operation_of(request: Message) -> str:
    """The operation a request id is scoped to: the request message's name without `Request`."""
    return request.DESCRIPTOR.name.removesuffix("Request")


@dataclass(frozen=True)
class Units(Generic[U]):
    """Runs a call's work in a fresh unit of work of the calling tenant."""

    factory: Callable[[], U]

    async def read(self, work: Callable[[U, str], Awaitable[T]]) -> T:
        """Run `work` in a unit of work that is never committed."""
        tenant = require_tenant()
        async with self.factory() as uow:
            return await work(uow, tenant)

    async def mutate(
        self,
        request: Message,
        response_type: type[R],
        work: Callable[[U, str], Awaitable[R]],
        *,
        operation: str | None = None,
    ) -> R:
        """Run `work` and commit once per (tenant, operation, `request.request_id`); repeats get the first answer.

        The operation defaults to the request's message name (`CreateCustomerRequest` -> `CreateCustomer`).
        """
        tenant = require_tenant()
        name = operation or operation_of(request)
        async with self.factory() as uow:
            return await run_once(uow, tenant, name, request, response_type, lambda: work(uow, tenant))
