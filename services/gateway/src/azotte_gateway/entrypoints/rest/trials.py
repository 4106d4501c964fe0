"""REST endpoint of fair trials: whether a customer may start a plan's free trial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from azotte.gateway.v1 import promotions_pb2 as gp
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["promotions"])


@router.get(
    "/v1/customers/{customer_id}/trial-eligibility",
    summary="Whether the customer may start the plan's free trial, or why not",
    description="Needs `check_trial_eligibility` (viewer and up; a publishable key for its bound customer only). "
    "One trial per person per product line (the plan's family), on any channel: `eligibility.eligible`, or "
    "`reason` `TRIAL_ALREADY_USED` with `match` naming what of the customer matched the earlier trial (the "
    "customer, a channel identity or a card's fingerprint) and that trial's plan, channel and start.",
    **answers(gp.CheckTrialEligibilityResponse),
)
async def check_trial_eligibility(
    customer_id: str, plan_id: Annotated[str, Query(min_length=1, max_length=256)], who: Who, g: Gw
) -> JSON:
    request = gp.CheckTrialEligibilityRequest(customer_id=customer_id, plan_id=plan_id)
    return js(await g.trials.check_trial_eligibility(who, request))
