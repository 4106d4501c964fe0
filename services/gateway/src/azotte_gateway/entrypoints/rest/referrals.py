"""REST endpoints of referrals: the program, a customer's referral code, the referrals."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Query
from google.protobuf import json_format
from pydantic import WithJsonSchema

from azotte.gateway.v1 import referrals_pb2 as gr
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.entrypoints.rest.common import JSON, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers, response_model
from azotte_platform.errors import InvalidArgument

router = APIRouter(tags=["referrals"])
READ = "Needs `read_referrals` (viewer and up)."
ProgramJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            # NOTE: any field may be left out (its default applies: `{}` is a disabled program without rules),
            # so the answer's schema, where every field is present, is named rather than imposed.
            "type": "object",
            "description": "The whole program, with the fields of the answers' "
            f"`{response_model(pr.ReferralProgram).__name__}`; `version` is the version it replaces (0 for the "
            "first). A field left out takes its default.",
        }
    ),
]
ReferralFilter = Annotated[
    str,
    Query(
        description="AIP-160 filter: `referrer_customer_id`, `referred_customer_id`, `state` (PENDING or "
        "REWARDED) with `=`, joined by `AND`.",
        max_length=2048,
    ),
]


class ProgramBody(MutatingBody):
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {**MutatingBody.use_case_rules, "program": {}}

    program: ProgramJson | None = None


@router.get(
    "/v1/referral-program",
    summary="The referral program",
    description=READ + " Disabled at version 0 until first updated.",
    **answers(gr.GetReferralProgramResponse),
)
async def get_referral_program(who: Who, g: Gw) -> JSON:
    return js(await g.referrals.get_referral_program(who, gr.GetReferralProgramRequest()))


@router.put(
    "/v1/referral-program",
    summary="Replace the referral program",
    description="Needs `manage_referrals` (manager and up). Rules give each side a reward (credit per currency via "
    "payments, or a single-use code of a promotion) by plan, storefront and channel; `conversion` "
    "(FIRST_PAID_PERIOD or SUBSCRIBED); `max_rewards_per_referrer`. A stale `version` is 409 "
    "`REFERRAL_PROGRAM_VERSION_MISMATCH`.",
    **answers(gr.UpdateReferralProgramResponse),
)
async def update_referral_program(body: ProgramBody, who: Who, g: Gw) -> JSON:
    request = gr.UpdateReferralProgramRequest(request_id=body.request_id)
    if body.program is not None:
        try:
            request.program.CopyFrom(json_format.ParseDict(body.program, pr.ReferralProgram()))
        except (json_format.ParseError, TypeError, ValueError) as error:
            raise InvalidArgument.field("program", str(error)) from None
    return js(await g.referrals.update_referral_program(who, request))


@router.post(
    "/v1/customers/{customer_id}/referral-code",
    summary="The customer's referral code (made once)",
    description="Needs `issue_referral_codes` (operator and up; a publishable key for its bound customer only). "
    "Every call answers the same code.",
    **answers(gr.IssueReferralCodeResponse),
)
async def issue_referral_code(customer_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gr.IssueReferralCodeRequest(request_id=body.request_id, customer_id=customer_id)
    return js(await g.referrals.issue_referral_code(who, request))


@router.get(
    "/v1/referrals/{referral_id}",
    summary="A referral and what each side was given",
    description=READ,
    **answers(gr.GetReferralResponse),
)
async def get_referral(referral_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.referrals.get_referral(who, gr.GetReferralRequest(referral_id=referral_id)))


@router.get(
    "/v1/referrals", summary="List referrals, newest first", description=READ, **answers(gr.ListReferralsResponse)
)
async def list_referrals(
    who: Who, g: Gw, page_size: PageSize = 0, page_token: str = "", filter: ReferralFilter = ""
) -> JSON:
    request = gr.ListReferralsRequest(page_size=page_size, page_token=page_token, filter=filter)
    return js(await g.referrals.list_referrals(who, request))
