"""Tenant scoping and cache coherence across replicas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte_catalog.adapters.tables import plans
from azotte_stack.nats import EmbeddedNats
from tests.helpers import eventually
from tests.integration.catalog.catalog_support import (
    CatalogHarness,
    TenantStub,
    invalid_fields,
    rejected,
    seed,
    start_catalog,
)


async def test_another_tenants_catalog_is_not_found(tenant: TenantStub, catalog: CatalogHarness) -> None:
    await seed(tenant)
    stranger = catalog.tenant(f"{tenant.tenant_id}-other")

    await rejected(stranger.GetPlan(pb.GetPlanRequest(id="premium")), grpc.StatusCode.NOT_FOUND)
    await rejected(stranger.GetStorefront(pb.GetStorefrontRequest(id="us")), grpc.StatusCode.NOT_FOUND)
    await rejected(
        stranger.ResolvePrice(pb.ResolvePriceRequest(plan_id="premium", storefront_id="us")),
        grpc.StatusCode.NOT_FOUND,
    )
    await rejected(stranger.RetirePlan(pb.RetirePlanRequest(id="premium", request_id="x")), grpc.StatusCode.NOT_FOUND)
    assert not (await stranger.ListPrices(pb.ListPricesRequest())).prices
    assert (await stranger.ExportCatalog(pb.ExportCatalogRequest())).document.count("[]") == 5
    await seed(stranger)
    assert (await tenant.GetPlan(pb.GetPlanRequest(id="premium"))).plan.state == pb.PLAN_STATE_ACTIVE


async def test_a_call_without_a_tenant_is_rejected(catalog: CatalogHarness) -> None:
    stub = catalog_pb2_grpc.CatalogServiceStub(catalog.channel)

    assert await invalid_fields(stub.GetPlan(pb.GetPlanRequest(id="premium"))) == ["x-azotte-tenant"]


async def test_a_change_on_one_replica_reaches_the_cache_of_another(
    tenant: TenantStub,
    catalog: CatalogHarness,
    servers: Any,
) -> None:
    await seed(tenant)
    other = await start_catalog(catalog.database_url, servers.nats_url, catalog.clock)
    try:
        reader = other.tenant(tenant.tenant_id)
        assert (await reader.GetPlan(pb.GetPlanRequest(id="premium"))).plan.display_name == "Premium"

        await tenant.UpdatePlan(
            pb.UpdatePlanRequest(
                plan=pb.Plan(id="premium", display_name="Premium HD"),
                update_mask=FieldMask(paths=["display_name"]),
                request_id="rename",
            )
        )

        async def renamed() -> bool:
            answer: pb.GetPlanResponse = await reader.GetPlan(pb.GetPlanRequest(id="premium"))
            return answer.plan.display_name == "Premium HD"

        await eventually(renamed)
    finally:
        await other.stop()


async def test_a_replica_that_lost_nats_forgets_its_cache_when_nats_returns(
    tenant: TenantStub, catalog: CatalogHarness, tmp_path: Path
) -> None:
    await seed(tenant)
    own_nats = EmbeddedNats(tmp_path / "nats")
    await own_nats.start()
    other = await start_catalog(catalog.database_url, own_nats.url, catalog.clock)
    try:
        reader = other.tenant(tenant.tenant_id)
        assert (await reader.GetPlan(pb.GetPlanRequest(id="premium"))).plan.display_name == "Premium"
        # A change no event announces stands for the changes a replica misses while NATS is away.
        async with catalog.runtime.engine.begin() as connection:
            await connection.execute(
                sa.update(plans)
                .where(plans.c.tenant_id == tenant.tenant_id, plans.c.id == "premium")
                .values(name="Premium 4K")
            )
        assert (await reader.GetPlan(pb.GetPlanRequest(id="premium"))).plan.display_name == "Premium"
        own_nats.stop()
        await own_nats.start()

        async def renamed() -> bool:
            answer: pb.GetPlanResponse = await reader.GetPlan(pb.GetPlanRequest(id="premium"))
            return answer.plan.display_name == "Premium 4K"

        await eventually(renamed)
    finally:
        await other.stop()
        own_nats.stop()
