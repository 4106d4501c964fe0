"""Fixtures of the catalog unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Document = dict[str, Any]


def _small_document() -> Document:
    """A valid two-storefront document exercising every section."""
    return {
        "storefronts": [
            {
                "id": "us",
                "name": "United States",
                "country": "US",
                "currency": "USD",
                "locales": ["en-US"],
                "channels": ["web", "app_store"],
                "tax": {"mode": "exclusive", "rate": "0"},
                "payment_routing": {"fallback": ["stripe"]},
            },
            {
                "id": "de",
                "name": "Deutschland",
                "country": "DE",
                "currency": "EUR",
                "channels": ["web"],
                "tax": {"mode": "inclusive", "rate": "0.19"},
                "payment_routing": {"fallback": ["adyen"]},
            },
        ],
        "features": [
            {"key": "hd_streaming", "name": "HD", "kind": "boolean"},
            {"key": "ai_tokens", "name": "Tokens", "kind": "quota", "unit": "tokens", "reset_period": "month"},
        ],
        "plans": [
            {
                "id": "basic",
                "name": "Basic",
                "family": "ott",
                "rank": 10,
                "interval": {"unit": "month"},
                "status": "active",
                "features": [{"key": "hd_streaming"}],
            },
            {
                "id": "premium",
                "name": "Premium",
                "family": "ott",
                "rank": 20,
                "interval": {"unit": "month"},
                "status": "active",
                "features": [{"key": "hd_streaming"}, {"key": "ai_tokens", "limit": 1000}],
            },
        ],
        "prices": [
            {"plan": "basic", "storefront": "us", "amount_minor": 699},
            {"plan": "premium", "storefront": "us", "amount_minor": 1299},
            {"plan": "premium", "storefront": "us", "channel": "app_store", "amount_minor": 1499},
            {"plan": "premium", "storefront": "de", "amount_minor": 1199},
        ],
        "channel_mappings": [
            {"channel": "app_store", "external_product_id": "com.example.premium", "plan": "premium"},
        ],
    }


@pytest.fixture(scope="session")
def make_document() -> Callable[[], Document]:
    """Builds a fresh valid document."""
    return _small_document


@pytest.fixture
def doc() -> Document:
    """A fresh valid document to mutate."""
    return _small_document()
