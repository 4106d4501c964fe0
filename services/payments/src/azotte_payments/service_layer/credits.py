"""GrantCredit, credit balances and their movements."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_payments.domain.credit import CreditBalance, CreditMovement, CreditMovementKind, CreditReason
from azotte_payments.domain.ledger import Dimensions, accounting_period, postings_for_credit_grant
from azotte_payments.ports import PaymentsUnitOfWork
from azotte_payments.service_layer.effects import new_id, post_entry
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest


@dataclass(frozen=True)
class GrantCredit:
    """Goodwill credit for a customer, with the reporting dimensions of its cost."""

    customer_id: str
    amount_minor: int
    currency: str
    reason: str
    storefront_id: str = ""
    channel: str = ""
    plan_id: str = ""


def validate_currency_code(field: str, currency: str) -> None:
    """An ISO 4217 code such as 'EUR'."""
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidArgument.field(field, "must be an ISO 4217 code like 'EUR'")


def record_credit_granted(uow: PaymentsUnitOfWork, tenant_id: str, balance: CreditBalance) -> None:
    """Publish the balance's recorded grants (credit.granted)."""
    uow.emit(tenant_id, *balance.events)
    balance.events.clear()


async def grant_credit(uow: PaymentsUnitOfWork, tenant_id: str, command: GrantCredit) -> CreditBalance:
    """Add goodwill credit and book its cost; the caller commits."""
    if not command.customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    validate_currency_code("amount.currency_code", command.currency)
    if command.amount_minor <= 0:
        raise InvalidArgument.field("amount.amount_minor", "must be positive")
    now = uow.clock.now()
    credits = uow.credits(tenant_id)
    balance = await credits.get(command.customer_id, command.currency, lock=True)
    balance.grant(command.amount_minor, CreditReason.GOODWILL, now, note=command.reason)
    await credits.save(balance)
    record_credit_granted(uow, tenant_id, balance)
    dimensions = Dimensions(command.storefront_id, command.channel, command.plan_id, accounting_period(now))
    grant_id = new_id("cg")
    entry = postings_for_credit_grant(
        tenant_id, new_id("je"), grant_id, command.currency, command.amount_minor, dimensions, now
    )
    await post_entry(uow, tenant_id, entry)
    return balance


async def credit_balance(uow: PaymentsUnitOfWork, tenant_id: str, customer_id: str, currency: str) -> CreditBalance:
    """A customer's balance in one currency (zero when none)."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    validate_currency_code("currency_code", currency)
    return await uow.credits(tenant_id).get(customer_id, currency)


async def credit_balances(uow: PaymentsUnitOfWork, tenant_id: str, customer_id: str) -> list[CreditBalance]:
    """Every balance of a customer, by currency."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    return await uow.credits(tenant_id).for_customer(customer_id)


async def credit_movements(
    uow: PaymentsUnitOfWork,
    tenant_id: str,
    customer_id: str,
    currency: str,
    kind: CreditMovementKind | None,
    page: PageRequest,
) -> Page[CreditMovement]:
    """One page of a customer's movements (of one currency and kind when given), newest first."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    if currency:
        validate_currency_code("currency_code", currency)
    return await uow.credits(tenant_id).movements(customer_id, currency, kind, page)
