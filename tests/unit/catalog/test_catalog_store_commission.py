"""A storefront's store commission rates: what App Store and Google Play keep of the prices they collect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from azotte_catalog.adapters.proto import storefront_from_pb, storefront_to_pb
from azotte_catalog.domain.document import document_to_dict, parse_document
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument


def with_commission(doc: dict[str, Any], rates: dict[str, Any]) -> dict[str, Any]:
    doc["storefronts"][0]["payment_routing"]["store_commission"] = rates
    return doc


def test_rates_per_store_are_read_kept_and_written_back(doc: dict[str, Any]) -> None:
    parsed = parse_document(with_commission(doc, {"app_store": "0.15", "google_play": "0.3"}))
    us = parsed.storefronts[0]
    assert dict(us.routing.store_commission) == {
        Channel.APP_STORE: Decimal("0.15"),
        Channel.GOOGLE_PLAY: Decimal("0.3"),
    }
    [exported] = [s["payment_routing"] for s in document_to_dict(parsed)["storefronts"] if s["id"] == "us"]
    assert exported["store_commission"] == {"app_store": "0.15", "google_play": "0.3"}
    assert storefront_from_pb(storefront_to_pb(us)) == us
    assert parse_document(doc).storefronts[1].routing.store_commission == ()  # none set: none kept


@pytest.mark.parametrize(
    ("rates", "field"),
    [
        ({"app_store": "1.5"}, "storefronts[0].payment_routing.store_commission.app_store"),
        ({"app_store": 0.15}, "storefronts[0].payment_routing.store_commission.app_store"),
        ({"web": "0.1"}, "storefronts[0].payment_routing.store_commission.web"),
        ({"itunes": "0.1"}, "storefronts[0].payment_routing.store_commission.itunes"),
    ],
)
def test_a_bad_rate_or_a_channel_without_a_store_is_refused_by_name(
    doc: dict[str, Any], rates: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_document(with_commission(doc, rates))
    assert field in {v.field for v in caught.value.violations}
