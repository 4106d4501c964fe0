"""Payments' dispute events in: the tenant's dispute access policy acted on the disputed subscription's features.

The dispute carries what the policy, when it opened, does to access (payments decides it once per dispute):
SUSPEND and REVOKE suspend every feature the subscription grants its customer, with a reason naming the dispute
(checks answer `suspended`); a SUSPEND dispute that is won lifts those suspensions, and only those. A REVOKE one
stays suspended whatever the bank decides (an operator may `RestoreFeature` by hand). KEEP changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from azotte.payments.v1 import disputes_pb2
from azotte.payments.v1 import events_pb2 as payment_events
from azotte_entitlement.domain.grants import GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_entitlement.service_layer import usage_controls
from azotte_platform.events.consumer import ConsumerSpec
from azotte_platform.events.envelope import ReceivedEvent

log = logging.getLogger(__name__)

DISPUTE_EVENTS = ConsumerSpec(
    durable="entitlement-payment-disputes",
    producer="payments",
    event_types=("payment.dispute_opened", "payment.dispute_closed"),
)
ACTING = {disputes_pb2.DISPUTE_ACCESS_SUSPEND: "DISPUTED", disputes_pb2.DISPUTE_ACCESS_REVOKE: "REVOKED"}


def dispute_reason(access: disputes_pb2.DisputeAccess.ValueType, dispute_id: str) -> str:
    """The reason of a suspension made for a dispute: its policy's word and the dispute."""
    return f"{ACTING[access]}: dispute {dispute_id}"


@dataclass(frozen=True)
class DisputeEventHandler:
    """Applies one dispute event in the consumer's unit of work (once per event: its inbox)."""

    projection: AccessProjection

    async def __call__(self, uow: EntitlementUnitOfWork, event: ReceivedEvent) -> None:
        opened = event.type == "payment.dispute_opened"
        if opened:
            dispute = event.payload(payment_events.DisputeOpened).dispute
        else:
            dispute = event.payload(payment_events.DisputeClosed).dispute
        if dispute.access not in ACTING:
            return
        if not dispute.customer_id or not dispute.subscription_id:
            log.warning("ignoring dispute event %s without a customer or subscription", event.id)
            return
        tenant, customer = event.tenant_id, dispute.customer_id
        reason = dispute_reason(dispute.access, dispute.id)
        grants = await uow.grants.from_sources(tenant, [(GrantSource.SUBSCRIPTION, dispute.subscription_id)])
        features = sorted({grant.feature_key for grant in grants if grant.key.customer_id == customer})
        for feature in features:
            if opened:
                await usage_controls.suspend_feature(uow, self.projection, tenant, customer, feature, reason)
                continue
            won = dispute.status == "won" and dispute.access == disputes_pb2.DISPUTE_ACCESS_SUSPEND
            current = await uow.access.suspension(tenant, customer, feature)
            # NOTE: only this dispute's suspension is lifted: one made for another reason stays.
            if won and current is not None and current.reason == reason:
                await usage_controls.restore_feature(uow, self.projection, tenant, customer, feature)
