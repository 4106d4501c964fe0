"""Promotions managed by the catalog document through the gateway's REST API: the dry run shows the promotions'
changes beside the catalog's and writes nothing, a bad promotion names its document path and nothing is written,
the apply creates them (active, with their shared code), a repeat of its request answers the same, and applying
the document again changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import yaml

from tests.e2e.conftest import RunningSuite, TenantApi

YAML = {"Content-Type": "application/yaml"}


def fields(answer: httpx.Response) -> list[str]:
    details = answer.json()["error"]["details"]
    return [v["field"] for d in details for v in d.get("field_violations", [])]


def promotions_of(answer: httpx.Response) -> list[tuple[str, str, str]]:
    return sorted(
        (c["resource_type"], c["resource_id"], c["change_type"])
        for c in answer.json()["changes"]
        if c["resource_type"].startswith("promotion")
    )


async def put(tenant: TenantApi, document: dict[str, Any], request_id: str = "", *, dry_run: bool = False) -> Any:
    content = yaml.safe_dump(document).encode()
    if dry_run:
        return await tenant.call("PUT", "/v1/catalog?dry_run=true", content=content, headers=YAML)
    headers = {**YAML, "X-Request-Id": request_id or uuid.uuid4().hex}
    return await tenant.call("PUT", "/v1/catalog", content=content, headers=headers)


def spring(percent_basis_points: int = 2_000) -> dict[str, Any]:
    return {
        "id": "spring",
        "display_name": "Spring 20 % off",
        "discount": {"kind": "DISCOUNT_KIND_PERCENT_OFF", "percent_basis_points": percent_basis_points},
        "targets": {"plan_ids": ["basic_monthly"]},
        "limits": {"max_redemptions": "500", "budgets": [{"currency_code": "USD", "amount_minor": "100000"}]},
        "state": "active",
        "codes": [{"code": "SPRING20", "max_redemptions": "100"}],
    }


async def test_the_document_manages_promotions_with_a_dry_run_diff(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    document = yaml.safe_load(await tenant.ok("GET", "/v1/catalog"))
    document["promotions"] = [spring(), {"id": "later", "display_name": "Later", "discount": spring()["discount"]}]

    dry_run = await put(tenant, document, dry_run=True)
    assert dry_run.status_code == 200, dry_run.text
    assert promotions_of(dry_run) == [
        ("promotion", "later", "CHANGE_TYPE_CREATED"),
        ("promotion", "spring", "CHANGE_TYPE_CREATED"),
        ("promotion_code", "SPRING20", "CHANGE_TYPE_CREATED"),
    ]
    assert not dry_run.json().get("applied", False)
    assert (await tenant.call("GET", "/v1/promotions/spring")).status_code == 404

    bad = {**document, "promotions": [spring(), spring(20_000) | {"id": "broken"}]}
    refused = await put(tenant, bad)
    assert refused.status_code == 400, refused.text
    assert fields(refused) == ["promotions[1].discount.percent_basis_points"]
    assert (await tenant.call("GET", "/v1/promotions/spring")).status_code == 404

    request_id = uuid.uuid4().hex
    applied = await put(tenant, document, request_id)
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] and promotions_of(applied) == promotions_of(dry_run)
    promotion = (await tenant.ok("GET", "/v1/promotions/spring"))["promotion"]
    assert (promotion["state"], promotion["discount"]["percent_basis_points"]) == ("PROMOTION_STATE_ACTIVE", 2000)
    body = {"storefront_id": "us", "plan_id": "basic_monthly", "channel": "web"}
    validation = (await tenant.ok("POST", "/v1/promotion-codes/spring20:validate", json=body))["validation"]
    assert (validation["eligible"], validation["discount"]["amount_minor"]) == (True, "140")  # 20 % of 699

    repeated = await put(tenant, document, request_id)
    assert promotions_of(repeated) == promotions_of(applied)

    again = await put(tenant, {**document, "promotions": [spring()]})
    assert promotions_of(again) == [
        ("promotion", "later", "CHANGE_TYPE_REMOVED_FROM_DOCUMENT"),
        ("promotion", "spring", "CHANGE_TYPE_UNCHANGED"),
        ("promotion_code", "SPRING20", "CHANGE_TYPE_UNCHANGED"),
    ]
    assert (await tenant.ok("GET", "/v1/promotions/later"))["promotion"]["state"] == "PROMOTION_STATE_DRAFT"
