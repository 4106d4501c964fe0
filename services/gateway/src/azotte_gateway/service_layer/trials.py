"""Fair trials: whether a customer may start a plan's free trial (promotions judges it across every channel).

A paywall asks before offering the trial; the checkout asks before starting one and refuses a second trial
of the product line (`TRIAL_ALREADY_USED`, HTTP 409) unless the caller buys without it (`skip_trial`).
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import TrialAlreadyUsed
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require

MATCH_KINDS = {
    pr.TRIAL_MATCH_KIND_CUSTOMER: "customer",
    pr.TRIAL_MATCH_KIND_CHANNEL_IDENTITY: "channel_identity",
    pr.TRIAL_MATCH_KIND_PAYMENT_METHOD: "payment_method",
}


async def eligibility(
    peers: Peers, customer_id: str, plan_id: str, subscription_id: str = "", request_id: str = ""
) -> pr.TrialEligibility:
    """Promotions' answer for the customer and plan (the trial of `subscription_id` itself does not count); with
    the checkout's `request_id`, a refusal is recorded as a trial blocked by eligibility (trial.blocked)."""
    answer = await peers.promotions.CheckTrialEligibility(
        pr.CheckTrialEligibilityRequest(
            customer_id=customer_id, plan_id=plan_id, subscription_id=subscription_id, request_id=request_id
        )
    )
    result: pr.TrialEligibility = answer.eligibility
    return result


async def require_trial_eligibility(
    peers: Peers, customer_id: str, plan_id: str, subscription_id: str, request_id: str
) -> None:
    """Refuse a trial the customer may not start, saying what matched the earlier trial; the checkout's own
    subscription (made by an earlier attempt of the same checkout `request_id`) is not an earlier trial."""
    answer = await eligibility(peers, customer_id, plan_id, subscription_id, request_id)
    if answer.eligible:
        return
    match = answer.match
    kind = MATCH_KINDS.get(match.kind, "customer")
    raise TrialAlreadyUsed(
        f"customer {customer_id!r} already took a free trial of product line {answer.product_line!r} "
        f"(plan {match.plan_id!r}, matched by {kind}); buy without it with skip_trial",
        metadata={
            "product_line": answer.product_line,
            "match": kind,
            "matched_value": match.value,
            "trial_plan_id": match.plan_id,
        },
    )


@dataclass(frozen=True)
class Trials:
    """PromotionsService.CheckTrialEligibility."""

    peers: Peers

    async def check_trial_eligibility(
        self, caller: Caller, request: gp.CheckTrialEligibilityRequest
    ) -> gp.CheckTrialEligibilityResponse:
        authorize(caller.principal, Permission.CHECK_TRIAL_ELIGIBILITY, customer_id=request.customer_id)
        require(request, "customer_id", "plan_id")
        return gp.CheckTrialEligibilityResponse(
            eligibility=await eligibility(self.peers, request.customer_id, request.plan_id)
        )
