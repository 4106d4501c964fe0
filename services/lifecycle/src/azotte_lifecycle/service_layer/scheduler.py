"""The scheduler of due work: claims due subscriptions, prices and charges renewals, applies the results.

Every charge is priced by the catalog before it is made: the plan's price in the subscription's storefront
and channel at the renewal time, for a subscription that bought its plan at `price_start` (so an
at_next_renewal change reaches it and a grandfathered one does not). A batch asks the catalog once
(`Catalog.renewal_prices`), each distinct query once; if the catalog cannot answer, the batch's charges
wait (`unsettled_delay`) rather than charge a price the catalog did not confirm.

With metering, a renewal also bills the usage of the period it ends, in arrears, in the same charge: metering
closes the batch's periods at once (`Metering.close_usage_periods`, frozen at the first call, so every attempt
of the charge carries the same usage) and the charge carries the recurring price and the usage as lines. If
metering cannot answer, the batch's charges wait as they do for the catalog.

A contract's subscription (channel direct) is not charged: the period it ends is invoiced through payments
(`Payments.issue_invoices`, `CreateInvoice(issue=true)` under `lifecycle:contract-invoice:<subscription>:<period>`,
so retries and crashes never make a second invoice for one period) with the contract's lines
(`domain.contracts.period_invoice_lines`: its recurring price, the usage metering closed for the period at the
negotiated meter prices, a true-up to the committed minimum), then the next period starts or the subscription ends
with the contract's last period. The catalog does not price it: the contract's terms do. A contract signed to start
later is started by the sweep once its start comes by its tenant's now (`start_contracts`): its subscription is
created then, its first period running from the contract's start.

A batch is one tenant's due work, done in that tenant (`context.tenant_scope`): payments is asked in it,
and its time is that tenant's own (sandbox clocks are per tenant: a subscription is due by its tenant's now).
Safe with several replicas: a batch is claimed with `FOR UPDATE SKIP LOCKED` and held until its
commit. Safe across crashes: a crash before the commit rolls the batch back, and its renewals are
charged again under the same (subscription, period, attempt) key, which payments answers with
the first result, so nobody is charged twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from azotte_lifecycle.domain.contracts import Contract, UsageQuantity, invoice_key, period_invoice_lines
from azotte_lifecycle.domain.dunning import RenewalCharge, WorkKind
from azotte_lifecycle.domain.policy import LifecyclePolicy, TrialEndBehavior
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import (
    Catalog,
    LifecycleUnitOfWork,
    Metering,
    Payments,
    PeriodInvoice,
    Price,
    PromotionBudgets,
    RenewalChargeRequest,
    RenewalPriceQuery,
    UsageBill,
)
from azotte_lifecycle.service_layer.contracts import start_scheduled
from azotte_lifecycle.service_layer.subscriptions import save
from azotte_platform import context
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.enums import SubscriptionState
from azotte_platform.telemetry import SCHEDULER_DUE_LAG
from azotte_platform.waiting import wait_at_most

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Work items run by a sweep, and items still due after it."""

    processed: int
    remaining: int


@dataclass(frozen=True, slots=True)
class NoticeCheck:
    """A due price notice check of the renewal at `target`, waiting for the catalog's price."""

    target: datetime


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """Batch size, batches run at once, how long unsettled work waits, and the longest idle sleep."""

    batch_size: int = 400
    parallel_batches: int = 2
    unsettled_delay: timedelta = timedelta(minutes=5)
    max_idle_seconds: float = 30.0
    error_backoff_seconds: float = 1.0


