"""gRPC CatalogService: translates protobuf requests to catalog use cases and back."""

from __future__ import annotations

import json
from typing import Any, TypeVar, cast

import grpc
import yaml
from google.protobuf.descriptor import Descriptor
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte_catalog.adapters import proto
from azotte_catalog.domain.document import DocumentFormat, export_document, load_document_text, parse_document
from azotte_catalog.domain.price import PriceKey
from azotte_catalog.domain.texts import ResolvedText, Texts, resolve_text
from azotte_catalog.ports import CatalogUnitOfWork
from azotte_catalog.service_layer import lists, plans, resources
from azotte_catalog.service_layer.apply import apply_document, preview_document
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.service_layer.prices import SchedulePrice, cancel_scheduled_price, schedule_new_price
from azotte_catalog.service_layer.view import CatalogView
from azotte_platform import convert
from azotte_platform.clock import Clock
from azotte_platform.context import require_tenant
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.service_kit import Units
from azotte_platform.validation import field_names

M = TypeVar("M", bound=Message)
Context = grpc.aio.ServicerContext[Any, Any]

STOREFRONT_MASK = frozenset(
    {
        "display_name",
        "country_code",
        "currency_code",
        "locales",
        "channels",
        "tax_policy",
        "payment_routing",
        "price_increase_notice_days",
        "price_increase_consent_required",
        "branding",
        "disclosure_required",
    }
)
FEATURE_MASK = frozenset({"display_name", "kind", "unit", "reset_period", "texts"})
MAX_PRICE_QUERIES = 1000
PLAN_MASK = frozenset(
    {
        "display_name",
        "family",
        "rank",
        "billing_interval",
        "trial_days",
        "feature_grants",
        "add_on",
        "add_on_plan_ids",
        "texts",
    }
)


def merge_update(current: M, patch: M, mask: FieldMask, allowed: frozenset[str]) -> M:
    """`current` with the masked fields of `patch`; an empty mask means every field `patch` sets."""
    paths = list(mask.paths) or [f.name for f, _ in patch.ListFields() if f.name in allowed]
    unknown = [path for path in paths if path.split(".")[0] not in allowed]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: {sorted(allowed)}")
    mask = FieldMask(paths=paths)
    if not mask.IsValidForDescriptor(cast(Descriptor, current.DESCRIPTOR)):
        raise InvalidArgument.field("update_mask", f"{', '.join(paths)} names no field of {current.DESCRIPTOR.name}")
    merged = type(current)()
    merged.CopyFrom(current)
    mask.MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


