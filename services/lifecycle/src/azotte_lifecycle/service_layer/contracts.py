"""Use cases on contracts: sign, read and list, amend, end, start a scheduled one; and what payments' invoice events
do to them.

Signing prices the plan in the storefront (its interval, and the recurring price when none was negotiated) and
starts the contract's subscription (channel direct, Azotte-billed) in the same unit of work, so the subscription's
events reach entitlement as any other's. A contract without a plan grants its own features, billed at the recurring
price and interval its terms give, in the storefront's currency. A contract may start back-dated (its periods run
from its start) or later: then it is stored scheduled, and the scheduler starts its subscription when the start
comes (`start_scheduled`). An overdue invoice of it puts the subscription into the policy's dunning; paying the last
overdue one restores it (`follow_invoices`: `Subscription.invoice_overdue` / `invoices_settled`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from azotte_lifecycle.domain.contracts import Contract, ContractTerms, TermsRequest
from azotte_lifecycle.domain.events import Cause
from azotte_lifecycle.domain.periods import BillingInterval
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.errors import ContractNotFound
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Payments
from azotte_lifecycle.service_layer.customers import require_customer
from azotte_lifecycle.service_layer.pricing import quote
from azotte_lifecycle.service_layer.queries import keyset_after
from azotte_lifecycle.service_layer.subscriptions import add, new_subscription_id, save
from azotte_platform import context
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_platform.validation import require_fields

LIMITED_KINDS = frozenset({"quota", "seats"})


def _actor() -> str:
    return context.current().principal or "system"


async def _require_features(catalog: Catalog, terms: ContractTerms) -> None:
    """Each custom feature is one of the catalog's, with a limit only where the feature counts (quota, seats)."""
    if not terms.features:
        return
    kinds = await catalog.feature_kinds([f.feature_key for f in terms.features])
    for index, feature in enumerate(terms.features):
        kind = kinds.get(feature.feature_key)
        if kind is None:
            raise InvalidArgument.field(f"terms.features[{index}].feature_key", "must be a feature of the catalog")
        if feature.limit is not None and kind not in LIMITED_KINDS:
            raise InvalidArgument.field(f"terms.features[{index}].limit", f"a {kind} feature takes no limit")


async def _priced_terms(
    catalog: Catalog, asked: TermsRequest, storefront_id: str, now: datetime, current: Contract | None = None
) -> tuple[ContractTerms, str, BillingInterval]:
    """The terms with their recurring price, the contract's currency and the interval they bill in.

    Without a negotiated recurring price: the storefront's price of a new plan now, else the current contract's
    (an amendment keeping its plan); a contract without a plan must name one.
    """
    terms = asked.terms
    fallback: int | None = None
    if current is not None and terms.plan_id == current.terms.plan_id:
        currency, fallback = current.currency_code, current.terms.recurring_minor
        interval = terms.billed_interval(current.interval if terms.plan_id else None)
    elif terms.plan_id:
        priced = await quote(catalog, terms.plan_id, storefront_id, Channel.DIRECT, now)
        currency, fallback = priced.terms.currency_code, priced.terms.amount_minor
        interval = terms.billed_interval(priced.terms.interval)
    elif current is not None:
        currency, fallback, interval = current.currency_code, current.terms.recurring_minor, terms.billed_interval(None)
    else:
        currency, interval = await catalog.storefront_currency(storefront_id), terms.billed_interval(None)
    if not asked.recurring_given and fallback is None:
        raise InvalidArgument.field("terms.recurring_price", "is required without a plan")
    asked.require_currency(currency)
    await _require_features(catalog, terms)
    recurring = terms.recurring_minor if asked.recurring_given or fallback is None else fallback
    return replace(terms, recurring_minor=recurring), currency, interval


def _subscription_of(contract: Contract, now: datetime) -> Subscription:
    """The contract's subscription, its first period starting at the contract's start."""
    terms = contract.terms
    return Subscription.create(
        subscription_id=contract.subscription_id,
        tenant_id=contract.tenant_id,
        customer_id=contract.customer_id,
        plan=PlanTerms(terms.plan_id, terms.recurring_minor, contract.currency_code, contract.interval),
        storefront_id=contract.storefront_id,
        channel=Channel.DIRECT,
        billing_origin=BillingOrigin.AZOTTE_BILLED,
        now=now,
        start=contract.start,
        features=terms.features,
        cause=Cause.CONTRACT_STARTED,
    )


