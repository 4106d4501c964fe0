"""What CreateCharge(s) asks for, and the bookkeeping of one call: one charge per idempotency key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields

from azotte_payments.domain.charge import Charge, ChargeRecord, ChargeRequest, ChargeStatus
from azotte_payments.domain.charge_lines import ChargeLine, validate_lines
from azotte_payments.domain.idempotency import request_fingerprint
from azotte_payments.errors import IdempotencyKeyReused
from azotte_platform.errors import AzotteError, InvalidArgument, Unavailable
from azotte_platform.tax import TaxPolicy
from azotte_platform.validation import require_fields

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_BATCH = 1000


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
    lines: tuple[ChargeLine, ...] = ()

    def fingerprint(self) -> str:
        """Digest of everything but the key."""
        # NOTE: what asdict(self) gives without the key, built without deep-copying every field.
        content = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "idempotency_key"}
        if self.tax_policy is not None:
            content["tax_policy"] = asdict(self.tax_policy)
        # NOTE: a charge without lines keeps the digest it had before charges had lines.
        content["lines"] = [asdict(line) for line in self.lines]
        if not self.lines:
            del content["lines"]
        return request_fingerprint(content)

    def validate(self) -> None:
        """Field checks that need nothing but the request."""
        if not self.idempotency_key:
            raise InvalidArgument.field("idempotency_key", "is required")
        if len(self.idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidArgument.field("idempotency_key", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        require_fields(customer_id=self.customer_id, storefront_id=self.storefront_id)
        if not self.currency:
            raise InvalidArgument.field("amount", "is required")
        if self.amount_minor < 0:
            raise InvalidArgument.field("amount.amount_minor", "must not be negative")
        if self.discount_minor < 0:
            raise InvalidArgument.field("discount.amount_minor", "must not be negative")
        if self.discount_minor and self.discount_currency != self.currency:
            raise InvalidArgument.field("discount.currency_code", f"must be the charge currency {self.currency}")
        validate_lines(self.lines, self.amount_minor, self.currency)

    def charge_request(self, payment_method_id: str) -> ChargeRequest:
        """The charge's request, paid with the resolved method."""
        return ChargeRequest(
            customer_id=self.customer_id,
            storefront_id=self.storefront_id,
            channel=self.channel,
            plan_id=self.plan_id,
            price_minor=self.amount_minor,
            currency=self.currency,
            payment_method_id=payment_method_id,
            description=self.description,
            subscription_id=self.subscription_id,
            period_key=self.period_key,
            discount_minor=self.discount_minor,
            lines=self.lines,
        )


class ChargeBatch:
    """The commands of one call and what answers them: a stored charge per key, or an error."""

    def __init__(self, commands: Sequence[CreateCharge]):
        if len(commands) > MAX_BATCH:
            raise InvalidArgument.field("charges", f"must hold at most {MAX_BATCH} charges")
        self._commands = list(commands)
        self._invalid: dict[int, AzotteError] = {}
        self._fingerprints: dict[int, str] = {}
        self._first: dict[str, int] = {}
        self._records: dict[str, ChargeRecord] = {}
        self._errors: dict[str, AzotteError] = {}
        self._paid: dict[str, ChargeRecord] = {}
        for index, command in enumerate(self._commands):
            try:
                command.validate()
                self._fingerprints[index] = command.fingerprint()
            except AzotteError as error:
                self._invalid[index] = error
                continue
            self._first.setdefault(command.idempotency_key, index)

    def open_keys(self) -> list[str]:
        """Keys with neither a charge nor an error yet."""
        done = (self._records, self._errors, self._paid)
        return [key for key in self._first if not any(key in answered for answered in done)]

    def to_open(self) -> list[tuple[CreateCharge, str]]:
        """(command, fingerprint) of the first command of every open key."""
        return [(self._commands[self._first[key]], self._fingerprints[self._first[key]]) for key in self.open_keys()]

    def add(self, records: Iterable[ChargeRecord]) -> None:
        """Charges stored under the batch's keys."""
        for record in records:
            self._records[record.charge.idempotency_key] = record

    def periods_to_check(self) -> tuple[list[str], list[str]]:
        """(subscriptions, periods) of the open commands that pay a subscription's period."""
        commands = [command for command, _ in self.to_open() if command.subscription_id and command.period_key]
        return sorted({c.subscription_id for c in commands}), sorted({c.period_key for c in commands})

    def settle_paid_periods(self, paid: Iterable[ChargeRecord]) -> None:
        """Answer an open command with the charge that already paid its period, plan and price."""
        # NOTE: a period is paid once: e.g. a renewal the customer authenticated after its attempt was declined
        # is not charged again by the next retry, which gets the charge that paid.
        by_period = {_period_of(r.charge.request): r for r in paid}
        for command, _ in self.to_open():
            record = by_period.get(_period_of(command.charge_request(""))) if command.period_key else None
            if record is not None:
                self._paid[command.idempotency_key] = record

    def fail(self, key: str, error: AzotteError) -> None:
        """No charge can be made under `key`."""
        self._errors[key] = error

    def unsettled(self) -> list[ChargeRecord]:
        """Charges still waiting for an outcome (pending or unknown)."""
        return [r for r in self._records.values() if r.charge.status in (ChargeStatus.PENDING, ChargeStatus.UNKNOWN)]

    def answers(self) -> list[Charge | AzotteError]:
        """One answer per command, in order: its charge, or why it has none."""
        return [self._answer(index, command) for index, command in enumerate(self._commands)]

    def _answer(self, index: int, command: CreateCharge) -> Charge | AzotteError:
        key = command.idempotency_key
        if index in self._invalid:
            return self._invalid[index]
        if key in self._errors:
            return self._errors[key]
        if key in self._paid:
            return self._paid[key].charge
        record = self._records.get(key)
        if record is None:
            return Unavailable(f"charge under idempotency_key {key!r} could not be read back; retry")
        if record.fingerprint != self._fingerprints[index]:
            return IdempotencyKeyReused("the idempotency_key was already used for a different charge")
        return record.charge


def _period_of(request: ChargeRequest) -> tuple[str, str, str, int]:
    return request.subscription_id, request.period_key, request.plan_id, request.price_minor