class _Texts:
    """The texts of one read, in the locale its TextPreference resolves to."""

    def __init__(self, view: CatalogView, language: pb.TextPreference):
        self._chain = view.text_chain(proto.text_preference(language), language.storefront_id)
        self._default = view.catalog.default_locale

    def of(self, texts: Texts, name: str) -> ResolvedText:
        """The text of a resource with these texts and this own name."""
        return resolve_text(texts, name, self._chain, self._default)


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    """The catalog's gRPC API: reads from the tenant's cached catalog, writes once per request id.

    NOTE: a write's use case raises field violations in the domain's field names; `field_names`
    renames them to the request's (`plan.features[0].key` -> `plan.feature_grants[0].feature_key`).
    """

    def __init__(self, units: Units[CatalogUnitOfWork], catalogs: TenantCatalogs, clock: Clock):
        self.units = units
        self._catalogs = catalogs
        self._clock = clock

    # Storefronts

    async def GetStorefront(self, request: pb.GetStorefrontRequest, context: Context) -> pb.GetStorefrontResponse:
        view = await self._catalogs.view(require_tenant())
        storefront = view.storefront(request.id)
        return pb.GetStorefrontResponse(
            storefront=proto.storefront_to_pb(storefront, view.times_of("storefront", storefront.id))
        )

    async def ListStorefronts(self, request: pb.ListStorefrontsRequest, context: Context) -> pb.ListStorefrontsResponse:
        view = await self._catalogs.view(require_tenant())
        page = lists.storefronts(view.times_of).page(request, view.catalog.storefronts)
        return pb.ListStorefrontsResponse(
            storefronts=[proto.storefront_to_pb(s, view.times_of("storefront", s.id)) for s in page.items],
            next_page_token=page.next_page_token,
        )

    async def CreateStorefront(
        self, request: pb.CreateStorefrontRequest, context: Context
    ) -> pb.CreateStorefrontResponse:
        storefront = proto.storefront_from_pb(request.storefront)

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.CreateStorefrontResponse:
            w = await self._catalogs.open(uow, tenant)
            with field_names(proto.STOREFRONT_FIELDS):
                created = await resources.create_storefront(w, storefront)
            return pb.CreateStorefrontResponse(
                storefront=proto.storefront_to_pb(created, w.times_of("storefront", created.id))
            )

        return await self.units.mutate(request, pb.CreateStorefrontResponse, work)

    async def UpdateStorefront(
        self, request: pb.UpdateStorefrontRequest, context: Context
    ) -> pb.UpdateStorefrontResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.UpdateStorefrontResponse:
            w = await self._catalogs.open(uow, tenant)
            current = proto.storefront_to_pb(w.storefront(request.storefront.id))
            merged = merge_update(current, request.storefront, request.update_mask, STOREFRONT_MASK)
            storefront = proto.storefront_from_pb(merged)
            with field_names(proto.STOREFRONT_FIELDS):
                updated = await resources.update_storefront(w, storefront)
            return pb.UpdateStorefrontResponse(
                storefront=proto.storefront_to_pb(updated, w.times_of("storefront", updated.id))
            )

        return await self.units.mutate(request, pb.UpdateStorefrontResponse, work)

    # Features

    async def GetFeature(self, request: pb.GetFeatureRequest, context: Context) -> pb.GetFeatureResponse:
        view = await self._catalogs.view(require_tenant())
        feature = view.feature(request.key)
        localized = _Texts(view, request.language).of(feature.texts, feature.name)
        return pb.GetFeatureResponse(feature=proto.feature_to_pb(feature, localized))

    async def ListFeatures(self, request: pb.ListFeaturesRequest, context: Context) -> pb.ListFeaturesResponse:
        view = await self._catalogs.view(require_tenant())
        texts = _Texts(view, request.language)
        page = lists.features().page(request, view.catalog.features)
        return pb.ListFeaturesResponse(
            features=[proto.feature_to_pb(f, texts.of(f.texts, f.name)) for f in page.items],
            next_page_token=page.next_page_token,
        )

    async def CreateFeature(self, request: pb.CreateFeatureRequest, context: Context) -> pb.CreateFeatureResponse:
        feature = proto.feature_from_pb(request.feature)

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.CreateFeatureResponse:
            w = await self._catalogs.open(uow, tenant)
            with field_names(proto.FEATURE_FIELDS):
                created = await resources.create_feature(w, feature)
            return pb.CreateFeatureResponse(feature=proto.feature_to_pb(created))

        return await self.units.mutate(request, pb.CreateFeatureResponse, work)

    async def UpdateFeature(self, request: pb.UpdateFeatureRequest, context: Context) -> pb.UpdateFeatureResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.UpdateFeatureResponse:
            w = await self._catalogs.open(uow, tenant)
            current = proto.feature_to_pb(w.feature(request.feature.key))
            merged = merge_update(current, request.feature, request.update_mask, FEATURE_MASK)
            feature = proto.feature_from_pb(merged)
            with field_names(proto.FEATURE_FIELDS):
                updated = await resources.update_feature(w, feature)
            return pb.UpdateFeatureResponse(feature=proto.feature_to_pb(updated))

        return await self.units.mutate(request, pb.UpdateFeatureResponse, work)

    # Plans

    async def GetPlan(self, request: pb.GetPlanRequest, context: Context) -> pb.GetPlanResponse:
        view = await self._catalogs.view(require_tenant())
        plan = view.plan(request.id)
        localized = _Texts(view, request.language).of(plan.texts, plan.name)
        return pb.GetPlanResponse(plan=proto.plan_to_pb(plan, view.times_of("plan", plan.id), localized))

    async def ListPlans(self, request: pb.ListPlansRequest, context: Context) -> pb.ListPlansResponse:
        view = await self._catalogs.view(require_tenant())
        matching = [p for p in view.catalog.plans if not request.family or p.family == request.family]
        texts = _Texts(view, request.language)
        page = lists.plans(view.times_of).page(request, matching, request.family)
        return pb.ListPlansResponse(
            plans=[proto.plan_to_pb(p, view.times_of("plan", p.id), texts.of(p.texts, p.name)) for p in page.items],
            next_page_token=page.next_page_token,
        )

    async def CreatePlan(self, request: pb.CreatePlanRequest, context: Context) -> pb.CreatePlanResponse:
        plan = proto.plan_from_pb(request.plan)

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.CreatePlanResponse:
            w = await self._catalogs.open(uow, tenant)
            with field_names(proto.PLAN_FIELDS):
                created = await plans.create_plan(w, plan)
            return pb.CreatePlanResponse(plan=proto.plan_to_pb(created, w.times_of("plan", created.id)))

        return await self.units.mutate(request, pb.CreatePlanResponse, work)

    async def UpdatePlan(self, request: pb.UpdatePlanRequest, context: Context) -> pb.UpdatePlanResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.UpdatePlanResponse:
            w = await self._catalogs.open(uow, tenant)
            current = proto.plan_to_pb(w.plan(request.plan.id))
            plan = proto.plan_from_pb(merge_update(current, request.plan, request.update_mask, PLAN_MASK))
            with field_names(proto.PLAN_FIELDS):
                updated = await plans.update_plan(w, plan)
            return pb.UpdatePlanResponse(plan=proto.plan_to_pb(updated, w.times_of("plan", updated.id)))

        return await self.units.mutate(request, pb.UpdatePlanResponse, work)

    async def ActivatePlan(self, request: pb.ActivatePlanRequest, context: Context) -> pb.ActivatePlanResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.ActivatePlanResponse:
            w = await self._catalogs.open(uow, tenant)
            plan = await plans.activate_plan(w, request.id)
            return pb.ActivatePlanResponse(plan=proto.plan_to_pb(plan, w.times_of("plan", plan.id)))

        return await self.units.mutate(request, pb.ActivatePlanResponse, work)

    async def RetirePlan(self, request: pb.RetirePlanRequest, context: Context) -> pb.RetirePlanResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.RetirePlanResponse:
            w = await self._catalogs.open(uow, tenant)
            plan = await plans.retire_plan(w, request.id)
            return pb.RetirePlanResponse(plan=proto.plan_to_pb(plan, w.times_of("plan", plan.id)))

        return await self.units.mutate(request, pb.RetirePlanResponse, work)

    # Prices

    async def SchedulePrice(self, request: pb.SchedulePriceRequest, context: Context) -> pb.SchedulePriceResponse:
        command = SchedulePrice(
            key=PriceKey(request.plan_id, request.storefront_id, proto.optional_channel(request.channel)),
            amount_minor=request.amount_minor,
            effective_from=convert.optional_from_timestamp(request, "effective_time"),
            existing_subscribers=proto.existing_subscribers_from_pb(request.existing_subscribers),
        )

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.SchedulePriceResponse:
            w = await self._catalogs.open(uow, tenant)
            with field_names(proto.PRICE_FIELDS):
                price = await schedule_new_price(w, command)
            return pb.SchedulePriceResponse(price=proto.price_to_pb(price))

        return await self.units.mutate(request, pb.SchedulePriceResponse, work)

    async def CancelPrice(self, request: pb.CancelPriceRequest, context: Context) -> pb.CancelPriceResponse:
        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.CancelPriceResponse:
            price = await cancel_scheduled_price(await self._catalogs.open(uow, tenant), request.id)
            return pb.CancelPriceResponse(price=proto.price_to_pb(price))

        return await self.units.mutate(request, pb.CancelPriceResponse, work)

    async def ListPrices(self, request: pb.ListPricesRequest, context: Context) -> pb.ListPricesResponse:
        view = await self._catalogs.view(require_tenant())
        matching = [
            p
            for p in view.catalog.prices
            if (not request.plan_id or p.key.plan_id == request.plan_id)
            and (not request.storefront_id or p.key.storefront_id == request.storefront_id)
        ]
        page = lists.prices(self._clock.now()).page(request, matching, request.plan_id, request.storefront_id)
        return pb.ListPricesResponse(
            prices=[proto.price_to_pb(p) for p in page.items], next_page_token=page.next_page_token
        )

    async def ResolvePrice(self, request: pb.ResolvePriceRequest, context: Context) -> pb.ResolvePriceResponse:
        view = await self._catalogs.view(require_tenant())
        at = convert.optional_from_timestamp(request, "at_time") or self._clock.now()
        started = convert.optional_from_timestamp(request, "subscription_start_time")
        channel = proto.channel_or_web(request.channel)
        return proto.resolved_to_pb(view.resolve_price(request.plan_id, request.storefront_id, channel, at, started))

    async def ResolvePrices(self, request: pb.ResolvePricesRequest, context: Context) -> pb.ResolvePricesResponse:
        if len(request.queries) > MAX_PRICE_QUERIES:
            raise InvalidArgument.field("queries", f"at most {MAX_PRICE_QUERIES} queries per call")
        view = await self._catalogs.view(require_tenant())
        now = self._clock.now()
        results = []
        for query in request.queries:
            at = convert.optional_from_timestamp(query, "at_time") or now
            started = convert.optional_from_timestamp(query, "subscription_start_time")
            channel = proto.channel_or_web(query.channel)
            try:
                resolved = view.resolve_price(query.plan_id, query.storefront_id, channel, at, started)
            except AzotteError as error:
                results.append(proto.price_error_to_pb(error))
                continue
            results.append(pb.ResolvePriceResult(price=proto.resolved_to_pb(resolved)))
        return pb.ResolvePricesResponse(results=results)

    # Channel mappings

    async def CreateChannelMapping(
        self, request: pb.CreateChannelMappingRequest, context: Context
    ) -> pb.CreateChannelMappingResponse:
        mapping = proto.mapping_from_pb(request.channel_mapping)

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.CreateChannelMappingResponse:
            w = await self._catalogs.open(uow, tenant)
            with field_names(proto.MAPPING_FIELDS):
                created = await resources.create_channel_mapping(w, mapping)
            return pb.CreateChannelMappingResponse(channel_mapping=proto.mapping_to_pb(created))

        return await self.units.mutate(request, pb.CreateChannelMappingResponse, work)

    async def ListChannelMappings(
        self, request: pb.ListChannelMappingsRequest, context: Context
    ) -> pb.ListChannelMappingsResponse:
        view = await self._catalogs.view(require_tenant())
        channel = proto.optional_channel(request.channel)
        matching = [m for m in view.catalog.mappings if channel is None or m.channel is channel]
        page = lists.channel_mappings().page(request, matching, request.channel)
        return pb.ListChannelMappingsResponse(
            channel_mappings=[proto.mapping_to_pb(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def ResolveChannelProduct(
        self, request: pb.ResolveChannelProductRequest, context: Context
    ) -> pb.ResolveChannelProductResponse:
        view = await self._catalogs.view(require_tenant())
        mapping, plan = view.resolve_channel_product(
            proto.required_channel(request.channel), request.external_product_id
        )
        return pb.ResolveChannelProductResponse(
            channel_mapping=proto.mapping_to_pb(mapping),
            plan=proto.plan_to_pb(plan, view.times_of("plan", plan.id)),
        )

    # Catalog as code

    async def ApplyCatalog(self, request: pb.ApplyCatalogRequest, context: Context) -> pb.ApplyCatalogResponse:
        text = load_document_text(request.document, proto.document_format_from_pb(request.format))
        document = parse_document(text)
        if request.validate_only:

            async def preview(uow: CatalogUnitOfWork, tenant: str) -> pb.ApplyCatalogResponse:
                diff = await preview_document(uow, tenant, document)
                return pb.ApplyCatalogResponse(
                    changes=[proto.change_to_pb(e) for e in diff.entries],
                    applied=False,
                    warnings=[proto.warning_to_pb(w) for w in diff.warnings],
                )

            return await self.units.read(preview)

        async def work(uow: CatalogUnitOfWork, tenant: str) -> pb.ApplyCatalogResponse:
            applied = await apply_document(await self._catalogs.open(uow, tenant), document)
            return pb.ApplyCatalogResponse(
                changes=[proto.change_to_pb(e) for e in applied.entries],
                applied=True,
                warnings=[proto.warning_to_pb(w) for w in applied.warnings],
            )

        return await self.units.mutate(request, pb.ApplyCatalogResponse, work)

    async def ExportCatalog(self, request: pb.ExportCatalogRequest, context: Context) -> pb.ExportCatalogResponse:
        view = await self._catalogs.view(require_tenant())
        document = export_document(view.catalog)
        if proto.document_format_from_pb(request.format) is DocumentFormat.JSON:
            text = json.dumps(document, indent=2, ensure_ascii=False)
        else:
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return pb.ExportCatalogResponse(document=text)
