"""Payment methods: add a token, list, choose the default, delete."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_payments.domain.payment_method import PaymentMethod, PaymentMethodQuery, PaymentMethodType
from azotte_payments.ports import PaymentsUnitOfWork
from azotte_payments.service_layer.effects import new_id
from azotte_platform.errors import InvalidArgument, LastPaymentMethod
from azotte_platform.paging import Page, PageRequest


@dataclass(frozen=True)
class AddPaymentMethod:
    """A PSP token for a customer (never a card number)."""

    customer_id: str
    method_type: PaymentMethodType | None
    token: str
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    make_default: bool = False


def _require_customer(customer_id: str) -> None:
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")


async def add_payment_method(uow: PaymentsUnitOfWork, tenant_id: str, command: AddPaymentMethod) -> PaymentMethod:
    """Store the token; the customer's first method becomes the default. The caller commits."""
    _require_customer(command.customer_id)
    if command.method_type is None:
        raise InvalidArgument.field("type", "is required")
    repository = uow.payment_methods(tenant_id)
    customer = await repository.for_customer(command.customer_id, lock=True)
    method = PaymentMethod(
        payment_method_id=new_id("pm"),
        customer_id=command.customer_id,
        method_type=command.method_type,
        token=command.token,
        created_at=uow.clock.now(),
        brand=command.brand,
        last4=command.last4,
        exp_month=command.exp_month,
        exp_year=command.exp_year,
    )
    customer.add(method, command.make_default)
    await repository.save(customer)
    return method


async def list_payment_methods(
    uow: PaymentsUnitOfWork, tenant_id: str, query: PaymentMethodQuery, page: PageRequest
) -> Page[PaymentMethod]:
    """One page of the customer's methods (`PaymentMethod`s) the query keeps, in the order they were added."""
    _require_customer(query.customer_id)
    return await uow.payment_methods(tenant_id).list_for_customer(query, page)


async def set_default_payment_method(
    uow: PaymentsUnitOfWork, tenant_id: str, customer_id: str, payment_method_id: str
) -> PaymentMethod:
    """Make one method the default; the caller commits."""
    _require_customer(customer_id)
    repository = uow.payment_methods(tenant_id)
    customer = await repository.for_customer(customer_id, lock=True)
    customer.set_default(payment_method_id)
    await repository.save(customer)
    return customer.get(payment_method_id)


async def delete_payment_method(
    uow: PaymentsUnitOfWork, tenant_id: str, customer_id: str, payment_method_id: str, *, keep_last: bool = False
) -> PaymentMethod | None:
    """Delete a method and return the customer's default afterwards (with `keep_last`, never the last
    method); the caller commits."""
    _require_customer(customer_id)
    repository = uow.payment_methods(tenant_id)
    customer = await repository.for_customer(customer_id, lock=True)
    customer.get(payment_method_id)  # an unknown method is NOT_FOUND before anything else
    if keep_last and len(customer.methods) == 1:
        raise LastPaymentMethod(f"payment method {payment_method_id!r} is customer {customer_id!r}'s last")
    customer.remove(payment_method_id)
    await repository.save(customer, removed=[payment_method_id])
    return customer.default()
