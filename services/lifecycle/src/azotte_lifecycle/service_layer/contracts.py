"""Use cases on contracts: sign, read and list, amend, end; and what payments' invoice events do to them.

Signing prices the plan in the storefront (its interval, and the recurring price when none was negotiated)
and starts the contract's subscription (channel direct, Azotte-billed) in the same unit of work, so the
subscription's events reach entitlement as any other's. An overdue invoice of it puts the subscription into
the policy's dunning; paying it restores it (`Subscription.invoice_overdue` / `invoice_paid`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from azotte_lifecycle.domain.contracts import Contract, TermsRequest
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import ContractNotFound
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork
from azotte_lifecycle.service_layer.customers import get_customer
from azotte_lifecycle.service_layer.pricing import quote
from azotte_lifecycle.service_layer.queries import keyset_after
from azotte_lifecycle.service_layer.subscriptions import add, load, new_subscription_id, save
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_platform.validation import require_fields


def _actor() -> str:
    return context.current().principal or "system"


async def create_contract(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    customer_id: str,
    storefront_id: str,
    asked: TermsRequest,
) -> tuple[Contract, Subscription]:
    """Sign a contract starting now and start its subscription; without a negotiated recurring price it is the
    storefront's price of the plan now."""
    require_fields(customer_id=customer_id, storefront_id=storefront_id)
    now = uow.clock.now()
    terms = asked.terms
    terms.violations(now)
    await get_customer(uow, tenant_id, customer_id)
    priced = await quote(catalog, terms.plan_id, storefront_id, Channel.DIRECT, now)
    asked.require_currency(priced.terms.currency_code)
    if not asked.recurring_given:
        terms = replace(terms, recurring_minor=priced.terms.amount_minor)
    subscription = Subscription.create(
        subscription_id=new_subscription_id(),
        tenant_id=tenant_id,
        customer_id=customer_id,
        plan=replace(priced.terms, amount_minor=terms.recurring_minor),
        storefront_id=storefront_id,
        channel=Channel.DIRECT,
        billing_origin=BillingOrigin.AZOTTE_BILLED,
        now=now,
    )
    contract = Contract.sign(
        contract_id=f"ctr_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        customer_id=customer_id,
        storefront_id=storefront_id,
        currency_code=priced.terms.currency_code,
        subscription_id=subscription.id,
        interval=priced.terms.interval,
        terms=terms,
        now=now,
        actor=_actor(),
    )
    await add(uow, subscription)
    await uow.contracts.add(contract, now)
    return contract, subscription


async def get_contract(
    uow: LifecycleUnitOfWork, tenant_id: str, contract_id: str, *, lock: bool = False
) -> tuple[Contract, Subscription]:
    """The contract and its subscription; another tenant's is not found like a missing one."""
    if not contract_id:
        raise InvalidArgument.field("contract_id", "is required")
    contract = await uow.contracts.get(tenant_id, contract_id, for_update=lock)
    if contract is None:
        raise ContractNotFound(f"contract {contract_id} not found")
    return contract, await load(uow, tenant_id, contract.subscription_id, lock=lock)


async def list_contracts(
    uow: LifecycleUnitOfWork, tenant_id: str, page: PageRequest, customer_id: str = ""
) -> Page[tuple[Contract, Subscription]]:
    """One page of the tenant's contracts (of one customer), newest first, each with its subscription."""
    after = keyset_after(page, timed=True)
    key = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    rows = await uow.contracts.find(tenant_id, page.limit, customer_id=customer_id, after=key)
    listed = page.page(rows, lambda c: [c.created_at.isoformat() if c.created_at else "", c.id])
    return Page(
        [(c, await load(uow, tenant_id, c.subscription_id, lock=False)) for c in listed.items],
        listed.next_page_token,
    )


async def amend_contract(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    contract_id: str,
    asked: TermsRequest,
) -> tuple[Contract, Subscription]:
    """A new version of the terms, invoiced from the next invoice on; a new plan applies to the subscription
    now (`subscription.plan_changed`, so entitlements follow)."""
    contract, subscription = await get_contract(uow, tenant_id, contract_id, lock=True)
    now = uow.clock.now()
    asked.require_currency(contract.currency_code)
    terms = asked.terms
    if not asked.recurring_given:
        terms = replace(terms, recurring_minor=contract.terms.recurring_minor)
    if terms.plan_id != contract.terms.plan_id:
        priced = await quote(catalog, terms.plan_id, contract.storefront_id, Channel.DIRECT, now)
        if priced.terms.interval != contract.interval:
            raise InvalidArgument.field("terms.plan_id", "must bill in the contract's interval")
        if not asked.recurring_given:
            terms = replace(terms, recurring_minor=priced.terms.amount_minor)
    contract.amend(terms, now, _actor())
    subscription.apply_contract_terms(terms.plan_id, terms.recurring_minor, now)
    await uow.contracts.save(contract)
    await save(uow, subscription)
    return contract, subscription


async def end_contract(uow: LifecycleUnitOfWork, tenant_id: str, contract_id: str) -> tuple[Contract, Subscription]:
    """End the contract with its current period (still invoiced); ending again changes nothing."""
    contract, subscription = await get_contract(uow, tenant_id, contract_id, lock=True)
    contract.end(subscription.current_period_end, uow.clock.now())
    await uow.contracts.save(contract)
    return contract, subscription


async def invoice_overdue(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> None:
    """An invoice of the subscription passed its due date unpaid: the policy's dunning (no-op if not invoiced)."""
    sub = await uow.subscriptions.get(tenant_id, subscription_id, for_update=True)
    if sub is None or not sub.invoiced:
        return
    policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
    sub.invoice_overdue(uow.clock.now(), policy)
    await save(uow, sub)


async def invoice_paid(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> None:
    """An invoice of the subscription was paid: out of dunning, access back (no-op if not in dunning)."""
    sub = await uow.subscriptions.get(tenant_id, subscription_id, for_update=True)
    if sub is None or not sub.invoiced:
        return
    sub.invoice_paid(uow.clock.now())
    await save(uow, sub)
