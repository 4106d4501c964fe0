"""Metering's events in: a hard limit reached suspends its feature, released restores it; a quota feature's use
measured by a meter becomes the customer's quota used in the period (until the period's end, if it has one).

The suspension's reason starts with the limit's denial (`SPEND_LIMIT_REACHED: ...`), so checks answer it,
and names the limit, so only that limit's release lifts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from azotte.metering.v1 import events_pb2 as metering_events
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_entitlement.service_layer import usage_controls
from azotte_platform.convert import optional_from_timestamp
from azotte_platform.events.consumer import ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent

log = logging.getLogger(__name__)

LIMIT_EVENTS = ConsumerSpec(
    durable="entitlement-metering-limits", producer="metering", event_types=("limit.reached", "limit.released")
)


QUOTA_EVENTS = ConsumerSpec(durable="entitlement-metering-quotas", producer="metering", event_types=("quota.used",))


def limit_reason(denial: str, limit_id: str) -> str:
    return f"{denial}: usage limit {limit_id}"


@dataclass(frozen=True)
class LimitEventHandler:
    """Applies one limit event in the consumer's unit of work (once per event: its inbox)."""

    projection: AccessProjection

    async def __call__(self, uow: EntitlementUnitOfWork, event: ReceivedEvent) -> None:
        payload = event.payload(metering_events.LimitChanged)
        customer, feature = payload.customer_id, payload.limit.feature_key
        if not customer or not feature or not payload.denial:
            log.warning("ignoring limit event %s without a customer, feature or denial", event.id)
            return
        reason = limit_reason(payload.denial, payload.limit.limit_id)
        tenant = event.tenant_id
        if event.type == "limit.reached":
            await usage_controls.suspend_feature(uow, self.projection, tenant, customer, feature, reason)
            return
        current = await uow.access.suspension(tenant, customer, feature)
        if current is not None and current.reason == reason:
            await usage_controls.restore_feature(uow, self.projection, tenant, customer, feature)


@dataclass(frozen=True)
class QuotaEventHandler:
    """Applies one `quota.used` in the consumer's unit of work: the quota the customer used in the period."""

    projection: AccessProjection

    async def __call__(self, uow: EntitlementUnitOfWork, event: ReceivedEvent) -> None:
        payload = event.payload(metering_events.QuotaUsed)
        period_start = optional_from_timestamp(payload, "period_start_time")
        period_end = optional_from_timestamp(payload, "period_end_time")
        if not payload.customer_id or not payload.feature_key or period_start is None:
            log.warning("ignoring quota event %s without a customer, feature or period", event.id)
            return
        if period_end is not None and period_end <= period_start:
            log.warning("ignoring quota event %s: its period ends before it starts", event.id)
            return
        customer, feature, used = payload.customer_id, payload.feature_key, max(payload.used, 0)
        await usage_controls.record_usage(
            uow, self.projection, event.tenant_id, customer, feature, used, period_start, period_end
        )
