"""The gateway's apply of a catalog document's `promotions` section (over fakes): the section goes to promotions,
checked before the catalog writes, its changes join the catalog's on the portal's document page, and a section that
is not a list of mappings is refused naming its path."""

from __future__ import annotations

import re

import httpx
import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument
from tests.unit.gateway import test_gateway_portal_pages as pages
from tests.unit.gateway.fakes import caller
from tests.unit.gateway.test_gateway_portal_pages import signed_in

DOCUMENT = """
version: 1
promotions:
  - id: spring
    display_name: Spring
    discount: {kind: DISCOUNT_KIND_PERCENT_OFF, percent_basis_points: 2000}
    start_time: 2030-03-01T00:00:00Z
    state: active
    codes: [SPRING20, {code: VIP, max_redemptions: 5}]
"""

# The portal pages' fixtures: a gateway over fakes, one portal user per role, an HTTP client of its app.
gateway, passwords, client = pages.gateway, pages.passwords, pages.client


@pytest.fixture
def sent(gateway: Gateway) -> list[pr.ApplyPromotionsDocumentRequest]:
    """What promotions is asked; it answers the section's promotions created and `legacy` not in the document."""
    requests: list[pr.ApplyPromotionsDocumentRequest] = []

    async def apply_document(request: pr.ApplyPromotionsDocumentRequest) -> pr.ApplyPromotionsDocumentResponse:
        requests.append(request)
        created = [
            pr.DocumentChange(
                resource_type="promotion", resource_id=p.promotion.id, change_type=pr.DOCUMENT_CHANGE_TYPE_CREATED
            )
            for p in request.promotions
        ]
        legacy = pr.DocumentChange(
            resource_type="promotion", resource_id="legacy", change_type=pr.DOCUMENT_CHANGE_TYPE_NOT_IN_DOCUMENT
        )
        return pr.ApplyPromotionsDocumentResponse(changes=[*created, legacy], applied=not request.validate_only)

    async def apply_catalog(request: cat.ApplyCatalogRequest) -> cat.ApplyCatalogResponse:
        return cat.ApplyCatalogResponse(applied=not request.validate_only)

    async def export_catalog(request: cat.ExportCatalogRequest) -> cat.ExportCatalogResponse:
        return cat.ExportCatalogResponse(document="version: 1\n")

    gateway.catalog.peers.promotions.ApplyPromotionsDocument = apply_document  # type: ignore[assignment]
    gateway.catalog.peers.catalog.ApplyCatalog = apply_catalog  # type: ignore[assignment]
    gateway.catalog.peers.catalog.ExportCatalog = export_catalog  # type: ignore[assignment]
    return requests


async def test_the_section_is_checked_then_written_once_per_request_id(
    gateway: Gateway,
    sent: list[pr.ApplyPromotionsDocumentRequest],
) -> None:
    with caller().scope():
        answer = await gateway.catalog.apply_catalog(
            caller(), gw.ApplyCatalogRequest(request_id="doc-1", document=DOCUMENT)
        )
    assert [(c.resource_id, c.change_type) for c in answer.changes] == [
        ("spring", cat.CHANGE_TYPE_CREATED),
        ("legacy", cat.CHANGE_TYPE_REMOVED_FROM_DOCUMENT),
    ]
    assert [(r.validate_only, r.request_id) for r in sent] == [(True, ""), (False, "catalog:doc-1:promotions")]
    item = sent[1].promotions[0]
    assert (item.state, [c.code for c in item.codes], item.codes[1].max_redemptions) == (
        pr.PROMOTION_STATE_ACTIVE,
        ["SPRING20", "VIP"],
        5,
    )
    assert item.promotion.start_time.ToJsonString() == "2030-03-01T00:00:00Z"  # a YAML timestamp


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("promotions: {id: spring}", "promotions"),
        ("promotions: [spring]", "promotions[0]"),
        ("promotions: [{id: a, display_name: A}, {id: b, dicount: {}}]", "promotions[1]"),
        ("promotions: [{id: a, state: gone}]", "promotions[0].state"),
        ("promotions: [{id: a, codes: [{code: A, max: 1}]}]", "promotions[0].codes[0]"),
    ],
)
async def test_a_malformed_section_names_its_path_and_nothing_is_asked(
    gateway: Gateway,
    sent: list[pr.ApplyPromotionsDocumentRequest],
    section: str,
    field: str,
) -> None:
    with caller().scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.catalog.apply_catalog(caller(), gw.ApplyCatalogRequest(request_id="doc-2", document=section))
    assert refused.value.violations[0].field == field
    assert sent == []


async def test_the_portal_document_page_shows_the_promotions_diff(
    client: httpx.AsyncClient,
    passwords: dict[str, str],
    sent: list[pr.ApplyPromotionsDocumentRequest],
) -> None:
    portal = await signed_in(client, "manager@acme.example", passwords)
    fields = await portal.form_fields("/portal/catalog/document")
    page = await client.post("/portal/catalog/document", data={**fields, "document": DOCUMENT, "action": "preview"})
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr><td>(promotion)</td><td>(\w+)</td><td>([^<]+)</td>", page.text)
    assert rows == [("promotion", "spring", "Created"), ("promotion", "legacy", "Removed from document")]
    assert [r.validate_only for r in sent] == [True]
