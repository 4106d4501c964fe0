"""gRPC CatalogService: translates protobuf requests to catalog use cases and back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

import grpc
import yaml
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte_catalog.adapters import proto
from azotte_catalog.domain.channel import Channel
from azotte_catalog.domain.diff import CatalogDiff, diff_catalog
from azotte_catalog.domain.document import DocumentFormat, export_document, load_document_text, parse_document
from azotte_catalog.domain.price import PriceKey
from azotte_catalog.service_layer import plans, resources
from azotte_catalog.service_layer.app import CatalogApp
from azotte_catalog.service_layer.apply import apply_document
from azotte_catalog.service_layer.prices import SchedulePrice, schedule_new_price
from azotte_catalog.service_layer.writer import CatalogWriter
from azotte_platform.context import require_tenant
from azotte_platform.errors import InvalidArgument

from .paging import page_of

M = TypeVar("M", bound=Message)
Context = grpc.aio.ServicerContext[Any, Any]

STOREFRONT_MASK = frozenset(
    {"display_name", "country_code", "currency_code", "locales", "channels", "tax_policy", "payment_routing"}
)
FEATURE_MASK = frozenset({"display_name", "kind", "unit", "reset_period"})
PLAN_MASK = frozenset(
    {"display_name", "family", "rank", "billing_interval", "trial_days", "feature_grants", "add_on", "add_on_plan_ids"}
)


def merge_update(current: M, patch: M, mask: FieldMask, allowed: frozenset[str]) -> M:
    """`current` with the masked fields of `patch`; an empty mask means every field `patch` sets."""
    paths = list(mask.paths) or [f.name for f, _ in patch.ListFields() if f.name in allowed]
    unknown = [path for path in paths if path.split(".")[0] not in allowed]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: {sorted(allowed)}")
    merged = type(current)()
    merged.CopyFrom(current)
    FieldMask(paths=paths).MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


def _document_format(number: int) -> DocumentFormat:
    return DocumentFormat.JSON if number == pb.DOCUMENT_FORMAT_JSON else DocumentFormat.YAML


def _channel_or_web(number: int) -> Channel:
    if number == 0:
        return Channel.WEB
    channel = proto.channel_from_proto(number)
    if channel is None:
        raise InvalidArgument.field("channel", f"unknown channel {number}")
    return channel


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    """The catalog's gRPC API; the tenant comes from the call's metadata."""

    def __init__(self, app: CatalogApp):
        self._app = app

    # Storefronts

    async def GetStorefront(self, request: pb.GetStorefrontRequest, context: Context) -> pb.GetStorefrontResponse:
        view = await self._app.view(require_tenant())
        storefront = view.storefront(request.id)
        return pb.GetStorefrontResponse(
            storefront=proto.storefront_to_proto(storefront, view.times_of("storefront", storefront.id))
        )

    async def ListStorefronts(self, request: pb.ListStorefrontsRequest, context: Context) -> pb.ListStorefrontsResponse:
        view = await self._app.view(require_tenant())
        page = page_of(view.catalog.storefronts, lambda s: s.id, request.page_size, request.page_token, ["storefronts"])
        return pb.ListStorefrontsResponse(
            storefronts=[proto.storefront_to_proto(s, view.times_of("storefront", s.id)) for s in page.items],
            next_page_token=page.next_page_token,
        )

    async def CreateStorefront(
        self, request: pb.CreateStorefrontRequest, context: Context
    ) -> pb.CreateStorefrontResponse:
        tenant = require_tenant()
        storefront = proto.storefront_from_proto(request.storefront)

        async def change(w: CatalogWriter) -> pb.CreateStorefrontResponse:
            created = await resources.create_storefront(w, storefront)
            return pb.CreateStorefrontResponse(
                storefront=proto.storefront_to_proto(created, w.times_of("storefront", created.id))
            )

        return await self._app.mutate(tenant, "CreateStorefront", request, pb.CreateStorefrontResponse, change)

    async def UpdateStorefront(
        self, request: pb.UpdateStorefrontRequest, context: Context
    ) -> pb.UpdateStorefrontResponse:
        tenant = require_tenant()

        async def change(w: CatalogWriter) -> pb.UpdateStorefrontResponse:
            current = proto.storefront_to_proto(w.storefront(request.storefront.id))
            merged = merge_update(current, request.storefront, request.update_mask, STOREFRONT_MASK)
            updated = await resources.update_storefront(w, proto.storefront_from_proto(merged))
            return pb.UpdateStorefrontResponse(
                storefront=proto.storefront_to_proto(updated, w.times_of("storefront", updated.id))
            )

        return await self._app.mutate(tenant, "UpdateStorefront", request, pb.UpdateStorefrontResponse, change)

    # Features

    async def GetFeature(self, request: pb.GetFeatureRequest, context: Context) -> pb.GetFeatureResponse:
        view = await self._app.view(require_tenant())
        return pb.GetFeatureResponse(feature=proto.feature_to_proto(view.feature(request.key)))

    async def ListFeatures(self, request: pb.ListFeaturesRequest, context: Context) -> pb.ListFeaturesResponse:
        view = await self._app.view(require_tenant())
        page = page_of(view.catalog.features, lambda f: f.key, request.page_size, request.page_token, ["features"])
        return pb.ListFeaturesResponse(
            features=[proto.feature_to_proto(f) for f in page.items], next_page_token=page.next_page_token
        )

    async def CreateFeature(self, request: pb.CreateFeatureRequest, context: Context) -> pb.CreateFeatureResponse:
        tenant = require_tenant()
        feature = proto.feature_from_proto(request.feature)

        async def change(w: CatalogWriter) -> pb.CreateFeatureResponse:
            created = await resources.create_feature(w, feature)
            return pb.CreateFeatureResponse(feature=proto.feature_to_proto(created))

        return await self._app.mutate(tenant, "CreateFeature", request, pb.CreateFeatureResponse, change)

    async def UpdateFeature(self, request: pb.UpdateFeatureRequest, context: Context) -> pb.UpdateFeatureResponse:
        tenant = require_tenant()

        async def change(w: CatalogWriter) -> pb.UpdateFeatureResponse:
            current = proto.feature_to_proto(w.feature(request.feature.key))
            merged = merge_update(current, request.feature, request.update_mask, FEATURE_MASK)
            updated = await resources.update_feature(w, proto.feature_from_proto(merged))
            return pb.UpdateFeatureResponse(feature=proto.feature_to_proto(updated))

        return await self._app.mutate(tenant, "UpdateFeature", request, pb.UpdateFeatureResponse, change)

    # Plans

    async def GetPlan(self, request: pb.GetPlanRequest, context: Context) -> pb.GetPlanResponse:
        view = await self._app.view(require_tenant())
        plan = view.plan(request.id)
        return pb.GetPlanResponse(plan=proto.plan_to_proto(plan, view.times_of("plan", plan.id)))

    async def ListPlans(self, request: pb.ListPlansRequest, context: Context) -> pb.ListPlansResponse:
        view = await self._app.view(require_tenant())
        matching = [p for p in view.catalog.plans if not request.family or p.family == request.family]
        page = page_of(matching, lambda p: p.id, request.page_size, request.page_token, ["plans", request.family])
        return pb.ListPlansResponse(
            plans=[proto.plan_to_proto(p, view.times_of("plan", p.id)) for p in page.items],
            next_page_token=page.next_page_token,
        )

    async def CreatePlan(self, request: pb.CreatePlanRequest, context: Context) -> pb.CreatePlanResponse:
        tenant = require_tenant()
        plan = proto.plan_from_proto(request.plan)

        async def change(w: CatalogWriter) -> pb.CreatePlanResponse:
            created = await plans.create_plan(w, plan)
            return pb.CreatePlanResponse(plan=proto.plan_to_proto(created, w.times_of("plan", created.id)))

        return await self._app.mutate(tenant, "CreatePlan", request, pb.CreatePlanResponse, change)

    async def UpdatePlan(self, request: pb.UpdatePlanRequest, context: Context) -> pb.UpdatePlanResponse:
        tenant = require_tenant()

        async def change(w: CatalogWriter) -> pb.UpdatePlanResponse:
            current = proto.plan_to_proto(w.plan(request.plan.id))
            merged = merge_update(current, request.plan, request.update_mask, PLAN_MASK)
            updated = await plans.update_plan(w, proto.plan_from_proto(merged))
            return pb.UpdatePlanResponse(plan=proto.plan_to_proto(updated, w.times_of("plan", updated.id)))

        return await self._app.mutate(tenant, "UpdatePlan", request, pb.UpdatePlanResponse, change)

    async def ActivatePlan(self, request: pb.ActivatePlanRequest, context: Context) -> pb.ActivatePlanResponse:
        tenant = require_tenant()

        async def change(w: CatalogWriter) -> pb.ActivatePlanResponse:
            plan = await plans.activate_plan(w, request.id)
            return pb.ActivatePlanResponse(plan=proto.plan_to_proto(plan, w.times_of("plan", plan.id)))

        return await self._app.mutate(tenant, "ActivatePlan", request, pb.ActivatePlanResponse, change)

    async def RetirePlan(self, request: pb.RetirePlanRequest, context: Context) -> pb.RetirePlanResponse:
        tenant = require_tenant()

        async def change(w: CatalogWriter) -> pb.RetirePlanResponse:
            plan = await plans.retire_plan(w, request.id)
            return pb.RetirePlanResponse(plan=proto.plan_to_proto(plan, w.times_of("plan", plan.id)))

        return await self._app.mutate(tenant, "RetirePlan", request, pb.RetirePlanResponse, change)

    # Prices

    async def SchedulePrice(self, request: pb.SchedulePriceRequest, context: Context) -> pb.SchedulePriceResponse:
        tenant = require_tenant()
        channel = proto.channel_from_proto(request.channel)
        if request.channel and channel is None:
            raise InvalidArgument.field("channel", f"unknown channel {request.channel}")
        command = SchedulePrice(
            key=PriceKey(request.plan_id, request.storefront_id, channel),
            amount_minor=request.amount_minor,
            effective_from=proto.from_timestamp(request.effective_time) if request.HasField("effective_time") else None,
            existing_subscribers=proto.existing_subscribers_from_proto(request.existing_subscribers),
        )

        async def change(w: CatalogWriter) -> pb.SchedulePriceResponse:
            price = await schedule_new_price(w, command)
            return pb.SchedulePriceResponse(price=proto.price_to_proto(price))

        return await self._app.mutate(tenant, "SchedulePrice", request, pb.SchedulePriceResponse, change)

    async def ListPrices(self, request: pb.ListPricesRequest, context: Context) -> pb.ListPricesResponse:
        view = await self._app.view(require_tenant())
        matching = [
            p
            for p in view.catalog.prices
            if (not request.plan_id or p.key.plan_id == request.plan_id)
            and (not request.storefront_id or p.key.storefront_id == request.storefront_id)
        ]
        query = ["prices", request.plan_id, request.storefront_id]
        page = page_of(matching, lambda p: p.id, request.page_size, request.page_token, query)
        return pb.ListPricesResponse(
            prices=[proto.price_to_proto(p) for p in page.items], next_page_token=page.next_page_token
        )

    async def ResolvePrice(self, request: pb.ResolvePriceRequest, context: Context) -> pb.ResolvePriceResponse:
        view = await self._app.view(require_tenant())
        at = proto.from_timestamp(request.at_time) if request.HasField("at_time") else self._app.clock.now()
        started: datetime | None = None
        if request.HasField("subscription_start_time"):
            started = proto.from_timestamp(request.subscription_start_time)
        resolved = view.resolve_price(
            request.plan_id, request.storefront_id, _channel_or_web(request.channel), at, started
        )
        return proto.resolved_to_proto(resolved)

    # Channel mappings

    async def CreateChannelMapping(
        self, request: pb.CreateChannelMappingRequest, context: Context
    ) -> pb.CreateChannelMappingResponse:
        tenant = require_tenant()
        mapping = proto.mapping_from_proto(request.channel_mapping)

        async def change(w: CatalogWriter) -> pb.CreateChannelMappingResponse:
            created = await resources.create_channel_mapping(w, mapping)
            return pb.CreateChannelMappingResponse(channel_mapping=proto.mapping_to_proto(created))

        return await self._app.mutate(tenant, "CreateChannelMapping", request, pb.CreateChannelMappingResponse, change)

    async def ListChannelMappings(
        self, request: pb.ListChannelMappingsRequest, context: Context
    ) -> pb.ListChannelMappingsResponse:
        view = await self._app.view(require_tenant())
        channel = proto.channel_from_proto(request.channel)
        matching = [m for m in view.catalog.mappings if channel is None or m.channel is channel]
        query = ["channel_mappings", request.channel]
        page = page_of(matching, lambda m: m.id, request.page_size, request.page_token, query)
        return pb.ListChannelMappingsResponse(
            channel_mappings=[proto.mapping_to_proto(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def ResolveChannelProduct(
        self, request: pb.ResolveChannelProductRequest, context: Context
    ) -> pb.ResolveChannelProductResponse:
        view = await self._app.view(require_tenant())
        channel = proto.channel_from_proto(request.channel)
        if channel is None:
            raise InvalidArgument.field("channel", "required: the store-billed channel of the product")
        mapping, plan = view.resolve_channel_product(channel, request.external_product_id)
        return pb.ResolveChannelProductResponse(
            channel_mapping=proto.mapping_to_proto(mapping),
            plan=proto.plan_to_proto(plan, view.times_of("plan", plan.id)),
        )

    # Catalog as code

    async def ApplyCatalog(self, request: pb.ApplyCatalogRequest, context: Context) -> pb.ApplyCatalogResponse:
        tenant = require_tenant()
        document = parse_document(load_document_text(request.document, _document_format(request.format)))
        if request.validate_only:

            async def compute(w: CatalogWriter) -> CatalogDiff:
                return diff_catalog(w.catalog, document, w.now)

            diff = await self._app.dry_run(tenant, compute)
            return pb.ApplyCatalogResponse(changes=[proto.change_to_proto(e) for e in diff.entries], applied=False)

        async def change(w: CatalogWriter) -> pb.ApplyCatalogResponse:
            applied = await apply_document(w, document)
            return pb.ApplyCatalogResponse(changes=[proto.change_to_proto(e) for e in applied.entries], applied=True)

        return await self._app.mutate(tenant, "ApplyCatalog", request, pb.ApplyCatalogResponse, change)

    async def ExportCatalog(self, request: pb.ExportCatalogRequest, context: Context) -> pb.ExportCatalogResponse:
        view = await self._app.view(require_tenant())
        document = export_document(view.catalog)
        if _document_format(request.format) is DocumentFormat.JSON:
            text = json.dumps(document, indent=2, ensure_ascii=False)
        else:
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return pb.ExportCatalogResponse(document=text)
