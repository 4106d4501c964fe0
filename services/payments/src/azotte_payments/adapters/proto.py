"""All proto <-> domain translation of payments: request fields to domain values, domain objects to API
resources and event payloads, and the catalog's storefront to payment terms."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import assert_never

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import channel_pb2
from azotte.payments.v1 import disputes_pb2, events_pb2, payments_pb2, psp_accounts_pb2, store_sales_pb2
from azotte_payments.adapters.invoice_proto import invoice_event
from azotte_payments.domain.charge import Attempt, Charge, ChargeStatus, RefundedFilter
from azotte_payments.domain.charge_lines import ChargeLine, LineKind
from azotte_payments.domain.credit import CreditBalance, CreditMovement, CreditMovementKind
from azotte_payments.domain.declines import Decline, Outcome
from azotte_payments.domain.dispute import Dispute
from azotte_payments.domain.dispute_policy import DisputeAccess, DisputePolicy
from azotte_payments.domain.events import (
    ChargeFailed,
    ChargeRefunded,
    ChargeSucceeded,
    CreditGranted,
    CreditNoteIssued,
    DisputeClosed,
    DisputeOpened,
    InvoiceIssued,
    InvoiceMarkedUncollectible,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceReminded,
    InvoiceVoided,
    PaymentsEvent,
    RevenueRecorded,
)
from azotte_payments.domain.ledger import GroupBy, RevenueRow
from azotte_payments.domain.payment_method import PaymentMethod, PaymentMethodType
from azotte_payments.domain.psp_account import PspAccount, PspKind, PspMode
from azotte_payments.domain.refund import Refund
from azotte_payments.domain.routing import RoutingCondition, RoutingRule
from azotte_payments.domain.store_sales import StoreSale, StoreSaleRequest
from azotte_payments.domain.storefront import StorefrontTerms, rules_with_fallback
from azotte_payments.errors import StorefrontTaxInvalid
from azotte_platform.convert import enum_from_pb, enum_to_pb, from_timestamp, money, optional_enum, timestamp
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.events.envelope import Event
from azotte_platform.grpc.status import item_error
from azotte_platform.tax import TaxMode, TaxPolicy

# --- shared fields ---


def channel_value(name: str) -> channel_pb2.Channel.ValueType:
    """The Channel value stored under its proto name ('' is unspecified)."""
    # NOTE: payments stores a channel by its proto name ('CHANNEL_WEB') in charges and ledger dimensions.
    return channel_pb2.Channel.Value(name) if name else channel_pb2.CHANNEL_UNSPECIFIED


def channel_name(channel: channel_pb2.Channel.ValueType) -> str:
    """The proto name a channel is stored under ('' for unspecified)."""
    return "" if channel == channel_pb2.CHANNEL_UNSPECIFIED else channel_pb2.Channel.Name(channel)


def _outcome(outcome: Outcome | None) -> payments_pb2.DeclineOutcome.ValueType:
    return enum_to_pb("DECLINE_OUTCOME", outcome, payments_pb2.DeclineOutcome)  # type: ignore[no-any-return]


# --- request fields -> domain ---


def tax_policy_from_pb(request: payments_pb2.CreateChargeRequest) -> TaxPolicy | None:
    """The tax policy a charge request gives, None when it uses the storefront's."""
    if request.WhichOneof("tax") != "tax_policy":
        return None
    policy = request.tax_policy
    mode = enum_from_pb(TaxMode, "TAX_MODE", policy.mode, payments_pb2.TaxMode, "tax_policy.mode")
    try:
        rate = Decimal(policy.rate or "0")
    except InvalidOperation as error:
        raise InvalidArgument.field("tax_policy.rate", "must be a decimal fraction like '0.19'") from error
    return TaxPolicy(mode, rate, policy.country_code)


def payment_method_type_from_pb(value: payments_pb2.PaymentMethodType.ValueType) -> PaymentMethodType | None:
    """The payment method type, None when unspecified."""
    return optional_enum(PaymentMethodType, "PAYMENT_METHOD_TYPE", value, payments_pb2.PaymentMethodType, "type")


def group_by_from_pb(request: payments_pb2.GetRevenueReportRequest) -> list[GroupBy]:
    """The report dimensions asked for, in order."""
    return [
        enum_from_pb(GroupBy, "REVENUE_DIMENSION", dimension, payments_pb2.RevenueDimension, "group_by")
        for dimension in request.group_by
    ]