class Scheduler:
    """Runs due work in batches; `run_forever` sleeps until the next due time or a wake-up."""

    def __init__(
        self,
        uow_factory: Callable[[], LifecycleUnitOfWork],
        catalog: Catalog,
        payments: Payments,
        clock: Clock,
        settings: SchedulerSettings | None = None,
        metering: Metering | None = None,
        promotions: PromotionBudgets | None = None,
    ):
        """`metering` None: a deployment without metering, whose renewals bill no usage; `promotions` None: one whose
        renewal discounts are not counted against promotion budgets (lifecycle alone)."""
        self._uow = uow_factory
        self._catalog = catalog
        self._payments = payments
        self._clock = clock
        self._settings = settings or SchedulerSettings()
        self._metering = metering
        self._promotions = promotions
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Make the background loop sweep now (clock moved, operator asked)."""
        self._wake.set()

    async def on_clock_change(self, tenant_id: str) -> None:
        """Listener for sandbox clock advances: sweep for work now due (the sweep covers every tenant)."""
        self.wake()

    async def sweep(self, tenant_id: str | None = None, limit: int = 0) -> SweepResult:
        """Run due work batch after batch until nothing is due (or `limit` items ran).

        `parallel_batches` batches run at once, so one batch's own work overlaps another's payments.
        """
        claimed = processed = 0
        try:
            while await self.start_contracts(self._settings.batch_size):
                pass
        except Exception:
            log.exception("scheduled contract starts failed; they are tried again at the next sweep")

        async def work_off() -> None:
            nonlocal claimed, processed
            while limit <= 0 or claimed < limit:
                size = self._settings.batch_size if limit <= 0 else min(self._settings.batch_size, limit - claimed)
                claimed += size
                ran = await self.run_batch(size, tenant_id)
                claimed -= size - ran
                processed += ran
                if ran == 0:
                    return

        await asyncio.gather(*(work_off() for _ in range(self._settings.parallel_batches)))
        async with self._uow() as uow:
            remaining = await uow.subscriptions.count_due(tenant_times(self._clock), tenant_id)
        return SweepResult(processed, remaining)

    async def start_contracts(self, size: int) -> int:
        """Start up to `size` scheduled contracts whose start came, each in its tenant; how many started."""
        async with self._uow() as uow:
            due = await uow.contracts.claim_starting(tenant_times(self._clock), size)
            for contract in due:
                with context.tenant_scope(contract.tenant_id):
                    await start_scheduled(uow, contract)
            await uow.commit()
        return len(due)

    async def run_batch(self, size: int, tenant_id: str | None = None) -> int:
        """Claim up to `size` subscriptions of one tenant due by its now, settle them concurrently and commit once."""
        async with self._uow() as uow:
            subs = await uow.subscriptions.claim_due(tenant_times(self._clock), size, tenant_id)
            if not subs:
                return 0
            tenant = subs[0].tenant_id
            # NOTE: a batch holds one tenant's due work (claim_due): done in that tenant, on its clock.
            with context.tenant_scope(tenant):
                now = self._clock.now()
                policy = await uow.policies.get(tenant)
                contracts = await uow.contracts.of_subscriptions(tenant, [s.id for s in subs if s.invoiced])
                settled = await self._settle(subs, [policy.for_plan(s.plan_id) for s in subs], now, contracts)
                await save(uow, *(s for s, ok in zip(subs, settled, strict=True) if ok))
                unsettled = [s for s, ok in zip(subs, settled, strict=True) if not ok]
                await uow.subscriptions.defer(unsettled, now + self._settings.unsettled_delay)
                await uow.commit()
            return len(subs)

    async def run_forever(self) -> None:
        """Sweep, then sleep until the next due time (by each tenant's now), a clock change or a wake-up.

        Each round, failed or not, sets the due-work lag: how long the oldest work still due has been due.
        """
        while True:
            self._wake.clear()
            delay = self._settings.max_idle_seconds
            try:
                await self.sweep()
                swept = True
            except Exception:
                log.exception("due work sweep failed")
                swept = False
            try:
                async with self._uow() as uow:
                    times = tenant_times(self._clock)
                    waits = [await uow.subscriptions.next_due_in(times), await uow.contracts.next_start_in(times)]
                due_in = min((wait for wait in waits if wait is not None), default=None)
                SCHEDULER_DUE_LAG.set(0.0 if due_in is None else max(-due_in.total_seconds(), 0.0))
            except Exception:
                log.exception("next due time unknown")
                swept, due_in = False, None
            if not swept:
                delay = self._settings.error_backoff_seconds
            elif due_in is not None:
                delay = min(max(due_in.total_seconds(), 0.0), delay)
            await wait_at_most(self._wake, delay)

    async def _settle(
        self,
        subs: list[Subscription],
        policies: list[LifecyclePolicy],
        now: datetime,
        contracts: dict[str, Contract],
    ) -> list[bool]:
        """Do the subscriptions' due work, their renewals priced and charged (or invoiced) in one go; False leaves
        one unsettled."""
        prepared = await asyncio.gather(*(self._prepare(s, p, now) for s, p in zip(subs, policies, strict=True)))
        settled = [step is True for step in prepared]
        due = [(i, step) for i, step in enumerate(prepared) if isinstance(step, RenewalCharge)]
        invoiced = [(i, charge) for i, charge in due if subs[i].invoiced]
        issued = await self._invoice(subs, invoiced, contracts, policies, now)
        for (i, _), done in zip(invoiced, issued, strict=True):
            settled[i] = done
        charges = [i for i, _ in due if not subs[i].invoiced]
        notices = {i: step.target for i, step in enumerate(prepared) if isinstance(step, NoticeCheck)}
        prices = await self._prices(
            [renewal_price_query(subs[i]) for i in charges]
            + [notice_price_query(subs[i], target) for i, target in notices.items()]
        )
        if prices is None:
            return settled
        for (i, target), price in zip(notices.items(), prices[len(charges) :], strict=True):
            settled[i] = self._check_notice(subs[i], target, price, now)
        priced: list[tuple[int, RenewalCharge]] = []
        for i, price in zip(charges, prices[: len(charges)], strict=True):
            charge = self._price(subs[i], price, now)
            if isinstance(charge, RenewalCharge):
                priced.append((i, charge))
            else:
                settled[i] = charge
        priced = await self._count_discounts(subs, priced)
        usage = await self._usage_bills([(subs[i], c) for i, c in priced])
        if usage is None:
            return settled
        requests = [RenewalChargeRequest(subs[i], c, bill) for (i, c), bill in zip(priced, usage, strict=True)]
        outcomes = await self._payments.charge_renewals(requests)
        for (index, charge), outcome in zip(priced, outcomes, strict=True):
            if outcome is None:
                continue
            try:
                subs[index].apply_charge_result(charge, outcome, now, policies[index])
                settled[index] = True
            except Exception:
                log.exception("renewal result of subscription %s failed", subs[index].id)
        return settled

    async def _invoice(
        self,
        subs: list[Subscription],
        due: list[tuple[int, RenewalCharge]],
        contracts: dict[str, Contract],
        policies: list[LifecyclePolicy],
        now: datetime,
    ) -> list[bool]:
        """Invoice the periods `due` ends with the usage metering closed for them, with the reminder days of the
        policy in force; True where it was issued and applied."""
        if not due:
            return []
        usage = await self._usage_bills([(subs[i], charge) for i, charge in due])
        if usage is None:
            return [False] * len(due)
        invoices = []
        for (i, _), bill in zip(due, usage, strict=True):
            sub, contract = subs[i], contracts[subs[i].id]
            used = [
                UsageQuantity(
                    line.meter_key,
                    ",".join(f"{name}={value}" for name, value in line.dimensions),
                    Decimal(line.quantity or "0"),
                    line.amount_minor,
                    line.description,
                )
                for line in (bill.lines if bill is not None else ())
            ]
            label = sub.plan_id or f"Contract {contract.id}"
            period = (sub.current_period_start, sub.current_period_end)
            lines = period_invoice_lines(contract.terms, label, used, period)
            key = invoice_key(sub.id, sub.period_index)
            reminders = policies[i].invoice_reminder_days
            invoices.append(PeriodInvoice(sub, contract, tuple(lines), key, str(sub.period_index), reminders))
        issued = await self._payments.issue_invoices(invoices)
        done = []
        for (i, charge), ok in zip(due, issued, strict=True):
            sub = subs[i]
            try:
                if ok:
                    sub.invoice_period(charge, now, last=contracts[sub.id].ends_with(sub.current_period_end))
                done.append(ok)
            except Exception:
                log.exception("invoice of subscription %s failed", sub.id)
                done.append(False)
        return done

    async def _count_discounts(
        self, subs: list[Subscription], priced: list[tuple[int, RenewalCharge]]
    ) -> list[tuple[int, RenewalCharge]]:
        """The renewals to charge once their promotion discounts are counted against the promotions' budgets: one the
        budget cannot pay for loses its discount and is charged in full; one promotions did not answer waits."""
        discounted = [(i, charge) for i, charge in priced if charge.discount_minor > 0]
        if self._promotions is None or not discounted:
            return priced
        counted = await self._promotions.count_renewal_discounts([(subs[i], charge) for i, charge in discounted])
        granted = dict(zip((i for i, _ in discounted), counted, strict=True))
        charges: list[tuple[int, RenewalCharge]] = []
        for i, charge in priced:
            answer = granted.get(i, True)
            if answer is False:
                subs[i].end_discount()
                charge = subs[i].renewal_charge()
            if answer is not None:
                charges.append((i, charge))
        return charges

    async def _prices(self, queries: list[RenewalPriceQuery]) -> list[Price | None] | None:
        """The catalog's answer to each query, asking each distinct one once (None: the catalog cannot answer)."""
        if not queries:
            return []
        distinct = list(dict.fromkeys(queries))
        try:
            answers = dict(zip(distinct, await self._catalog.renewal_prices(distinct), strict=True))
        except Exception:
            log.exception("renewal prices of %d subscriptions failed; their due work waits", len(queries))
            return None
        return [answers[q] for q in queries]

    async def _usage_bills(self, renewals: list[tuple[Subscription, RenewalCharge]]) -> list[UsageBill | None] | None:
        """The usage each renewal bills (None: none); None when metering cannot answer (the charges wait)."""
        if self._metering is None or not renewals:
            return [None] * len(renewals)
        try:
            bills = await self._metering.close_usage_periods([sub for sub, _ in renewals])
        except Exception:
            log.exception("usage of %d renewals could not be billed; their due work waits", len(renewals))
            return None
        found: list[UsageBill | None] = []
        for (sub, charge), bill in zip(renewals, bills, strict=True):
            # NOTE: usage priced in another currency, or a credit larger than the renewal, cannot join its charge.
            joins = bill.currency_code == sub.currency_code and charge.amount_minor + bill.due_minor >= 0
            if bill.lines and not joins:
                log.warning(
                    "usage of %s (%s %d) not billed with its renewal", sub.id, bill.currency_code, bill.due_minor
                )
            found.append(bill if bill.lines and joins else None)
        return found

    @staticmethod
    def _price(sub: Subscription, price: Price | None, now: datetime) -> RenewalCharge | bool:
        """`sub`'s charge at the catalog's price; True: it ended instead (an increase it did not accept),
        False: pricing failed and it waits."""
        try:
            if price is None or price.currency_code != sub.currency_code:
                # NOTE: a plan the catalog no longer prices here renews on the terms it was sold with.
                log.warning("no catalog price for the renewal of %s; its stored terms apply", sub.id)
            else:
                sub.price_renewal(
                    price.amount_minor, price.increase_notice_days, now, price_effective_at=price.effective_at
                )
                if sub.state is SubscriptionState.EXPIRED:
                    return True
            return sub.renewal_charge()
        except Exception:
            log.exception("pricing the renewal of subscription %s failed", sub.id)
            return False

    @staticmethod
    def _check_notice(sub: Subscription, target: datetime, price: Price | None, now: datetime) -> bool:
        try:
            if price is not None and price.currency_code != sub.currency_code:
                price = None
            amount = None if price is None else price.amount_minor
            notice_days = sub.price_notice_days if price is None else price.increase_notice_days
            consent = price is not None and price.increase_consent_required
            effective = None if price is None else price.effective_at
            sub.check_price_notice(
                target, amount, notice_days, now, consent_required=consent, price_effective_at=effective
            )
            return True
        except Exception:
            log.exception("price notice check of subscription %s failed", sub.id)
            return False

    async def _prepare(
        self, sub: Subscription, policy: LifecyclePolicy, now: datetime
    ) -> bool | RenewalCharge | NoticeCheck:
        """Do the due work that needs neither catalog nor charge; else the charge or notice check due
        (False: failed, retried later)."""
        work = sub.next_due_work()
        if work is None or not work.is_due(now):
            return True
        try:
            if work.kind is WorkKind.PRICE_NOTICE:
                return NoticeCheck(sub.notice_target(now))
            if not work.kind.charges:
                sub.apply_due_work(work, now, policy)
                return True
            if work.kind is WorkKind.TRIAL_END and await self._trial_expires(sub, policy):
                sub.end_trial_without_payment_method(now)
                return True
            return sub.renewal_charge()
        except Exception:
            log.exception("due %s of subscription %s failed", work.kind, sub.id)
            return False

    async def _trial_expires(self, sub: Subscription, policy: LifecyclePolicy) -> bool:
        if policy.trial_end_behavior is TrialEndBehavior.CONVERT:
            return False
        has_method = await self._payments.has_payment_method(sub.customer_id)
        return not policy.trial_end_charges(has_method)


def renewal_price_query(sub: Subscription) -> RenewalPriceQuery:
    """What the catalog is asked for the price of `sub`'s next charge."""
    return RenewalPriceQuery(sub.plan_id, sub.storefront_id, sub.channel, sub.renewal_time, sub.price_start)


def notice_price_query(sub: Subscription, target: datetime) -> RenewalPriceQuery:
    """What the catalog is asked for the price of `sub`'s renewal at `target` (a notice check)."""
    return RenewalPriceQuery(sub.plan_id, sub.storefront_id, sub.channel, target, sub.price_start)
