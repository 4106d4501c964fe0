"""Two-sided referrals (promotions does the work): the program, customers' codes, referrals, and a checkout's
referral code attached to the subscription it makes.

NOTE: the program, codes and referrals are answered as promotions sends them (the re-export policy in the
README): the tenant declares the program, and the rest derives from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import referrals_pb2 as gr
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import ReferralCodeNotEligible, ReferralCodeUnknown
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from azotte_platform.request_ids import derive_request_id
from azotte_platform.validation import field_names

CODE_NOT_FOUND = "REFERRAL_CODE_NOT_FOUND"


async def attach(
    peers: Peers,
    *,
    code: str,
    customer_id: str,
    subscription_id: str,
    plan: cat.Plan,
    storefront_id: str,
    channel: int,
    checkout_request_id: str,
) -> pr.Referral:
    """Attach the checkout's referral code to the subscription it makes, or refuse it naming `referral_code`."""
    request = pr.AttachReferralRequest(
        request_id=derive_request_id("checkout", checkout_request_id, "referral"),
        code=code,
        referred_customer_id=customer_id,
        subscription_id=subscription_id,
        plan_id=plan.id,
        storefront_id=storefront_id,
        channel=channel,  # type: ignore[arg-type]
    )
    try:
        with field_names({"code": "referral_code"}):
            answer = await peers.promotions.AttachReferral(request)
    except NotFound as error:
        if error.reason != CODE_NOT_FOUND:
            raise
        raise ReferralCodeUnknown.field("referral_code", "is not a known referral code") from None
    except FailedPrecondition as error:
        refusal = ReferralCodeNotEligible.field("referral_code", error.message)
        refusal.metadata.update({"reason": error.reason, **error.metadata})
        raise refusal from None
    result: pr.Referral = answer.referral
    return result


@dataclass(frozen=True)
class Referrals:
    """ReferralsService."""

    peers: Peers

    async def get_referral_program(
        self, caller: Caller, request: gr.GetReferralProgramRequest
    ) -> gr.GetReferralProgramResponse:
        authorize(caller.principal, Permission.READ_REFERRALS)
        answer = await self.peers.promotions.GetReferralProgram(pr.GetReferralProgramRequest())
        return gr.GetReferralProgramResponse(program=answer.program)

    async def update_referral_program(
        self, caller: Caller, request: gr.UpdateReferralProgramRequest
    ) -> gr.UpdateReferralProgramResponse:
        authorize(caller.principal, Permission.MANAGE_REFERRALS)
        require_mutation(request)
        if not request.HasField("program"):
            raise InvalidArgument.field("program", "is required: the whole program, as it is to be")
        answer = await self.peers.promotions.UpdateReferralProgram(
            pr.UpdateReferralProgramRequest(request_id=request.request_id, program=request.program)
        )
        return gr.UpdateReferralProgramResponse(program=answer.program)

    async def issue_referral_code(
        self, caller: Caller, request: gr.IssueReferralCodeRequest
    ) -> gr.IssueReferralCodeResponse:
        authorize(caller.principal, Permission.ISSUE_REFERRAL_CODES, customer_id=request.customer_id)
        # NOTE: promotions asks lifecycle for the customer: an unknown one (or another tenant's) is NOT_FOUND.
        require_mutation(request, "customer_id")
        answer = await self.peers.promotions.IssueReferralCode(
            pr.IssueReferralCodeRequest(request_id=request.request_id, customer_id=request.customer_id)
        )
        return gr.IssueReferralCodeResponse(referral_code=answer.referral_code)

    async def get_referral(self, caller: Caller, request: gr.GetReferralRequest) -> gr.GetReferralResponse:
        authorize(caller.principal, Permission.READ_REFERRALS)
        require(request, "referral_id")
        answer = await self.peers.promotions.GetReferral(pr.GetReferralRequest(referral_id=request.referral_id))
        return gr.GetReferralResponse(referral=answer.referral)

    async def list_referrals(self, caller: Caller, request: gr.ListReferralsRequest) -> gr.ListReferralsResponse:
        authorize(caller.principal, Permission.READ_REFERRALS)
        answer = await self.peers.promotions.ListReferrals(
            pr.ListReferralsRequest(page_size=request.page_size, page_token=request.page_token, filter=request.filter)
        )
        return gr.ListReferralsResponse(referrals=answer.referrals, next_page_token=answer.next_page_token)