def charge_statuses_from_pb(request: payments_pb2.ListChargesRequest) -> list[ChargeStatus]:
    """The statuses a charge list keeps (empty: all)."""
    return [
        enum_from_pb(ChargeStatus, "CHARGE_STATUS", status, payments_pb2.ChargeStatus, "statuses")
        for status in request.statuses
    ]


def refunded_filter_from_pb(value: payments_pb2.RefundedFilter.ValueType) -> RefundedFilter | None:
    """What a charge list keeps by refunds, None for every charge."""
    return optional_enum(RefundedFilter, "REFUNDED_FILTER", value, payments_pb2.RefundedFilter, "refunded")


def credit_movement_kind_from_pb(value: payments_pb2.CreditMovementKind.ValueType) -> CreditMovementKind | None:
    """The kind of movement a list keeps, None for every kind."""
    return optional_enum(CreditMovementKind, "CREDIT_MOVEMENT_KIND", value, payments_pb2.CreditMovementKind, "kind")


# --- domain -> API resources ---


def decline_to_pb(decline: Decline | None) -> payments_pb2.Decline | None:
    if decline is None:
        return None
    return payments_pb2.Decline(
        outcome=_outcome(decline.outcome), reason=decline.reason.value, raw_code=decline.raw_code
    )


def attempt_to_pb(attempt: Attempt) -> payments_pb2.ChargeAttempt:
    return payments_pb2.ChargeAttempt(
        number=attempt.number,
        psp=attempt.psp,
        outcome=_outcome(attempt.outcome),
        decline=decline_to_pb(attempt.decline),
        psp_reference=attempt.psp_reference or "",
        latency_ms=attempt.latency_ms,
        start_time=timestamp(attempt.started_at),
        client_secret=attempt.client_secret,
    )


def charge_to_pb(charge: Charge) -> payments_pb2.Charge:
    request, currency = charge.request, charge.currency
    return payments_pb2.Charge(
        id=charge.charge_id,
        customer_id=request.customer_id,
        storefront_id=request.storefront_id,
        channel=channel_value(request.channel),
        plan_id=request.plan_id,
        status=enum_to_pb("CHARGE_STATUS", charge.status, payments_pb2.ChargeStatus),
        gross=money(charge.amounts.gross_minor, currency),
        tax=money(charge.amounts.tax_minor, currency),
        net=money(charge.amounts.net_minor, currency),
        discount=money(request.discount_minor, currency),
        credit_applied=money(charge.credit_applied_minor, currency),
        refunded=money(charge.refunded_minor, currency),
        payment_method_id=request.payment_method_id,
        psp=charge.psp or "",
        psp_reference=charge.psp_reference or "",
        decline=decline_to_pb(charge.decline),
        attempts=[attempt_to_pb(attempt) for attempt in charge.attempts],
        idempotency_key=charge.idempotency_key,
        description=request.description,
        subscription_id=request.subscription_id,
        period_key=request.period_key,
        create_time=timestamp(charge.created_at),
        outcome=_outcome(charge.outcome),
        lines=[charge_line_to_pb(line) for line in request.lines],
    )


def charge_lines_from_pb(lines: Sequence[payments_pb2.ChargeLine]) -> tuple[ChargeLine, ...]:
    """A request's lines as given (an unknown kind reads as unspecified); `validate_lines` judges them."""
    return tuple(
        ChargeLine(
            kind=_LINE_KINDS.get(line.kind, LineKind.UNSPECIFIED),
            description=line.description,
            amount_minor=line.amount.amount_minor,
            currency_code=line.amount.currency_code,
            meter_key=line.meter_key,
            dimensions=tuple(sorted(line.dimensions.items())),
            quantity=line.quantity,
        )
        for line in lines
    )


def charge_line_to_pb(line: ChargeLine) -> payments_pb2.ChargeLine:
    return payments_pb2.ChargeLine(
        kind=enum_to_pb("CHARGE_LINE_KIND", line.kind, payments_pb2.ChargeLineKind),
        description=line.description,
        meter_key=line.meter_key,
        dimensions=dict(line.dimensions),
        quantity=line.quantity,
        amount=money(line.amount_minor, line.currency_code),
    )


_LINE_KINDS = {payments_pb2.ChargeLineKind.Value(f"CHARGE_LINE_KIND_{kind.name}"): kind for kind in LineKind}


