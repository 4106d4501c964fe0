"""Builders shared by the catalog unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def small_document() -> dict[str, Any]:
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
