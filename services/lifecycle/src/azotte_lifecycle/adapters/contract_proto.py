"""Contracts protobuf <-> domain: ContractsService messages, and the payments invoice events lifecycle follows."""

from __future__ import annotations

from azotte.catalog.v1 import catalog_pb2
from azotte.lifecycle.v1 import contracts_pb2 as pb
from azotte.payments.v1 import events_pb2 as payments_events
from azotte_lifecycle.adapters.proto import feature_to_pb, state_to_pb
from azotte_lifecycle.domain.contracts import (
    BillingContact,
    Contract,
    ContractFeature,
    ContractTerms,
    ContractVersion,
    MeterPrice,
    TermsRequest,
    decimal_field,
)
from azotte_lifecycle.domain.events import Cause
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.subscription import Subscription
from azotte_platform.convert import money, optional_from_timestamp, optional_timestamp, timestamp
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent

_UNITS = {
    catalog_pb2.INTERVAL_UNIT_DAY: IntervalUnit.DAY,
    catalog_pb2.INTERVAL_UNIT_WEEK: IntervalUnit.WEEK,
    catalog_pb2.INTERVAL_UNIT_MONTH: IntervalUnit.MONTH,
    catalog_pb2.INTERVAL_UNIT_YEAR: IntervalUnit.YEAR,
}


def interval_from_pb(message: catalog_pb2.BillingInterval, field: str) -> BillingInterval:
    """A billing interval of a request (count 0 is 1); an unspecified unit or a negative count names its field."""
    unit = _UNITS.get(message.unit)
    if unit is None:
        raise InvalidArgument.field(f"{field}.unit", "must be DAY, WEEK, MONTH or YEAR")
    if message.count < 0:
        raise InvalidArgument.field(f"{field}.count", "must be at least 1")
    return BillingInterval(unit, message.count or 1)


def interval_to_pb(interval: BillingInterval) -> catalog_pb2.BillingInterval:
    unit = next(number for number, known in _UNITS.items() if known is interval.unit)
    return catalog_pb2.BillingInterval(unit=unit, count=interval.count)


def terms_from_pb(message: pb.ContractTerms, field: str = "terms") -> TermsRequest:
    """The terms of a request; a missing end time is INVALID_ARGUMENT naming `<field>.end_time`."""
    end_time = optional_from_timestamp(message, "end_time")
    if end_time is None:
        raise InvalidArgument.field(f"{field}.end_time", "is required")
    contact = message.billing_contact
    prices = tuple(
        MeterPrice(
            price.meter_key,
            decimal_field(price.unit_price_minor, f"{field}.meter_prices[{i}].unit_price_minor"),
            decimal_field(price.included_quantity, f"{field}.meter_prices[{i}].included_quantity"),
        )
        for i, price in enumerate(message.meter_prices)
    )
    terms = ContractTerms(
        plan_id=message.plan_id,
        recurring_minor=message.recurring_price.amount_minor,
        committed_minimum_minor=message.committed_minimum.amount_minor,
        end_time=end_time,
        renewal_periods=message.renewal_periods,
        payment_terms_days=message.payment_terms_days,
        billing_contact=BillingContact(
            contact.name, contact.email, contact.address, contact.country_code.upper(), contact.tax_id
        ),
        meter_prices=prices,
        features=tuple(
            ContractFeature(f.feature_key, f.limit if f.HasField("limit") else None) for f in message.features
        ),
        interval=interval_from_pb(message.interval, f"{field}.interval") if message.HasField("interval") else None,
    )
    currencies = {
        f"{field}.recurring_price.currency_code": message.recurring_price.currency_code,
        f"{field}.committed_minimum.currency_code": message.committed_minimum.currency_code,
    }
    return TermsRequest(terms, message.HasField("recurring_price"), currencies)


def terms_to_pb(terms: ContractTerms, currency_code: str) -> pb.ContractTerms:
    contact = terms.billing_contact
    message = pb.ContractTerms(
        plan_id=terms.plan_id,
        recurring_price=money(terms.recurring_minor, currency_code),
        meter_prices=[
            pb.MeterPrice(
                meter_key=price.meter_key,
                unit_price_minor=str(price.unit_price_minor),
                included_quantity=str(price.included_quantity),
            )
            for price in terms.meter_prices
        ],
        committed_minimum=money(terms.committed_minimum_minor, currency_code),
        end_time=timestamp(terms.end_time),
        renewal_periods=terms.renewal_periods,
        payment_terms_days=terms.payment_terms_days,
        billing_contact=pb.BillingContact(
            name=contact.name,
            email=contact.email,
            address=contact.address,
            country_code=contact.country_code,
            tax_id=contact.tax_id,
        ),
        features=[feature_to_pb(feature) for feature in terms.features],
    )
    if terms.interval is not None:
        message.interval.CopyFrom(interval_to_pb(terms.interval))
    return message


def contract_to_pb(contract: Contract, subscription: Subscription | None) -> pb.Contract:
    """The contract; its state is its subscription's (unspecified before a scheduled start)."""
    return pb.Contract(
        id=contract.id,
        customer_id=contract.customer_id,
        storefront_id=contract.storefront_id,
        currency_code=contract.currency_code,
        subscription_id=contract.subscription_id,
        state=state_to_pb(subscription.state if subscription is not None else None),
        version=contract.version,
        terms=terms_to_pb(contract.terms, contract.currency_code),
        start_time=timestamp(contract.start),
        final_end_time=optional_timestamp(contract.final_end),
        end_request_time=optional_timestamp(contract.end_requested_at),
        create_time=optional_timestamp(contract.created_at),
        scheduled=contract.scheduled,
    )


def version_to_pb(version: ContractVersion, currency_code: str) -> pb.ContractVersion:
    return pb.ContractVersion(
        version=version.version,
        terms=terms_to_pb(version.terms, currency_code),
        create_time=timestamp(version.created_at),
        actor=version.actor,
    )


def invoiced_subscription(event: ReceivedEvent) -> str:
    """The subscription an invoice.overdue / invoice.paid / invoice.voided event's invoice bills ("" for none)."""
    return event.payload(payments_events.InvoiceChanged).invoice.subscription_id


def settling_cause(event: ReceivedEvent) -> Cause:
    """The cause a subscription recovers with when, after this invoice event, none of its invoices is overdue: the
    invoice was voided, or paid (an overdue event arriving after its payment included)."""
    return Cause.INVOICE_VOIDED if event.type == "invoice.voided" else Cause.INVOICE_PAID
