"""Fixtures of the catalog integration tests: one catalog replica on real PostgreSQL and NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from azotte_platform.clock import FixedClock
from tests.integration.catalog.catalog_support import CatalogHarness, TenantStub, start_catalog

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
async def catalog(servers: Any) -> AsyncIterator[CatalogHarness]:
    """A catalog replica with a clock that moves only when a test moves it."""
    harness = await start_catalog(servers.new_database_url("catalog"), servers.nats_url, FixedClock(START))
    yield harness
    await harness.stop()


@pytest.fixture
def tenant(catalog: CatalogHarness) -> TenantStub:
    """A client calling as a tenant of this test's own."""
    return catalog.tenant(f"t{uuid.uuid4().hex[:10]}")
