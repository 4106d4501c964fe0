"""Use cases on customers and their channel identities."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from azotte_lifecycle.domain.customer import ChannelIdentity, Customer
from azotte_lifecycle.errors import CustomerNotFound
from azotte_lifecycle.ports import CustomerQuery, LifecycleUnitOfWork
from azotte_lifecycle.service_layer.queries import keyset_after
from azotte_platform.paging import Page, PageRequest


async def create_customer(
    uow: LifecycleUnitOfWork,
    tenant_id: str,
    *,
    external_id: str,
    email: str,
    country_code: str,
    identities: Iterable[ChannelIdentity] = (),
) -> Customer:
    """Create a customer with its first channel identities."""
    customer = Customer.create(
        customer_id=f"cus_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        external_id=external_id,
        email=email,
        country_code=country_code,
        now=uow.clock.now(),
    )
    for identity in identities:
        customer.link(identity)
    await uow.customers.add(customer)
    return customer


async def get_customer(uow: LifecycleUnitOfWork, tenant_id: str, customer_id: str) -> Customer:
    """The customer, with its identities."""
    customer = await uow.customers.get(tenant_id, customer_id)
    if customer is None:
        raise CustomerNotFound(f"customer {customer_id} not found")
    return customer


async def require_customer(uow: LifecycleUnitOfWork, tenant_id: str, customer_id: str, *, lock: bool = False) -> None:
    """`CustomerNotFound` unless the customer exists; with `lock`, its row stays locked until the unit of work ends."""
    if not await uow.customers.exists(tenant_id, customer_id, for_update=lock):
        raise CustomerNotFound(f"customer {customer_id} not found")


async def list_customers(
    uow: LifecycleUnitOfWork, tenant_id: str, page: PageRequest, query: CustomerQuery
) -> Page[Customer]:
    """One page of the tenant's customers that match `query`, in its order."""
    after = keyset_after(page, timed=query.order_by == "created_at")
    rows = await uow.customers.find(tenant_id, page.limit, query=query, after=after)
    return page.page(rows, lambda customer: [_sort_value(customer, query), customer.id])


def _sort_value(customer: Customer, query: CustomerQuery) -> str:
    if query.order_by == "created_at":
        return customer.created_at.isoformat()
    return str(getattr(customer, query.order_by))


async def link_identity(
    uow: LifecycleUnitOfWork, tenant_id: str, customer_id: str, identity: ChannelIdentity
) -> Customer:
    """Link a channel identity to a customer (a no-op when already linked to it)."""
    customer = await get_customer(uow, tenant_id, customer_id)
    if customer.link(identity):
        await uow.customers.link(tenant_id, customer_id, identity)
    return customer


async def find_by_identity(uow: LifecycleUnitOfWork, tenant_id: str, identity: ChannelIdentity) -> Customer:
    customer_id = await uow.customers.find_by_identity(tenant_id, identity)
    if customer_id is None:
        raise CustomerNotFound(f"no customer has {identity.kind} {identity.value!r}")
    return await get_customer(uow, tenant_id, customer_id)
