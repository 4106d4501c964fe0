"""PromotionsService over gRPC: proto -> command -> use case -> proto, through `service_kit.Units`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from azotte.promotions.v1 import promotions_pb2 as pb
from azotte.promotions.v1 import promotions_pb2_grpc
from azotte_platform.convert import optional_from_timestamp, timestamp
from azotte_platform.errors import FieldViolation, InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units
from azotte_promotions.adapters import proto
from azotte_promotions.domain.promotion import PromotionState
from azotte_promotions.domain.store_offers import SubscriptionKey
from azotte_promotions.ports import People, PromotionsUnitOfWork
from azotte_promotions.service_layer import (
    campaigns,
    codes,
    documents,
    experiments,
    promotions,
    queries,
    redemptions,
    referrals,
    store_offers,
    trials,
    validation,
)


@contextmanager
def promotion_fields() -> Iterator[None]:
    """Violations of a promotion's definition named by the request's fields: `promotion.<field>`."""
    try:
        yield
    except InvalidArgument as error:
        if not error.violations:
            raise
        violations = [
            FieldViolation(
                v.field if v.field.startswith(("promotion", "update_mask")) else f"promotion.{v.field}", v.description
            )
            for v in error.violations
        ]
        renamed = type(error)(f"{violations[0].field}: {violations[0].description}", violations)
        raise renamed from None


class PromotionsServicer(promotions_pb2_grpc.PromotionsServiceServicer):
    """Translates PromotionsService calls into promotions use cases."""

    def __init__(self, units: Units[PromotionsUnitOfWork], reservation_ttl: timedelta, people: People):
        self.units = units
        self._ttl = reservation_ttl
        self._people = people

    # ------------------------------------------------------------------ promotions

    async def CreatePromotion(self, request: pb.CreatePromotionRequest, context: Any) -> pb.CreatePromotionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CreatePromotionResponse:
            with promotion_fields():
                definition = proto.definition_from_pb(request.promotion)
                view = await promotions.create_promotion(uow, tenant, definition, request.promotion.id)
            return pb.CreatePromotionResponse(promotion=proto.promotion_to_pb(view))

        return await self.units.mutate(request, pb.CreatePromotionResponse, work)

    async def ApplyPromotionsDocument(
        self, request: pb.ApplyPromotionsDocumentRequest, context: Any
    ) -> pb.ApplyPromotionsDocumentResponse:
        items = []
        for i, message in enumerate(request.promotions):
            with documents.at(f"promotions[{i}]"):
                items.append(proto.document_promotion_from_pb(message))

        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ApplyPromotionsDocumentResponse:
            changes = await documents.apply_document(uow, tenant, items, validate_only=request.validate_only)
            return pb.ApplyPromotionsDocumentResponse(
                changes=[proto.document_change_to_pb(c) for c in changes], applied=not request.validate_only
            )

        # NOTE: a dry run writes nothing (its unit of work is never committed), so it needs no request id.
        if request.validate_only:
            return await self.units.read(work)
        return await self.units.mutate(request, pb.ApplyPromotionsDocumentResponse, work)

    async def GetPromotion(self, request: pb.GetPromotionRequest, context: Any) -> pb.GetPromotionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetPromotionResponse:
            view = await promotions.get_promotion(uow, tenant, request.promotion_id)
            return pb.GetPromotionResponse(promotion=proto.promotion_to_pb(view))

        return await self.units.read(work)

    async def ListPromotions(self, request: pb.ListPromotionsRequest, context: Any) -> pb.ListPromotionsResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListPromotionsResponse:
            query = queries.promotion_query(request.filter, request.order_by)
            page = await promotions.list_promotions(
                uow, tenant, PageRequest.of(request, "promotions", repr(query)), query
            )
            return pb.ListPromotionsResponse(
                promotions=[proto.promotion_to_pb(v) for v in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def UpdatePromotion(self, request: pb.UpdatePromotionRequest, context: Any) -> pb.UpdatePromotionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.UpdatePromotionResponse:
            if not request.promotion.version:
                raise InvalidArgument.field("promotion.version", "is required: the version the change is based on")
            paths = tuple(request.update_mask.paths)
            with promotion_fields():
                view = await promotions.update_promotion(
                    uow,
                    tenant,
                    request.promotion.id,
                    request.promotion.version,
                    lambda current: proto.updated_definition(request.promotion, paths, current),
                    paths,
                )
            return pb.UpdatePromotionResponse(promotion=proto.promotion_to_pb(view))

        if not request.promotion.id:
            raise InvalidArgument.field("promotion.id", "is required")
        return await self.units.mutate(request, pb.UpdatePromotionResponse, work)

    async def ActivatePromotion(
        self, request: pb.ActivatePromotionRequest, context: Any
    ) -> pb.ActivatePromotionResponse:
        return pb.ActivatePromotionResponse(
            promotion=await self._transition(request, pb.ActivatePromotionResponse, PromotionState.ACTIVE)
        )

    async def PausePromotion(self, request: pb.PausePromotionRequest, context: Any) -> pb.PausePromotionResponse:
        return pb.PausePromotionResponse(
            promotion=await self._transition(request, pb.PausePromotionResponse, PromotionState.PAUSED)
        )

    async def EndPromotion(self, request: pb.EndPromotionRequest, context: Any) -> pb.EndPromotionResponse:
        return pb.EndPromotionResponse(
            promotion=await self._transition(request, pb.EndPromotionResponse, PromotionState.ENDED)
        )

    async def _transition(self, request: Any, response_type: Any, to: PromotionState) -> pb.Promotion:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> Any:
            view = await promotions.change_state(uow, tenant, request.promotion_id, to)
            return response_type(promotion=proto.promotion_to_pb(view))

        response = await self.units.mutate(request, response_type, work)
        promotion: pb.Promotion = response.promotion
        return promotion

    # ------------------------------------------------------------------ codes

    async def CreatePromotionCode(
        self, request: pb.CreatePromotionCodeRequest, context: Any
    ) -> pb.CreatePromotionCodeResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CreatePromotionCodeResponse:
            code = await codes.create_code(
                uow,
                tenant,
                request.promotion_id,
                request.code,
                max_redemptions=proto.optional_count(request, "max_redemptions", "max_redemptions"),
                max_per_customer=proto.optional_count(request, "max_per_customer", "max_per_customer"),
                expires_at=optional_from_timestamp(request, "expire_time"),
            )
            return pb.CreatePromotionCodeResponse(code=proto.code_to_pb(code))

        return await self.units.mutate(request, pb.CreatePromotionCodeResponse, work)

    async def GetPromotionCode(self, request: pb.GetPromotionCodeRequest, context: Any) -> pb.GetPromotionCodeResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetPromotionCodeResponse:
            return pb.GetPromotionCodeResponse(code=proto.code_to_pb(await codes.get_code(uow, tenant, request.code)))

        return await self.units.read(work)

    async def ListPromotionCodes(
        self, request: pb.ListPromotionCodesRequest, context: Any
    ) -> pb.ListPromotionCodesResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListPromotionCodesResponse:
            page_request = PageRequest.of(request, "codes", request.promotion_id)
            page = await codes.list_codes(uow, tenant, request.promotion_id, page_request)
            return pb.ListPromotionCodesResponse(
                codes=[proto.code_to_pb(c) for c in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def RevokePromotionCode(
        self, request: pb.RevokePromotionCodeRequest, context: Any
    ) -> pb.RevokePromotionCodeResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.RevokePromotionCodeResponse:
            code = await codes.revoke_code(uow, tenant, request.code)
            return pb.RevokePromotionCodeResponse(code=proto.code_to_pb(code))

        return await self.units.mutate(request, pb.RevokePromotionCodeResponse, work)

    async def CreateCodeBatch(self, request: pb.CreateCodeBatchRequest, context: Any) -> pb.CreateCodeBatchResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CreateCodeBatchResponse:
            batch = await codes.create_batch(
                uow,
                tenant,
                request.promotion_id,
                request.code_count,
                prefix=request.prefix,
                expires_at=optional_from_timestamp(request, "expire_time"),
            )
            return pb.CreateCodeBatchResponse(batch=proto.batch_to_pb(batch))

        return await self.units.mutate(request, pb.CreateCodeBatchResponse, work)

    async def GetCodeBatch(self, request: pb.GetCodeBatchRequest, context: Any) -> pb.GetCodeBatchResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetCodeBatchResponse:
            return pb.GetCodeBatchResponse(
                batch=proto.batch_to_pb(await codes.get_batch(uow, tenant, request.batch_id))
            )

        return await self.units.read(work)

    async def ExportCodeBatch(self, request: pb.ExportCodeBatchRequest, context: Any) -> pb.ExportCodeBatchResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ExportCodeBatchResponse:
            page = await codes.export_batch(uow, tenant, request.batch_id, request.page_size, request.page_token)
            return pb.ExportCodeBatchResponse(codes=page.items, next_page_token=page.next_page_token)

        return await self.units.read(work)

    async def RevokeCodeBatch(self, request: pb.RevokeCodeBatchRequest, context: Any) -> pb.RevokeCodeBatchResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.RevokeCodeBatchResponse:
            batch = await codes.revoke_batch(uow, tenant, request.batch_id)
            return pb.RevokeCodeBatchResponse(batch=proto.batch_to_pb(batch))

        return await self.units.mutate(request, pb.RevokeCodeBatchResponse, work)

    # ------------------------------------------------------------------ validate and redeem

    async def ValidateCode(self, request: pb.ValidateCodeRequest, context: Any) -> pb.ValidateCodeResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ValidateCodeResponse:
            checkout = proto.checkout_from_pb(request)
            answer = await validation.validate_code(uow, tenant, request.code, checkout)
            return pb.ValidateCodeResponse(validation=proto.validation_to_pb(answer))

        return await self.units.read(work)

    async def ValidatePromotion(
        self, request: pb.ValidatePromotionRequest, context: Any
    ) -> pb.ValidatePromotionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ValidatePromotionResponse:
            checkout = proto.checkout_from_pb(request)
            answer = await validation.validate_promotion(
                uow, tenant, request.promotion_id, checkout, automatic=request.automatic
            )
            return pb.ValidatePromotionResponse(validation=proto.validation_to_pb(answer))

        return await self.units.read(work)

    async def SetAppStoreSubscriptionKey(
        self, request: pb.SetAppStoreSubscriptionKeyRequest, context: Any
    ) -> pb.SetAppStoreSubscriptionKeyResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.SetAppStoreSubscriptionKeyResponse:
            key = SubscriptionKey(tenant, request.key_id, request.bundle_id, request.private_key_pem)
            kept = await store_offers.set_subscription_key(uow, key)
            return pb.SetAppStoreSubscriptionKeyResponse(key_id=kept.key_id, bundle_id=kept.bundle_id)

        return await self.units.mutate(request, pb.SetAppStoreSubscriptionKeyResponse, work)

    async def SignAppStoreOffer(
        self, request: pb.SignAppStoreOfferRequest, context: Any
    ) -> pb.SignAppStoreOfferResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.SignAppStoreOfferResponse:
            signed = await store_offers.sign_app_store_offer(
                uow, tenant, request.promotion_id, request.product_id, request.app_account_token
            )
            offer = signed.offer
            return pb.SignAppStoreOfferResponse(
                offer=pb.SignedAppStoreOffer(
                    offer_id=offer.offer_id,
                    key_id=offer.key_id,
                    nonce=offer.nonce,
                    timestamp_ms=offer.timestamp_ms,
                    signature=signed.signature,
                )
            )

        return await self.units.read(work)

    async def RecordStoreRedemption(
        self, request: pb.RecordStoreRedemptionRequest, context: Any
    ) -> pb.RecordStoreRedemptionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.RecordStoreRedemptionResponse:
            reported = store_offers.StoreRedemption(
                request.request_id,
                proto.channel_from_pb(request.channel, "channel"),
                request.offer_id,
                proto.checkout_from_pb(request),
                request.transaction_id,
            )
            redemption = await store_offers.record_store_redemption(uow, tenant, reported, self._ttl)
            return pb.RecordStoreRedemptionResponse(redemption=proto.redemption_to_pb(redemption))

        return await self.units.mutate(request, pb.RecordStoreRedemptionResponse, work)

    async def ReserveRedemption(
        self, request: pb.ReserveRedemptionRequest, context: Any
    ) -> pb.ReserveRedemptionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ReserveRedemptionResponse:
            reserve = redemptions.ReserveRequest(
                request.request_id,
                proto.checkout_from_pb(request),
                request.code,
                request.promotion_id,
                request.automatic,
            )
            redemption = await redemptions.reserve(uow, tenant, reserve, self._ttl)
            return pb.ReserveRedemptionResponse(redemption=proto.redemption_to_pb(redemption))

        return await self.units.mutate(request, pb.ReserveRedemptionResponse, work)

    async def ConfirmRedemption(
        self, request: pb.ConfirmRedemptionRequest, context: Any
    ) -> pb.ConfirmRedemptionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ConfirmRedemptionResponse:
            redemption = await redemptions.confirm(uow, tenant, request.redemption_id, request.charge_id)
            return pb.ConfirmRedemptionResponse(redemption=proto.redemption_to_pb(redemption))

        return await self.units.mutate(request, pb.ConfirmRedemptionResponse, work)

    async def ReleaseRedemption(
        self, request: pb.ReleaseRedemptionRequest, context: Any
    ) -> pb.ReleaseRedemptionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ReleaseRedemptionResponse:
            redemption = await redemptions.release(uow, tenant, request.redemption_id, request.reason)
            return pb.ReleaseRedemptionResponse(redemption=proto.redemption_to_pb(redemption))

        return await self.units.mutate(request, pb.ReleaseRedemptionResponse, work)

    async def CountRenewalDiscount(
        self, request: pb.CountRenewalDiscountRequest, context: Any
    ) -> pb.CountRenewalDiscountResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CountRenewalDiscountResponse:
            discount = request.discount
            granted = await redemptions.count_renewal_discount(
                uow, tenant, request.redemption_id, discount.currency_code, discount.amount_minor
            )
            return pb.CountRenewalDiscountResponse(granted=granted)

        return await self.units.mutate(request, pb.CountRenewalDiscountResponse, work)

    async def GetRedemption(self, request: pb.GetRedemptionRequest, context: Any) -> pb.GetRedemptionResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetRedemptionResponse:
            redemption = await redemptions.get_redemption(uow, tenant, request.redemption_id)
            return pb.GetRedemptionResponse(redemption=proto.redemption_to_pb(redemption))

        return await self.units.read(work)

    # ------------------------------------------------------------------ trials

    async def CheckTrialEligibility(
        self, request: pb.CheckTrialEligibilityRequest, context: Any
    ) -> pb.CheckTrialEligibilityResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CheckTrialEligibilityResponse:
            eligibility = await trials.check_eligibility(
                uow, self._people, tenant, request.customer_id, request.plan_id, request.subscription_id
            )
            return pb.CheckTrialEligibilityResponse(eligibility=proto.trial_eligibility_to_pb(eligibility))

        async def checkout(uow: PromotionsUnitOfWork, tenant: str) -> pb.CheckTrialEligibilityResponse:
            eligibility = await trials.check_checkout_eligibility(
                uow,
                self._people,
                tenant,
                request.customer_id,
                request.plan_id,
                request.subscription_id,
                request.request_id,
            )
            return pb.CheckTrialEligibilityResponse(eligibility=proto.trial_eligibility_to_pb(eligibility))

        if request.request_id:
            return await self.units.mutate(request, pb.CheckTrialEligibilityResponse, checkout)
        return await self.units.read(work)

    # ------------------------------------------------------------------ referrals

    async def GetReferralProgram(
        self, request: pb.GetReferralProgramRequest, context: Any
    ) -> pb.GetReferralProgramResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetReferralProgramResponse:
            return pb.GetReferralProgramResponse(program=proto.program_to_pb(await referrals.get_program(uow, tenant)))

        return await self.units.read(work)

    async def UpdateReferralProgram(
        self, request: pb.UpdateReferralProgramRequest, context: Any
    ) -> pb.UpdateReferralProgramResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.UpdateReferralProgramResponse:
            program = await referrals.update_program(uow, tenant, proto.program_from_pb(request.program, tenant))
            return pb.UpdateReferralProgramResponse(program=proto.program_to_pb(program))

        return await self.units.mutate(request, pb.UpdateReferralProgramResponse, work)

    async def IssueReferralCode(
        self, request: pb.IssueReferralCodeRequest, context: Any
    ) -> pb.IssueReferralCodeResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.IssueReferralCodeResponse:
            code = await referrals.issue_code(uow, self._people, tenant, request.customer_id)
            return pb.IssueReferralCodeResponse(referral_code=proto.referral_code_to_pb(code))

        return await self.units.mutate(request, pb.IssueReferralCodeResponse, work)

    async def AttachReferral(self, request: pb.AttachReferralRequest, context: Any) -> pb.AttachReferralResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.AttachReferralResponse:
            referral = await referrals.attach(uow, self._people, tenant, proto.attachment_from_pb(request))
            return pb.AttachReferralResponse(referral=proto.referral_to_pb(referral))

        return await self.units.mutate(request, pb.AttachReferralResponse, work)

    async def GetReferral(self, request: pb.GetReferralRequest, context: Any) -> pb.GetReferralResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetReferralResponse:
            referral = await referrals.get_referral(uow, tenant, request.referral_id)
            return pb.GetReferralResponse(referral=proto.referral_to_pb(referral))

        return await self.units.read(work)

    async def ListReferrals(self, request: pb.ListReferralsRequest, context: Any) -> pb.ListReferralsResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListReferralsResponse:
            query = queries.referral_query(request.filter)
            page = await referrals.list_referrals(uow, tenant, PageRequest.of(request, "referrals", repr(query)), query)
            return pb.ListReferralsResponse(
                referrals=[proto.referral_to_pb(r) for r in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    # ------------------------------------------------------------------ campaigns

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context: Any) -> pb.CreateCampaignResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CreateCampaignResponse:
            campaign = await campaigns.create_campaign(uow, tenant, proto.campaign_from_pb(request.campaign, tenant))
            return pb.CreateCampaignResponse(campaign=proto.campaign_to_pb(campaign))

        return await self.units.mutate(request, pb.CreateCampaignResponse, work)

    async def GetCampaign(self, request: pb.GetCampaignRequest, context: Any) -> pb.GetCampaignResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetCampaignResponse:
            campaign = await campaigns.get_campaign(uow, tenant, request.campaign_id)
            return pb.GetCampaignResponse(campaign=proto.campaign_to_pb(campaign))

        return await self.units.read(work)

    async def ListCampaigns(self, request: pb.ListCampaignsRequest, context: Any) -> pb.ListCampaignsResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListCampaignsResponse:
            page = await campaigns.list_campaigns(uow, tenant, PageRequest.of(request, "campaigns"))
            return pb.ListCampaignsResponse(
                campaigns=[proto.campaign_to_pb(c) for c in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def SetCampaignState(self, request: pb.SetCampaignStateRequest, context: Any) -> pb.SetCampaignStateResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.SetCampaignStateResponse:
            state = proto.campaign_state_from_pb(request.state, "state")
            campaign = await campaigns.set_state(uow, tenant, request.campaign_id, state)
            return pb.SetCampaignStateResponse(campaign=proto.campaign_to_pb(campaign))

        return await self.units.mutate(request, pb.SetCampaignStateResponse, work)

    async def ListCampaignOffers(
        self, request: pb.ListCampaignOffersRequest, context: Any
    ) -> pb.ListCampaignOffersResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListCampaignOffersResponse:
            campaign_id, customer_id = queries.offer_filter(request.filter)
            paging = PageRequest.of(request, "campaign_offers", campaign_id or "", customer_id or "")
            page = await campaigns.list_offers(uow, tenant, paging, campaign_id, customer_id)
            return pb.ListCampaignOffersResponse(
                offers=[proto.campaign_offer_to_pb(o) for o in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    # ------------------------------------------------------------------ experiments

    async def CreateExperiment(self, request: pb.CreateExperimentRequest, context: Any) -> pb.CreateExperimentResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.CreateExperimentResponse:
            new = proto.experiment_from_pb(request.experiment, tenant)
            experiment = await experiments.create_experiment(uow, tenant, new)
            return pb.CreateExperimentResponse(experiment=proto.experiment_to_pb(experiment))

        return await self.units.mutate(request, pb.CreateExperimentResponse, work)

    async def GetExperiment(self, request: pb.GetExperimentRequest, context: Any) -> pb.GetExperimentResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetExperimentResponse:
            experiment = await experiments.get_experiment(uow, tenant, request.experiment_id)
            return pb.GetExperimentResponse(experiment=proto.experiment_to_pb(experiment))

        return await self.units.read(work)

    async def ListExperiments(self, request: pb.ListExperimentsRequest, context: Any) -> pb.ListExperimentsResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.ListExperimentsResponse:
            page = await experiments.list_experiments(uow, tenant, PageRequest.of(request, "experiments"))
            return pb.ListExperimentsResponse(
                experiments=[proto.experiment_to_pb(e) for e in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def AssignExperimentVariant(
        self, request: pb.AssignExperimentVariantRequest, context: Any
    ) -> pb.AssignExperimentVariantResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.AssignExperimentVariantResponse:
            experiment = await experiments.get_experiment(uow, tenant, request.experiment_id)
            variant, assignment = await experiments.assign(
                uow, self._people, tenant, request.experiment_id, request.customer_id
            )
            answer = pb.AssignExperimentVariantResponse(variant=proto.variant_to_pb(variant, experiment.currency_code))
            if assignment is not None:
                answer.assign_time.CopyFrom(timestamp(assignment.assigned_at))
            return answer

        return await self.units.mutate(request, pb.AssignExperimentVariantResponse, work)

    async def GetExperimentResults(
        self, request: pb.GetExperimentResultsRequest, context: Any
    ) -> pb.GetExperimentResultsResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.GetExperimentResultsResponse:
            experiment, figures = await experiments.experiment_results(uow, tenant, request.experiment_id)
            return pb.GetExperimentResultsResponse(
                experiment=proto.experiment_to_pb(experiment),
                results=[
                    proto.variant_result_to_pb(r, experiment.currency_code, control=index == 0)
                    for index, r in enumerate(figures)
                ],
            )

        return await self.units.read(work)

    async def EndExperiment(self, request: pb.EndExperimentRequest, context: Any) -> pb.EndExperimentResponse:
        async def work(uow: PromotionsUnitOfWork, tenant: str) -> pb.EndExperimentResponse:
            experiment = await experiments.end(uow, tenant, request.experiment_id, request.ship_variant_id)
            return pb.EndExperimentResponse(experiment=proto.experiment_to_pb(experiment))

        return await self.units.mutate(request, pb.EndExperimentResponse, work)