def charge_result_to_pb(answer: Charge | AzotteError) -> payments_pb2.CreateChargeResult:
    """One CreateCharges result: the charge, or the error a single CreateCharge would have raised."""
    if isinstance(answer, Charge):
        return payments_pb2.CreateChargeResult(charge=charge_to_pb(answer))
    return payments_pb2.CreateChargeResult(error=payments_pb2.ChargeError(**item_error(answer)))


def refund_to_pb(refund: Refund, reason: str) -> payments_pb2.Refund:
    return payments_pb2.Refund(
        id=refund.refund_id,
        charge_id=refund.charge_id,
        status=enum_to_pb("REFUND_STATUS", refund.status, payments_pb2.RefundStatus),
        destination=enum_to_pb("REFUND_DESTINATION", refund.destination, payments_pb2.RefundDestination),
        amount=money(refund.amount_minor, refund.currency),
        tax=money(refund.amounts.tax_minor, refund.currency),
        psp_reference=refund.psp_reference or "",
        reason=reason,
        create_time=timestamp(refund.created_at),
    )


def payment_method_to_pb(method: PaymentMethod) -> payments_pb2.PaymentMethod:
    return payments_pb2.PaymentMethod(
        id=method.payment_method_id,
        customer_id=method.customer_id,
        type=enum_to_pb("PAYMENT_METHOD_TYPE", method.method_type, payments_pb2.PaymentMethodType),
        token=method.token,
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month or 0,
        exp_year=method.exp_year or 0,
        is_default=method.is_default,
        create_time=timestamp(method.created_at),
        fingerprint=method.fingerprint,
    )


def credit_balance_to_pb(balance: CreditBalance) -> payments_pb2.CreditBalance:
    return payments_pb2.CreditBalance(
        customer_id=balance.customer_id, balance=money(balance.balance_minor, balance.currency)
    )


def credit_movement_to_pb(movement: CreditMovement) -> payments_pb2.CreditMovement:
    return payments_pb2.CreditMovement(
        id=movement.movement_id,
        customer_id=movement.customer_id,
        kind=enum_to_pb("CREDIT_MOVEMENT_KIND", movement.kind, payments_pb2.CreditMovementKind),
        amount=money(movement.amount_minor, movement.currency),
        balance_after=money(movement.balance_after_minor, movement.currency),
        charge_id=movement.charge_id,
        reason=movement.note,
        create_time=timestamp(movement.occurred_at),
    )


def revenue_row_to_pb(row: RevenueRow) -> payments_pb2.RevenueRow:
    return payments_pb2.RevenueRow(
        period=row.period,
        storefront_id=row.storefront_id,
        channel=channel_value(row.channel),
        plan_id=row.plan_id,
        gross_sales=money(row.gross_sales_minor, row.currency),
        discounts=money(row.discounts_minor, row.currency),
        refunds=money(row.refunds_minor, row.currency),
        net_revenue=money(row.net_revenue_minor, row.currency),
        tax=money(row.tax_minor, row.currency),
        store_commission=money(row.store_commission_minor, row.currency),
        proceeds=money(row.proceeds_minor, row.currency),
    )


def trial_balance_to_pb(currency: str, accounts: dict[str, int]) -> payments_pb2.CurrencyTrialBalance:
    return payments_pb2.CurrencyTrialBalance(
        currency_code=currency,
        accounts=[
            payments_pb2.AccountBalance(account=account, balance=money(amount, currency))
            for account, amount in accounts.items()
        ],
        total_minor=sum(accounts.values()),
    )


# --- domain -> event payloads ---


