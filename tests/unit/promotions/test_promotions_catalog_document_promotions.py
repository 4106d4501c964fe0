"""The promotions section of a catalog document over fakes: its diff (created, updated with the fields that change,
unchanged, not in the document and left alone), its apply, and a refused item that names its document path and
leaves everything unwritten; the CLI's dry run shows the promotions' changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.promotion import Discount, DiscountKind, Limits, PromotionState
from azotte_promotions.service_layer import codes, documents, promotions
from azotte_promotions.service_layer.documents import Change, ChangeType, DocumentCode, DocumentPromotion
from tests.unit.promotions.conftest import TENANT, FakeGatewayRest, UseCases, definition


async def apply(use_cases: UseCases, items: list[DocumentPromotion], *, validate_only: bool = False) -> list[Change]:
    return await use_cases.run(lambda uow: documents.apply_document(uow, TENANT, items, validate_only=validate_only))


def premiere(**fields: object) -> DocumentPromotion:
    state = fields.pop("state", PromotionState.ACTIVE)
    item_codes = fields.pop("codes", (DocumentCode("PREMIERE50", max_redemptions=100),))
    return DocumentPromotion("premiere", definition(**fields), state, item_codes)  # type: ignore[arg-type]


async def test_a_dry_run_lists_the_changes_and_writes_nothing(use_cases: UseCases) -> None:
    await use_cases.run(lambda uow: promotions.create_promotion(uow, TENANT, definition(), "legacy"))
    changes = await apply(use_cases, [premiere()], validate_only=True)
    assert changes == [
        Change("promotion", "premiere", ChangeType.CREATED),
        Change("promotion_code", "PREMIERE50", ChangeType.CREATED),
        Change("promotion", "legacy", ChangeType.NOT_IN_DOCUMENT),
    ]
    assert (TENANT, "premiere") not in use_cases.uow.data.promotions


async def test_apply_then_reapply_changes_nothing_and_an_edit_names_its_fields(use_cases: UseCases) -> None:
    await apply(use_cases, [premiere()])
    stored = use_cases.uow.data.promotions[(TENANT, "premiere")]
    assert stored.state is PromotionState.ACTIVE
    code = await use_cases.run(lambda uow: codes.get_code(uow, TENANT, "premiere50"))
    assert (code.promotion_id, code.max_redemptions) == ("premiere", 100)

    again = await apply(use_cases, [premiere()])
    assert [c.change_type for c in again] == [ChangeType.UNCHANGED, ChangeType.UNCHANGED]

    edited = premiere(
        description="Now 40 %",
        discount=Discount(DiscountKind.PERCENT_OFF, percent_basis_points=4_000),
        state=PromotionState.PAUSED,
    )
    changes = await apply(use_cases, [edited])
    assert changes[0] == Change("promotion", "premiere", ChangeType.UPDATED, ("discount", "description", "state"))
    stored = use_cases.uow.data.promotions[(TENANT, "premiere")]
    assert (stored.definition.discount.percent_basis_points, stored.state) == (4_000, PromotionState.PAUSED)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (
            DocumentPromotion("capped", definition(limits=Limits(max_redemptions=0))),
            "promotions[1].limits.max_redemptions",
        ),
        (DocumentPromotion("bad id!", definition()), "promotions[1].id"),
        (DocumentPromotion("other", definition(), codes=(DocumentCode("PREMIERE50"),)), "promotions[1].codes[0].code"),
        (DocumentPromotion("paused", definition(), PromotionState.PAUSED), "promotions[1].state"),
        (DocumentPromotion("short", definition(), codes=(DocumentCode("x"),)), "promotions[1].codes[0].code"),
    ],
)
async def test_a_refused_item_names_its_path_and_nothing_is_written(
    use_cases: UseCases, bad: DocumentPromotion, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await apply(use_cases, [premiere(), bad])
    assert refused.value.violations[0].field == field
    assert use_cases.uow.data.promotions == {}
    assert use_cases.uow.data.codes == {}


async def test_automatic_goes_through_the_document(use_cases: UseCases) -> None:
    assert [c.change_type for c in await apply(use_cases, [premiere(automatic=True)])] == [ChangeType.CREATED] * 2
    assert use_cases.uow.data.promotions[(TENANT, "premiere")].definition.automatic
    changes = await apply(use_cases, [premiere()])
    assert changes[0] == Change("promotion", "premiere", ChangeType.UPDATED, ("automatic",))
    trial_days = premiere(automatic=True, discount=Discount(DiscountKind.EXTRA_TRIAL_DAYS, trial_days=7), codes=())
    with pytest.raises(InvalidArgument) as refused:
        await apply(use_cases, [trial_days])
    assert refused.value.violations[0].field == "promotions[0].automatic"


def test_the_cli_dry_run_shows_the_promotions_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    document = tmp_path / "catalog.yaml"
    document.write_text("version: 1\npromotions:\n  - {id: spring, display_name: Spring}\n")
    changes = [
        {"resource_type": "plan", "resource_id": "basic", "change_type": "CHANGE_TYPE_UNCHANGED"},
        {"resource_type": "promotion", "resource_id": "spring", "change_type": "CHANGE_TYPE_CREATED"},
        {"resource_type": "promotion", "resource_id": "legacy", "change_type": "CHANGE_TYPE_REMOVED_FROM_DOCUMENT"},
    ]
    rest = FakeGatewayRest({("PUT", "/v1/catalog"): {"changes": changes, "applied": False}})
    printed = rest.run(monkeypatch, "catalog", "apply", str(document), "--dry-run")
    assert re.search(r"created\s+│\s+promotion\s+│\s+spring", printed)
    assert re.search(r"removed_from_document\s+│\s+promotion\s+│\s+legacy", printed)
    assert "basic" not in printed and "Dry run: nothing written." in printed
    assert rest.sent[0].url.params["dry_run"] == "true" and b"promotions:" in rest.sent[0].content
