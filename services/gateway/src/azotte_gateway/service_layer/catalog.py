"""The catalog: apply and export the document, read and change its resources one by one (catalog does the work).

NOTE: the catalog's resources are answered as the catalog sends them (the re-export policy in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.domain.localization import content_language, parse_accept_language
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer import catalog_promotions
from azotte_gateway.service_layer import policy as lifecycle_policy
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.catalog_reads import CatalogReads
from azotte_gateway.service_layer.localization import language, with_display_amounts
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import forwarded
from azotte_platform.paging import page_size
from azotte_platform.validation import field_names

# NOTE: the catalog names a plan and a price `id` where the gateway's requests say `plan_id`, `price_id`.
PLAN_ID = {"id": "plan_id"}
PRICE_ID = {"id": "price_id"}


def require_resource(request: Message, field: str) -> None:
    """INVALID_ARGUMENT naming `field` when the request leaves that resource message unset."""
    if not request.HasField(field):
        raise InvalidArgument.field(field, "is required")


def require_identity(field: str, value: str) -> None:
    """INVALID_ARGUMENT naming `field` (e.g. `plan.id`) when the resource's identity is empty."""
    if not value:
        raise InvalidArgument.field(field, "is required")


@dataclass(frozen=True)
class Catalog:
    """ApplyCatalog, ExportCatalog, GetStorefront, ListStorefronts, GetPlan, ListPlans, ListPrices, and
    CatalogAdminService: storefronts, features, plans, scheduled prices and channel mappings one by one.

    A change made here drops what `reads` kept of the tenant's catalog at once (other replicas drop it on the
    catalog's event): the next checkout on this replica reads it.
    """

    peers: Peers
    reads: CatalogReads

    async def apply_catalog(self, caller: Caller, request: gw.ApplyCatalogRequest) -> gw.ApplyCatalogResponse:
        authorize(caller.principal, Permission.APPLY_CATALOG)
        # NOTE: a dry run (validate_only) writes nothing, so it needs no request id.
        if request.validate_only:
            require(request, "document")
        else:
            require_mutation(request, "document")
        # NOTE: lifecycle owns the policy: the catalog leaves the document's `lifecycle_policy` alone, and
        # lifecycle checks it (before anything is written) and stores it once the catalog applied.
        section = lifecycle_policy.document_section(request.document, request.format)
        planned = None
        if section is not None:
            authorize(caller.principal, Permission.MANAGE_LIFECYCLE_POLICY)
            planned = await lifecycle_policy.plan_section(self.peers, section)
        # NOTE: promotions owns its promotions: it checks the `promotions` section before the catalog writes
        # anything, and writes it (in one transaction of its own) once the catalog applied.
        promotions = catalog_promotions.document_section(request.document, request.format)
        promotion_changes: list[cat.CatalogChange] = []
        if promotions is not None:
            authorize(caller.principal, Permission.MANAGE_PROMOTIONS)
            promotion_changes = await catalog_promotions.plan_section(self.peers, promotions)
        answer = await self.peers.catalog.ApplyCatalog(
            cat.ApplyCatalogRequest(
                request_id=request.request_id,
                document=request.document,
                format=request.format or cat.DOCUMENT_FORMAT_YAML,
                validate_only=request.validate_only,
            )
        )
        if answer.applied:
            self.reads.forget()
        changes = [*answer.changes]
        if planned is not None:
            if planned.policy is not None and answer.applied:
                await lifecycle_policy.apply_section(self.peers, planned.policy, request.request_id)
            changes += planned.changes
        if promotions is not None and answer.applied:
            promotion_changes = await catalog_promotions.apply_section(self.peers, promotions, request.request_id)
        changes += promotion_changes
        return gw.ApplyCatalogResponse(changes=changes, applied=answer.applied, warnings=answer.warnings)

    async def export_catalog(self, caller: Caller, request: gw.ExportCatalogRequest) -> gw.ExportCatalogResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ExportCatalog(
            cat.ExportCatalogRequest(format=request.format or cat.DOCUMENT_FORMAT_YAML)
        )
        return gw.ExportCatalogResponse(document=answer.document)

    async def get_storefront(self, caller: Caller, request: gw.GetStorefrontRequest) -> gw.GetStorefrontResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        require(request, "storefront_id")
        answer = await self.peers.catalog.GetStorefront(cat.GetStorefrontRequest(id=request.storefront_id))
        return gw.GetStorefrontResponse(storefront=answer.storefront)

    async def list_storefronts(self, caller: Caller, request: gw.ListStorefrontsRequest) -> gw.ListStorefrontsResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListStorefronts(
            cat.ListStorefrontsRequest(
                **forwarded(request),
            )
        )
        return gw.ListStorefrontsResponse(storefronts=answer.storefronts, next_page_token=answer.next_page_token)

    async def get_plan(self, caller: Caller, request: gw.GetPlanRequest) -> gw.GetPlanResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        require(request, "plan_id")
        answer = await self.peers.catalog.GetPlan(
            cat.GetPlanRequest(id=request.plan_id, language=language(request.locale, request.storefront_id))
        )
        return gw.GetPlanResponse(plan=answer.plan, content_language=answer.plan.localized.locale)

    async def list_plans(self, caller: Caller, request: gw.ListPlansRequest) -> gw.ListPlansResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListPlans(
            cat.ListPlansRequest(
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                family=request.family,
                filter=request.filter,
                order_by=request.order_by,
                language=language(request.locale, request.storefront_id),
            )
        )
        return gw.ListPlansResponse(
            plans=answer.plans,
            next_page_token=answer.next_page_token,
            content_language=content_language(p.localized.locale for p in answer.plans),
        )

    async def list_prices(self, caller: Caller, request: gw.ListPricesRequest) -> gw.ListPricesResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        preferred = parse_accept_language(request.locale, "locale")
        answer = await self.peers.catalog.ListPrices(
            cat.ListPricesRequest(
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
                filter=request.filter,
                order_by=request.order_by,
            )
        )
        prices = [*answer.prices]
        used = await with_display_amounts(self.peers, prices, preferred)
        return gw.ListPricesResponse(
            prices=prices, next_page_token=answer.next_page_token, content_language=content_language(used)
        )

    # CatalogAdminService

    async def create_storefront(
        self, caller: Caller, request: ca.CreateStorefrontRequest
    ) -> ca.CreateStorefrontResponse:
        authorize(caller.principal, Permission.MANAGE_STOREFRONTS)
        require_mutation(request)
        require_resource(request, "storefront")
        answer = await self.peers.catalog.CreateStorefront(
            cat.CreateStorefrontRequest(request_id=request.request_id, storefront=request.storefront)
        )
        self.reads.forget()
        return ca.CreateStorefrontResponse(storefront=answer.storefront)

    async def update_storefront(
        self, caller: Caller, request: ca.UpdateStorefrontRequest
    ) -> ca.UpdateStorefrontResponse:
        authorize(caller.principal, Permission.MANAGE_STOREFRONTS)
        require_mutation(request)
        require_identity("storefront.id", request.storefront.id)
        answer = await self.peers.catalog.UpdateStorefront(
            cat.UpdateStorefrontRequest(
                request_id=request.request_id, storefront=request.storefront, update_mask=request.update_mask
            )
        )
        self.reads.forget()
        return ca.UpdateStorefrontResponse(storefront=answer.storefront)

    async def get_feature(self, caller: Caller, request: ca.GetFeatureRequest) -> ca.GetFeatureResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        require(request, "feature_key")
        answer = await self.peers.catalog.GetFeature(
            cat.GetFeatureRequest(key=request.feature_key, language=language(request.locale))
        )
        return ca.GetFeatureResponse(feature=answer.feature)

    async def list_features(self, caller: Caller, request: ca.ListFeaturesRequest) -> ca.ListFeaturesResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListFeatures(
            cat.ListFeaturesRequest(**forwarded(request), language=language(request.locale))
        )
        return ca.ListFeaturesResponse(features=answer.features, next_page_token=answer.next_page_token)

    async def create_feature(self, caller: Caller, request: ca.CreateFeatureRequest) -> ca.CreateFeatureResponse:
        authorize(caller.principal, Permission.MANAGE_FEATURES)
        require_mutation(request)
        require_resource(request, "feature")
        answer = await self.peers.catalog.CreateFeature(
            cat.CreateFeatureRequest(request_id=request.request_id, feature=request.feature)
        )
        self.reads.forget()
        return ca.CreateFeatureResponse(feature=answer.feature)

    async def update_feature(self, caller: Caller, request: ca.UpdateFeatureRequest) -> ca.UpdateFeatureResponse:
        authorize(caller.principal, Permission.MANAGE_FEATURES)
        require_mutation(request)
        require_identity("feature.key", request.feature.key)
        answer = await self.peers.catalog.UpdateFeature(
            cat.UpdateFeatureRequest(
                request_id=request.request_id, feature=request.feature, update_mask=request.update_mask
            )
        )
        self.reads.forget()
        return ca.UpdateFeatureResponse(feature=answer.feature)

    async def create_plan(self, caller: Caller, request: ca.CreatePlanRequest) -> ca.CreatePlanResponse:
        authorize(caller.principal, Permission.MANAGE_PLANS)
        require_mutation(request)
        require_resource(request, "plan")
        answer = await self.peers.catalog.CreatePlan(
            cat.CreatePlanRequest(request_id=request.request_id, plan=request.plan)
        )
        self.reads.forget()
        return ca.CreatePlanResponse(plan=answer.plan)

    async def update_plan(self, caller: Caller, request: ca.UpdatePlanRequest) -> ca.UpdatePlanResponse:
        authorize(caller.principal, Permission.MANAGE_PLANS)
        require_mutation(request)
        require_identity("plan.id", request.plan.id)
        answer = await self.peers.catalog.UpdatePlan(
            cat.UpdatePlanRequest(request_id=request.request_id, plan=request.plan, update_mask=request.update_mask)
        )
        self.reads.forget()
        return ca.UpdatePlanResponse(plan=answer.plan)

    async def activate_plan(self, caller: Caller, request: ca.ActivatePlanRequest) -> ca.ActivatePlanResponse:
        authorize(caller.principal, Permission.MANAGE_PLANS)
        require_mutation(request, "plan_id")
        with field_names(PLAN_ID):
            answer = await self.peers.catalog.ActivatePlan(
                cat.ActivatePlanRequest(request_id=request.request_id, id=request.plan_id)
            )
            self.reads.forget()
        return ca.ActivatePlanResponse(plan=answer.plan)

    async def retire_plan(self, caller: Caller, request: ca.RetirePlanRequest) -> ca.RetirePlanResponse:
        authorize(caller.principal, Permission.MANAGE_PLANS)
        require_mutation(request, "plan_id")
        with field_names(PLAN_ID):
            answer = await self.peers.catalog.RetirePlan(
                cat.RetirePlanRequest(request_id=request.request_id, id=request.plan_id)
            )
            self.reads.forget()
        return ca.RetirePlanResponse(plan=answer.plan)

    async def schedule_price(self, caller: Caller, request: ca.SchedulePriceRequest) -> ca.SchedulePriceResponse:
        authorize(caller.principal, Permission.SCHEDULE_PRICES)
        require_mutation(request, "plan_id", "storefront_id")
        schedule = cat.SchedulePriceRequest(
            request_id=request.request_id,
            plan_id=request.plan_id,
            storefront_id=request.storefront_id,
            channel=request.channel,
            amount_minor=request.amount_minor,
            existing_subscribers=request.existing_subscribers,
        )
        if request.HasField("effective_time"):
            schedule.effective_time.CopyFrom(request.effective_time)
        answer = await self.peers.catalog.SchedulePrice(schedule)
        self.reads.forget()
        return ca.SchedulePriceResponse(price=answer.price)

    async def cancel_price(self, caller: Caller, request: ca.CancelPriceRequest) -> ca.CancelPriceResponse:
        authorize(caller.principal, Permission.SCHEDULE_PRICES)
        require_mutation(request, "price_id")
        with field_names(PRICE_ID):
            answer = await self.peers.catalog.CancelPrice(
                cat.CancelPriceRequest(request_id=request.request_id, id=request.price_id)
            )
            self.reads.forget()
        return ca.CancelPriceResponse(price=answer.price)

    async def create_channel_mapping(
        self, caller: Caller, request: ca.CreateChannelMappingRequest
    ) -> ca.CreateChannelMappingResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNEL_MAPPINGS)
        require_mutation(request)
        require_resource(request, "channel_mapping")
        answer = await self.peers.catalog.CreateChannelMapping(
            cat.CreateChannelMappingRequest(request_id=request.request_id, channel_mapping=request.channel_mapping)
        )
        self.reads.forget()
        return ca.CreateChannelMappingResponse(channel_mapping=answer.channel_mapping)

    async def list_channel_mappings(
        self, caller: Caller, request: ca.ListChannelMappingsRequest
    ) -> ca.ListChannelMappingsResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListChannelMappings(
            cat.ListChannelMappingsRequest(
                **forwarded(request),
            )
        )
        return ca.ListChannelMappingsResponse(
            channel_mappings=answer.channel_mappings, next_page_token=answer.next_page_token
        )