def to_event(tenant_id: str, fact: PaymentsEvent) -> Event:
    """The event published for a payments domain event (the unit of work's `to_event`)."""
    match fact:
        case ChargeSucceeded(charge=charge):
            succeeded = events_pb2.PaymentSucceeded(charge=charge_to_pb(charge))
            return Event(tenant_id, "payment.succeeded", succeeded, about=charge.request.customer_id)
        case ChargeFailed(charge=charge):
            failed = events_pb2.PaymentFailed(charge=charge_to_pb(charge), decline=decline_to_pb(charge.decline))
            return Event(tenant_id, "payment.failed", failed, about=charge.request.customer_id)
        case ChargeRefunded(refund=refund, reason=reason, charge=charge):
            refunded = events_pb2.PaymentRefunded(
                refund=refund_to_pb(refund, reason),
                charge=charge_to_pb(charge),
                fully_refunded=charge.refunded_minor == charge.amounts.gross_minor,
            )
            return Event(tenant_id, "payment.refunded", refunded)
        case CreditGranted():
            granted = events_pb2.CreditGranted(
                customer_id=fact.customer_id,
                amount=money(fact.amount_minor, fact.currency),
                balance=money(fact.balance_minor, fact.currency),
                reason=fact.reason,
            )
            return Event(tenant_id, "credit.granted", granted)
        case RevenueRecorded():
            recorded = events_pb2.RevenueRecorded(
                entry_id=fact.entry_id,
                kind=fact.kind,
                source_id=fact.source_id,
                storefront_id=fact.storefront_id,
                channel=channel_value(fact.channel),
                plan_id=fact.plan_id,
                period=fact.period,
                net_revenue=money(fact.net_revenue_minor, fact.currency),
                tax=money(fact.tax_minor, fact.currency),
                store_commission=money(fact.store_commission_minor, fact.currency),
                gross=money(fact.gross_minor, fact.currency),
            )
            return Event(tenant_id, "revenue.recorded", recorded)
        case DisputeOpened(dispute=dispute):
            opened = events_pb2.DisputeOpened(dispute=dispute_to_pb(dispute))
            return Event(tenant_id, "payment.dispute_opened", opened, about=dispute.customer_id)
        case DisputeClosed(dispute=dispute):
            closed = events_pb2.DisputeClosed(dispute=dispute_to_pb(dispute))
            return Event(tenant_id, "payment.dispute_closed", closed, about=dispute.customer_id)
        case (
            InvoiceIssued()
            | InvoicePaid()
            | InvoiceOverdue()
            | InvoiceReminded()
            | InvoiceVoided()
            | InvoiceMarkedUncollectible()
            | CreditNoteIssued()
        ):
            return invoice_event(tenant_id, fact)
        case _:
            assert_never(fact)


def dispute_to_pb(dispute: Dispute) -> events_pb2.Dispute:
    """A dispute as events carry it."""
    return events_pb2.Dispute(
        id=dispute.dispute_id,
        psp_account_id=dispute.account_id,
        psp_dispute_id=dispute.psp_dispute_id,
        charge_id=dispute.charge_id,
        customer_id=dispute.customer_id,
        subscription_id=dispute.subscription_id,
        amount=money(dispute.amount_minor, dispute.currency),
        fee=money(dispute.fee_minor, dispute.currency),
        reason=dispute.reason,
        status=dispute.status.value,
        access=enum_to_pb("DISPUTE_ACCESS", dispute.access, disputes_pb2.DisputeAccess),
    )


def dispute_policy_to_pb(policy: DisputePolicy) -> disputes_pb2.DisputePolicy:
    """The tenant's dispute access policy as answered."""
    answer = disputes_pb2.DisputePolicy(
        on_dispute_opened=enum_to_pb("DISPUTE_ACCESS", policy.on_dispute_opened, disputes_pb2.DisputeAccess)
    )
    if policy.updated_at is not None:
        answer.update_time.FromDatetime(policy.updated_at)
    return answer


def dispute_access_from_pb(value: disputes_pb2.DisputeAccess.ValueType) -> DisputeAccess:
    """The policy's access on a dispute opened (INVALID_ARGUMENT `policy.on_dispute_opened` when unspecified)."""
    return enum_from_pb(DisputeAccess, "DISPUTE_ACCESS", value, disputes_pb2.DisputeAccess, "policy.on_dispute_opened")


# --- the catalog's storefront -> payment terms ---


