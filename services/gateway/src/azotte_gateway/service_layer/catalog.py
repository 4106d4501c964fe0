"""The catalog: apply and export the document, read storefronts, plans and prices (catalog does the work).

NOTE: the catalog's resources are answered as the catalog sends them (the re-export policy in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.paging import page_size


@dataclass(frozen=True)
class Catalog:
    """ApplyCatalog, ExportCatalog, GetStorefront, ListStorefronts, GetPlan, ListPlans, ListPrices."""

    peers: Peers

    async def apply_catalog(self, caller: Caller, request: gw.ApplyCatalogRequest) -> gw.ApplyCatalogResponse:
        authorize(caller.principal, Permission.APPLY_CATALOG)
        # NOTE: a dry run (validate_only) writes nothing, so it needs no request id.
        if request.validate_only:
            require(request, "document")
        else:
            require_mutation(request, "document")
        answer = await self.peers.catalog.ApplyCatalog(
            cat.ApplyCatalogRequest(
                request_id=request.request_id,
                document=request.document,
                format=request.format or cat.DOCUMENT_FORMAT_YAML,
                validate_only=request.validate_only,
            )
        )
        return gw.ApplyCatalogResponse(changes=answer.changes, applied=answer.applied)

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
            cat.ListStorefrontsRequest(page_size=page_size(request.page_size), page_token=request.page_token)
        )
        return gw.ListStorefrontsResponse(storefronts=answer.storefronts, next_page_token=answer.next_page_token)

    async def get_plan(self, caller: Caller, request: gw.GetPlanRequest) -> gw.GetPlanResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        require(request, "plan_id")
        answer = await self.peers.catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id))
        return gw.GetPlanResponse(plan=answer.plan)

    async def list_plans(self, caller: Caller, request: gw.ListPlansRequest) -> gw.ListPlansResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListPlans(
            cat.ListPlansRequest(
                page_size=page_size(request.page_size), page_token=request.page_token, family=request.family
            )
        )
        return gw.ListPlansResponse(plans=answer.plans, next_page_token=answer.next_page_token)

    async def list_prices(self, caller: Caller, request: gw.ListPricesRequest) -> gw.ListPricesResponse:
        authorize(caller.principal, Permission.READ_CATALOG)
        answer = await self.peers.catalog.ListPrices(
            cat.ListPricesRequest(
                page_size=page_size(request.page_size),
                page_token=request.page_token,
                plan_id=request.plan_id,
                storefront_id=request.storefront_id,
            )
        )
        return gw.ListPricesResponse(prices=answer.prices, next_page_token=answer.next_page_token)
