"""CreateCharge(s): price, reserve credit and record charges, then collect them through the routed PSPs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from azotte_payments.domain.charge import Charge, ChargeQuery, ChargeRecord, ChargeStatus, validate_currency
from azotte_payments.domain.credit import CreditBalance
from azotte_payments.domain.payment_method import CustomerPaymentMethods
from azotte_payments.domain.refund import Refund
from azotte_payments.domain.routing import RoutingContext, route
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.ports import PaymentsUnitOfWork, StorefrontCatalog, TenantPsps
from azotte_payments.service_layer.charge_batch import ChargeBatch, CreateCharge
from azotte_payments.service_layer.charge_processor import ChargeProcessor
from azotte_payments.service_layer.effects import apply_charge_events, new_id
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.paging import Page, PageRequest


@dataclass(frozen=True)
class _Priced:
    """New charges not stored yet, and the locked credit balances they draw on."""

    records: list[ChargeRecord]
    balances: dict[tuple[str, str], CreditBalance]


class ChargeDesk:
    """Creates charges and waits for their outcome; the processor talks to the PSPs."""

    def __init__(
        self,
        uow_factory: Callable[[], PaymentsUnitOfWork],
        storefronts: StorefrontCatalog,
        processor: ChargeProcessor,
        wait_s: float,
        max_batches: int,
    ):
        self._uow = uow_factory
        self._storefronts = storefronts
        self._processor = processor
        self._wait_s = wait_s
        # NOTE: a batch holds two pooled connections at once; bounding the batches in flight
        # keeps them from exhausting the pool while each waits for its second.
        self._batches = asyncio.Semaphore(max_batches)

    @property
    def processor(self) -> ChargeProcessor:
        """What drives the charges through their PSPs."""
        return self._processor

    @property
    def storefronts(self) -> StorefrontCatalog:
        """The storefronts' payment terms."""
        return self._storefronts

    async def create(self, tenant_id: str, command: CreateCharge) -> Charge:
        """The charge made under the command's key: new, replayed, or resumed after a failure."""
        answer = (await self.create_many(tenant_id, [command]))[0]
        if isinstance(answer, AzotteError):
            raise answer
        return answer

    async def create_many(self, tenant_id: str, commands: Sequence[CreateCharge]) -> list[Charge | AzotteError]:
        """Answer each command as `create` would; new charges are recorded together and sent to PSPs at once."""
        batch = ChargeBatch(commands)
        # NOTE: the tenant's PSPs are found before the batch takes its connections (accounts may need one).
        psps = await self._processor.psps.for_tenant(tenant_id)
        async with self._batches, contextlib.AsyncExitStack() as held:
            async with self._uow() as uow:
                batch.add((await uow.charges(tenant_id).by_keys(batch.open_keys())).values())
                subscriptions, periods = batch.periods_to_check()
                if subscriptions:
                    batch.settle_paid_periods(await uow.charges(tenant_id).paid_periods(subscriptions, periods))
                priced = await self._price(uow, tenant_id, psps, batch)
                in_flight = [r for r in priced.records if r.charge.status is ChargeStatus.PENDING]
                # NOTE: the new charges are locked before they are committed, so no reconciler
                # can drive an attempt that is about to be sent.
                await held.enter_async_context(
                    self._processor.holding(tenant_id, [r.charge.charge_id for r in in_flight])
                )
                stored = await self._store(uow, tenant_id, priced)
                await uow.commit()
            batch.add(r for r in priced.records if r.charge.charge_id in stored)
            await self._processor.collect(tenant_id, [r for r in in_flight if r.charge.charge_id in stored])
        if batch.open_keys():
            # NOTE: a concurrent request took these keys first: answer with its charges.
            async with self._uow() as uow:
                batch.add((await uow.charges(tenant_id).by_keys(batch.open_keys())).values())
        unsettled = batch.unsettled()
        settled = await asyncio.gather(*(self._settle(tenant_id, r.charge.charge_id) for r in unsettled))
        for record, charge in zip(unsettled, settled, strict=True):
            record.charge = charge
        return batch.answers()

    async def _price(self, uow: PaymentsUnitOfWork, tenant_id: str, psps: TenantPsps, batch: ChargeBatch) -> _Priced:
        """New charges for the commands no charge answers yet, each with its first PSP attempt begun."""
        to_open = batch.to_open()
        if not to_open:
            return _Priced([], {})
        now = uow.clock.now()
        customers = sorted({command.customer_id for command, _ in to_open})
        methods = await uow.payment_methods(tenant_id).for_customers(customers)
        balances = await uow.credits(tenant_id).spendable(customers)
        credit = {key: balance.balance_minor for key, balance in balances.items()}
        records = []
        for command, fingerprint in to_open:
            try:
                terms = await self._storefronts.terms(tenant_id, command.storefront_id)
                validate_currency(command.currency, terms.currency)
                record = self._record(
                    tenant_id, psps, command, fingerprint, terms, methods[command.customer_id], credit, now
                )
            except AzotteError as error:
                batch.fail(command.idempotency_key, error)
                continue
            credit[(command.customer_id, command.currency)] = (
                credit.get((command.customer_id, command.currency), 0) - record.charge.credit_applied_minor
            )
            records.append(record)
        return _Priced(records, balances)

    @staticmethod
    async def _store(uow: PaymentsUnitOfWork, tenant_id: str, priced: _Priced) -> set[str]:
        """Insert the new charges, spend the credit they apply and record what they caused; the ids stored."""
        stored = await uow.charges(tenant_id).insert_many(priced.records, uow.clock.now())
        kept = [r for r in priced.records if r.charge.charge_id in stored]
        spent: dict[tuple[str, str], CreditBalance] = {}
        now = uow.clock.now()
        for record in kept:
            charge = record.charge
            if charge.credit_applied_minor:
                key = (charge.request.customer_id, charge.currency)
                priced.balances[key].spend(charge.credit_applied_minor, now, charge_id=charge.charge_id)
                spent[key] = priced.balances[key]
        await uow.credits(tenant_id).save_many(list(spent.values()))
        await apply_charge_events(uow, tenant_id, kept)
        return stored

    @staticmethod
    def _record(
        tenant_id: str,
        psps: TenantPsps,
        command: CreateCharge,
        fingerprint: str,
        terms: StorefrontTerms,
        methods: CustomerPaymentMethods,
        credit: dict[tuple[str, str], int],
        now: datetime,
    ) -> ChargeRecord:
        method = methods.resolve_for_charge(command.payment_method_id, now)
        context = RoutingContext(
            command.currency, command.country_code or terms.country_code, command.amount_minor, method.method_type
        )
        candidates = psps.reachable(route(terms.routing_rules, context))
        charge = Charge.create(
            new_id("ch"),
            command.charge_request(method.payment_method_id),
            command.idempotency_key,
            terms.currency,
            command.tax_policy or terms.tax_policy,
            credit.get((command.customer_id, command.currency), 0),
            now,
        )
        if charge.status is ChargeStatus.PENDING:
            psp = psps.next_candidate(candidates, charge.attempts)
            if psp is None:
                charge.exhaust(now)
            else:
                charge.begin_attempt(psp, now)
        return ChargeRecord(tenant_id, charge, fingerprint, method.method_type.value, method.token, candidates)

    async def _settle(self, tenant_id: str, charge_id: str) -> Charge:
        """Drive the charge to an outcome, or wait for whoever is driving it (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        delay = 0.01
        while True:
            driven = await self._processor.advance(tenant_id, charge_id)
            if driven is not None:
                return driven
            async with self._uow() as uow:
                record = await uow.charges(tenant_id).get(charge_id)
            if record.charge.status is not ChargeStatus.PENDING or loop.time() >= deadline:
                return record.charge
            # NOTE: another request holds this charge; poll its row until it has an outcome.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


async def get_charge(
    uow: PaymentsUnitOfWork, tenant_id: str, charge_id: str
) -> tuple[Charge, list[tuple[Refund, str]]]:
    """A charge with its refunds and their reasons, oldest first."""
    record = await uow.charges(tenant_id).get(charge_id)
    return record.charge, await uow.refunds(tenant_id).for_charge(charge_id)


async def list_charges(uow: PaymentsUnitOfWork, tenant_id: str, query: ChargeQuery, page: PageRequest) -> Page[Charge]:
    """One page of a customer's charges (of one subscription, some statuses when given), newest first by default."""
    if not query.customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    return await uow.charges(tenant_id).list_for_customer(query, page)
