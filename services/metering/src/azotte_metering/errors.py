"""The errors metering raises, one class per reason; callers match on the class."""

from __future__ import annotations

from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted


class MeterNotFound(NotFound):
    """No meter of the tenant has that key."""

    reason = "METER_NOT_FOUND"


class InvalidMeter(InvalidArgument):
    """A meter's definition does not make sense (the field is named)."""

    reason = "INVALID_METER"


class InvalidUsageQuery(InvalidArgument):
    """A usage query's window, grouping or granularity does not make sense (the field is named)."""

    reason = "INVALID_USAGE_QUERY"


class InvalidEventBatch(InvalidArgument):
    """A batch of events is empty or larger than allowed (single events are judged one by one)."""

    reason = "INVALID_EVENT_BATCH"


class MeterExists(AlreadyExists):
    """The meter key is taken in the tenant."""

    reason = "METER_EXISTS"


class MeterHasEvents(FailedPrecondition):
    """The meter has counted events: what it counts and how can no longer change."""

    reason = "METER_HAS_EVENTS"


class IngestSaturated(ResourceExhausted):
    """The service holds as many events in flight as it allows; retry after `retry_after_ms` (metadata)."""

    reason = "INGEST_SATURATED"


# ---------------------------------------------------------------------------------------- usage billing


class InvalidUsagePrice(InvalidArgument):
    """A usage price does not make sense (the field is named)."""

    reason = "INVALID_USAGE_PRICE"


class UsagePriceNotFound(NotFound):
    """No usage price of the tenant has that storefront, plan, meter and dimension values."""

    reason = "USAGE_PRICE_NOT_FOUND"


class MeterNotPriceable(FailedPrecondition):
    """The meter's aggregation cannot be priced over a period (MIN, AVG)."""

    reason = "METER_NOT_PRICEABLE"


class WalletNotFound(NotFound):
    """The customer has no wallet in that currency."""

    reason = "WALLET_NOT_FOUND"


class LimitNotFound(NotFound):
    """No limit of the tenant has that id."""

    reason = "LIMIT_NOT_FOUND"


class LimitOfAnotherCustomer(FailedPrecondition):
    """The limit id is taken by a limit of another customer."""

    reason = "LIMIT_OF_ANOTHER_CUSTOMER"


class TopUpDeclined(FailedPrecondition):
    """The charge paying for a top-up failed; no credit was granted."""

    reason = "TOP_UP_DECLINED"


class TopUpPending(FailedPrecondition):
    """The charge paying for a top-up has not answered yet; repeat the request (same id) to finish it."""

    reason = "TOP_UP_PENDING"
