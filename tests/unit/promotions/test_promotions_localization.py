"""A promotion's texts per locale: checked like the catalog's, stored with its definition, updatable by mask."""

from __future__ import annotations

import pytest

from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_promotions.adapters.proto import definition_from_pb, updated_definition
from azotte_promotions.adapters.repositories.promotions import definition_from_json, definition_to_json
from azotte_promotions.domain.promotion import PromotionText
from azotte_promotions.errors import InvalidPromotion
from tests.unit.promotions.conftest import definition

GERMAN = PromotionText("de", "Premiere", "50 % auf den ersten Monat", "Danach 21,99 € im Monat, jederzeit kündbar.")


def test_texts_are_stored_with_the_definition() -> None:
    promoted = definition(texts=(GERMAN, PromotionText("en-GB", "Premiere")))
    promoted.check()
    assert definition_from_json(definition_to_json(promoted)) == promoted


def test_a_definition_stored_before_texts_existed_reads_without_texts() -> None:
    stored = definition_to_json(definition())
    del stored["texts"]
    assert definition_from_json(stored).texts == ()


@pytest.mark.parametrize(
    ("texts", "field"),
    [
        ((PromotionText("de_DE", "x"),), "texts[0].locale"),
        ((PromotionText("de-de", "x"),), "texts[0].locale"),
        ((PromotionText("tlh", "x"),), "texts[0].locale"),
        ((GERMAN, PromotionText("de", "y")), "texts[1].locale"),
        ((PromotionText("de", " "),), "texts[0].display_name"),
        ((PromotionText("de", "x", disclosure="x" * 4001),), "texts[0].disclosure"),
    ],
)
def test_a_bad_text_names_its_field(texts: tuple[PromotionText, ...], field: str) -> None:
    with pytest.raises(InvalidPromotion) as caught:
        definition(texts=texts).check()
    assert [v.field for v in caught.value.violations] == [field]


def test_texts_arrive_from_the_api_and_are_replaced_by_an_update_naming_them() -> None:
    message = pb.Promotion(
        display_name="Premiere",
        discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=5_000),
        texts=[pb.PromotionText(locale="de", display_name="Premiere", disclosure=GERMAN.disclosure)],
    )
    created = definition_from_pb(message)
    assert created.texts == (PromotionText("de", "Premiere", "", GERMAN.disclosure),)
    patch = pb.Promotion(texts=[pb.PromotionText(locale="fr", display_name="Première")])
    assert updated_definition(patch, ["texts"], created).texts == (PromotionText("fr", "Première"),)