async def create_contract(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    customer_id: str,
    storefront_id: str,
    asked: TermsRequest,
    start: datetime | None = None,
) -> tuple[Contract, Subscription | None]:
    """Sign a contract starting at `start` (None: now) and start its subscription, unless the start is ahead (then
    the contract is scheduled and has no subscription yet)."""
    require_fields(customer_id=customer_id, storefront_id=storefront_id)
    now = uow.clock.now()
    start = now if start is None else start
    asked.terms.violations(start)
    await require_customer(uow, tenant_id, customer_id)
    terms, currency, interval = await _priced_terms(catalog, asked, storefront_id, now)
    contract = Contract.sign(
        contract_id=f"ctr_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        customer_id=customer_id,
        storefront_id=storefront_id,
        currency_code=currency,
        subscription_id=new_subscription_id(),
        interval=interval,
        terms=terms,
        start=start,
        now=now,
        actor=_actor(),
    )
    await uow.contracts.add(contract, now)
    if contract.scheduled:
        return contract, None
    subscription = _subscription_of(contract, now)
    await add(uow, subscription)
    return contract, subscription


async def start_scheduled(uow: LifecycleUnitOfWork, contract: Contract) -> Subscription:
    """A scheduled contract's start came: its subscription starts, periods running from the contract's start."""
    subscription = _subscription_of(contract, uow.clock.now())
    contract.started()
    await add(uow, subscription)
    await uow.contracts.save(contract)
    return subscription


async def get_contract(
    uow: LifecycleUnitOfWork, tenant_id: str, contract_id: str, *, lock: bool = False
) -> tuple[Contract, Subscription | None]:
    """The contract and its subscription (None before a scheduled start, or when ended before it); another tenant's
    is not found like a missing one."""
    if not contract_id:
        raise InvalidArgument.field("contract_id", "is required")
    contract = await uow.contracts.get(tenant_id, contract_id, for_update=lock)
    if contract is None:
        raise ContractNotFound(f"contract {contract_id} not found")
    return contract, await uow.subscriptions.get(tenant_id, contract.subscription_id, for_update=lock)


async def list_contracts(
    uow: LifecycleUnitOfWork, tenant_id: str, page: PageRequest, customer_id: str = ""
) -> Page[tuple[Contract, Subscription | None]]:
    """One page of the tenant's contracts (of one customer), newest first, each with its subscription."""
    after = keyset_after(page, timed=True)
    key = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    rows = await uow.contracts.find(tenant_id, page.limit, customer_id=customer_id, after=key)
    listed = page.page(rows, lambda c: [c.created_at.isoformat() if c.created_at else "", c.id])
    return Page(
        [(c, await uow.subscriptions.get(tenant_id, c.subscription_id)) for c in listed.items],
        listed.next_page_token,
    )


async def amend_contract(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    contract_id: str,
    asked: TermsRequest,
) -> tuple[Contract, Subscription | None]:
    """A new version of the terms, invoiced from the next invoice on; a new plan or new features apply to the
    subscription now (`subscription.plan_changed` / `subscription.features_changed`, so entitlements follow)."""
    contract, subscription = await get_contract(uow, tenant_id, contract_id, lock=True)
    now = uow.clock.now()
    asked.terms.violations(contract.start)
    terms, _, interval = await _priced_terms(catalog, asked, contract.storefront_id, now, contract)
    if interval != contract.interval:
        field = "terms.plan_id" if terms.plan_id else "terms.interval"
        raise InvalidArgument.field(field, "must bill in the contract's interval")
    contract.amend(terms, now, _actor())
    if subscription is not None:
        subscription.apply_contract_terms(terms.plan_id, terms.recurring_minor, terms.features, now)
        await save(uow, subscription)
    await uow.contracts.save(contract)
    return contract, subscription


async def end_contract(
    uow: LifecycleUnitOfWork, tenant_id: str, contract_id: str
) -> tuple[Contract, Subscription | None]:
    """End the contract with its current period (still invoiced), or before it starts when scheduled; ending again
    changes nothing."""
    contract, subscription = await get_contract(uow, tenant_id, contract_id, lock=True)
    contract.end(subscription.current_period_end if subscription is not None else None, uow.clock.now())
    await uow.contracts.save(contract)
    return contract, subscription


async def follow_invoices(
    uow: LifecycleUnitOfWork, tenant_id: str, payments: Payments, subscription_id: str, cause: Cause
) -> None:
    """An invoice of the subscription went overdue, was paid or was voided (`cause`): the policy's dunning while any
    of its invoices is overdue, access back once none is (no-op if not invoiced)."""
    sub = await uow.subscriptions.get(tenant_id, subscription_id, for_update=True)
    if sub is None or not sub.invoiced:
        return
    # NOTE: payments is asked what is overdue now, under the subscription's lock, rather than trusting the event:
    # events arrive late, twice or out of order (a paid before an older overdue), yet every handling ends on the
    # state payments holds, and paying one of two overdue invoices keeps access suspended.
    if await payments.has_overdue_invoices(subscription_id):
        policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
        sub.invoice_overdue(uow.clock.now(), policy)
    else:
        sub.invoices_settled(uow.clock.now(), cause)
    await save(uow, sub)
