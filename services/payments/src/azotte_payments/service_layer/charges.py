"""CreateCharge: price, reserve credit and record the charge, then collect it through the routed PSPs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from azotte_payments.adapters.repositories import ChargeRecord
from azotte_payments.domain.charge import Charge, ChargeRequest, ChargeStatus, validate_currency
from azotte_payments.domain.idempotency import IDEMPOTENCY_KEY_REUSED, request_fingerprint
from azotte_payments.domain.routing import RoutingContext, route
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.domain.tax import TaxPolicy
from azotte_payments.service_layer.charge_processor import ChargeProcessor
from azotte_payments.service_layer.effects import new_id, save_charge
from azotte_payments.service_layer.unit_of_work import PaymentsUnitOfWork
from azotte_platform.errors import Aborted, InvalidArgument, NotFound

Storefronts = Callable[[str, str], Awaitable[StorefrontTerms]]
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class CreateCharge:
    """A request to collect money; identical content under the same key is the same charge."""

    idempotency_key: str
    customer_id: str
    storefront_id: str
    channel: str
    plan_id: str
    amount_minor: int
    currency: str
    discount_minor: int = 0
    discount_currency: str = ""
    tax_policy: TaxPolicy | None = None
    payment_method_id: str = ""
    description: str = ""
    subscription_id: str = ""
    period_key: str = ""
    country_code: str = ""

    def fingerprint(self) -> str:
        """Digest of everything but the key."""
        content = asdict(self)
        content.pop("idempotency_key")
        return request_fingerprint(content)

    def validate(self) -> None:
        """Field checks that need nothing but the request."""
        if not self.idempotency_key:
            raise InvalidArgument.field("idempotency_key", "is required")
        if len(self.idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidArgument.field("idempotency_key", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        for name in ("customer_id", "storefront_id"):
            if not getattr(self, name):
                raise InvalidArgument.field(name, "is required")
        if not self.currency:
            raise InvalidArgument.field("amount", "is required")
        if self.amount_minor < 0:
            raise InvalidArgument.field("amount.amount_minor", "must not be negative")
        if self.discount_minor < 0:
            raise InvalidArgument.field("discount.amount_minor", "must not be negative")
        if self.discount_minor and self.discount_currency != self.currency:
            raise InvalidArgument.field("discount.currency_code", f"must be the charge currency {self.currency}")


class ChargeDesk:
    """Creates charges and waits for their outcome; the processor talks to the PSPs."""

    def __init__(
        self,
        uow_factory: Callable[[], PaymentsUnitOfWork],
        storefronts: Storefronts,
        processor: ChargeProcessor,
        wait_s: float,
    ):
        self._uow = uow_factory
        self._storefronts = storefronts
        self._processor = processor
        self._wait_s = wait_s

    async def create(self, tenant_id: str, command: CreateCharge) -> Charge:
        """The charge made under the command's key: new, replayed, or resumed after a failure."""
        command.validate()
        fingerprint = command.fingerprint()
        async with self._uow() as uow:
            existing = await uow.charges(tenant_id).by_key(command.idempotency_key)
            record = (
                _same_content(existing, fingerprint)
                if existing
                else await self._open(uow, tenant_id, command, fingerprint)
            )
        if record.charge.status in (ChargeStatus.PENDING, ChargeStatus.UNKNOWN):
            return await self._settle(tenant_id, record.charge.charge_id)
        return record.charge

    async def _open(
        self, uow: PaymentsUnitOfWork, tenant_id: str, command: CreateCharge, fingerprint: str
    ) -> ChargeRecord:
        """Record a new charge (committed) under the command's key, or find the one a concurrent duplicate made."""
        terms = await self._storefronts(tenant_id, command.storefront_id)
        validate_currency(command.currency, terms.currency)
        now = uow.clock.now()
        methods = await uow.payment_methods(tenant_id).for_customer(command.customer_id)
        method = methods.resolve_for_charge(command.payment_method_id, now)
        context = RoutingContext(
            command.currency, command.country_code or terms.country_code, command.amount_minor, method.method_type
        )
        candidates = self._processor.psps.reachable(route(terms.routing_rules, context))
        credits = uow.credits(tenant_id)
        balance = await credits.get(command.customer_id, command.currency, lock=True)
        charge = Charge.create(
            new_id("ch"),
            ChargeRequest(
                customer_id=command.customer_id,
                storefront_id=command.storefront_id,
                channel=command.channel,
                plan_id=command.plan_id,
                price_minor=command.amount_minor,
                currency=command.currency,
                payment_method_id=method.payment_method_id,
                description=command.description,
                subscription_id=command.subscription_id,
                period_key=command.period_key,
                discount_minor=command.discount_minor,
            ),
            command.idempotency_key,
            terms.currency,
            command.tax_policy or terms.tax_policy,
            balance.balance_minor,
            now,
        )
        record = ChargeRecord(tenant_id, charge, fingerprint, method.method_type.value, method.token, candidates)
        # NOTE: the charge is recorded (and committed) before any PSP is called; the unique
        # idempotency key makes a concurrent duplicate find this row instead of charging again.
        if not await uow.charges(tenant_id).insert_new(record, now):
            existing = await uow.charges(tenant_id).by_key(command.idempotency_key)
            if existing is None:
                raise NotFound(f"charge under idempotency_key {command.idempotency_key!r} vanished")
            return _same_content(existing, fingerprint)
        if charge.credit_applied_minor:
            balance.spend(charge.credit_applied_minor)
            await credits.save(balance)
        await save_charge(uow, tenant_id, record)
        await uow.commit()
        return record

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


def _same_content(record: ChargeRecord, fingerprint: str) -> ChargeRecord:
    if record.fingerprint != fingerprint:
        raise Aborted(
            f"idempotency_key {record.charge.idempotency_key!r} was already used for a different charge",
            reason=IDEMPOTENCY_KEY_REUSED,
        )
    return record