def storefront_terms(storefront: catalog_pb2.Storefront) -> StorefrontTerms:
    """The catalog's storefront as payment terms; an unspecified tax mode is exclusive."""
    policy = storefront.tax_policy
    try:
        rate = Decimal(policy.rate or "0")
    except InvalidOperation as error:
        raise StorefrontTaxInvalid(f"storefront {storefront.id} has an unreadable tax rate {policy.rate!r}") from error
    mode = optional_enum(TaxMode, "TAX_MODE", policy.mode, catalog_pb2.TaxMode, "tax_policy.mode") or TaxMode.EXCLUSIVE
    rules = tuple(
        RoutingRule(
            rule.psps[0],
            tuple(rule.psps[1:]),
            RoutingCondition(
                currencies=frozenset(rule.condition.currencies),
                country_codes=frozenset(rule.condition.countries),
                payment_method_types=frozenset(rule.condition.payment_method_types),
                min_amount_minor=(
                    rule.condition.min_amount_minor if rule.condition.HasField("min_amount_minor") else None
                ),
                max_amount_minor=(
                    rule.condition.max_amount_minor if rule.condition.HasField("max_amount_minor") else None
                ),
            ),
        )
        for rule in storefront.payment_routing.rules
        if rule.psps
    )
    return StorefrontTerms(
        storefront_id=storefront.id,
        currency=storefront.currency_code,
        country_code=storefront.country_code,
        tax_policy=TaxPolicy(mode, rate, storefront.country_code),
        routing_rules=rules_with_fallback(rules, tuple(storefront.payment_routing.fallback_psps)),
        store_commission=_store_commission(storefront),
    )


def _store_commission(storefront: catalog_pb2.Storefront) -> dict[str, Decimal]:
    """The storefront's commission rate per store channel (by the channel's stored name)."""
    rates: dict[str, Decimal] = {}
    for given in storefront.payment_routing.store_commissions:
        try:
            rates[channel_name(given.channel)] = Decimal(given.rate)
        except InvalidOperation as error:
            raise StorefrontTaxInvalid(f"storefront {storefront.id} has an unreadable commission rate") from error
    return rates


def record_store_sale_from_pb(request: store_sales_pb2.RecordStoreSaleRequest) -> StoreSaleRequest:
    """The store sale a request describes (its fields checked by the domain)."""
    return StoreSaleRequest(
        sale_id=request.sale_id,
        customer_id=request.customer_id,
        subscription_id=request.subscription_id,
        storefront_id=request.storefront_id,
        channel=channel_name(request.channel),
        plan_id=request.plan_id,
        currency=request.price.currency_code,
        price_minor=request.price.amount_minor,
        occurred_at=from_timestamp(request.occur_time) if request.HasField("occur_time") else None,
        commission_rate=_given_rate(request.commission_rate),
    )


def _given_rate(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        rate = Decimal(text)
    except InvalidOperation as error:
        raise InvalidArgument.field("commission_rate", "is not a decimal number") from error
    if not rate.is_finite():
        raise InvalidArgument.field("commission_rate", "is not a decimal number")
    return rate


def store_sale_to_pb(sale: StoreSale) -> store_sales_pb2.StoreSale:
    """A booked store sale as answered."""
    currency = sale.request.currency
    return store_sales_pb2.StoreSale(
        sale_id=sale.request.sale_id,
        channel=channel_value(sale.request.channel),
        price=money(sale.amounts.gross_minor, currency),
        tax=money(sale.amounts.tax_minor, currency),
        net=money(sale.amounts.net_minor, currency),
        commission_rate=str(sale.commission_rate),
        commission=money(sale.commission_minor, currency),
        proceeds=money(sale.proceeds_minor, currency),
    )


def psp_account_to_pb(account: PspAccount) -> psp_accounts_pb2.PspAccount:
    """A PSP account as answered: credential hints only, never a credential."""
    return psp_accounts_pb2.PspAccount(
        account_id=account.account_id,
        kind=enum_to_pb("PSP_KIND", account.kind, psp_accounts_pb2.PspKind),
        mode=enum_to_pb("PSP_MODE", account.mode, psp_accounts_pb2.PspMode),
        display_name=account.display_name,
        credential_hints=account.credential_hints,
        create_time=timestamp(account.created_at),
        update_time=timestamp(account.updated_at),
    )


def psp_kind_from_pb(value: psp_accounts_pb2.PspKind.ValueType) -> PspKind:
    """The account kind of a request (INVALID_ARGUMENT `account.kind` when unspecified)."""
    return enum_from_pb(PspKind, "PSP_KIND", value, psp_accounts_pb2.PspKind, "account.kind")


def psp_mode_from_pb(value: psp_accounts_pb2.PspMode.ValueType) -> PspMode:
    """The account mode of a request (INVALID_ARGUMENT `account.mode` when unspecified)."""
    return enum_from_pb(PspMode, "PSP_MODE", value, psp_accounts_pb2.PspMode, "account.mode")
