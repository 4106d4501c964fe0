"""The metering service over gRPC, as `ports.Metering`: the usage a renewal bills, periods closed many at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from azotte.metering.v1 import wallets_pb2, wallets_pb2_grpc
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import UsageBill, UsageLine
from azotte_platform.convert import timestamp

MAX_PERIODS = 1000  # NOTE: the most CloseUsagePeriods takes in one call


class GrpcMetering:
    """Metering over gRPC (`connect(settings.metering_addr)`), in the tenant of the request context."""

    def __init__(self, channel: grpc.aio.Channel):
        self._stub = wallets_pb2_grpc.WalletsServiceStub(channel)

    async def close_usage_periods(self, subscriptions: Sequence[Subscription]) -> list[UsageBill]:
        bills: list[UsageBill] = []
        for start in range(0, len(subscriptions), MAX_PERIODS):
            periods = [_period(sub) for sub in subscriptions[start : start + MAX_PERIODS]]
            response = await self._stub.CloseUsagePeriods(wallets_pb2.CloseUsagePeriodsRequest(periods=periods))
            bills += [usage_bill(bill) for bill in response.bills]
        return bills


def _period(sub: Subscription) -> wallets_pb2.UsagePeriodToClose:
    _, next_end = sub.period_bounds(sub.period_index + 1)
    return wallets_pb2.UsagePeriodToClose(
        subscription_id=sub.id,
        customer_id=sub.customer_id,
        period_start_time=timestamp(sub.current_period_start),
        period_end_time=timestamp(sub.current_period_end),
        next_period_end_time=timestamp(next_end),
    )


def usage_bill(bill: wallets_pb2.UsageBill) -> UsageBill:
    """A bill's lines: one per meter and dimension values, one per adjustment, then what prepaid credit paid."""
    lines = [
        UsageLine(
            "usage",
            _describe(line.meter_key, line.dimensions, f"{line.billable_units} billable of {line.quantity}"),
            line.amount.amount_minor,
            line.meter_key,
            tuple(sorted(line.dimensions.items())),
            line.quantity,
        )
        for line in bill.lines
    ]
    lines += [
        UsageLine(
            "usage_adjustment",
            _describe(a.meter_key, a.dimensions, "late usage of a billed period"),
            a.amount.amount_minor,
            a.meter_key,
            tuple(sorted(a.dimensions.items())),
            a.quantity,
        )
        for a in bill.adjustments
    ]
    # NOTE: what the wallet paid as usage arrived is deducted, down to what metering says is due.
    paid = max(bill.subtotal.amount_minor - bill.due.amount_minor, 0)
    if lines and paid > 0:
        lines.append(UsageLine("usage_credit", "Paid from prepaid credit", -paid))
    return UsageBill(bill.due.currency_code, tuple(lines))


def _describe(meter_key: str, dimensions: Mapping[str, str], detail: str) -> str:
    values = ", ".join(f"{name}={value}" for name, value in sorted(dimensions.items()))
    return f"{meter_key} ({values}): {detail}" if values else f"{meter_key}: {detail}"
