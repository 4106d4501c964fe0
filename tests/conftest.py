"""Fixtures shared by every test: real PostgreSQL and NATS, embedded unless AZOTTE_* URLs are set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from tests.stack import RunningSuite, TenantApi, started_suite


@dataclass
class Servers:
    """Where the tests' PostgreSQL and NATS listen."""

    postgres_url: str
    nats_url: str
    nats: EmbeddedNats | None

    def new_database_url(self, prefix: str = "test") -> str:
        """A URL of a fresh, not yet created database (services create their own)."""
        return f"{self.postgres_url}/{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    postgres_url, nats_url = os.environ.get("AZOTTE_POSTGRES_URL"), os.environ.get("AZOTTE_NATS_URL")
    if postgres_url and nats_url:
        yield Servers(postgres_url.rstrip("/"), nats_url, None)
        return
    root = Path(tmp_path_factory.mktemp("servers"))
    postgres = EmbeddedPostgres(root / "pg", fast=True)
    nats = EmbeddedNats(root / "nats")
    await postgres.start()
    await nats.start()
    try:
        yield Servers(postgres.url, nats.url, nats)
    finally:
        nats.stop()
        postgres.stop()


@pytest.fixture(scope="module")
async def quiet_nats_url(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A NATS of the module's own, for services that consume other services' streams from their first event.

    NOTE: on the session's NATS such a consumer would first read every event the earlier tests published
    (thousands, from the lifecycle and payments suites) before the ones its test waits for. With external
    servers configured, their NATS is used as it is.
    """
    if servers.nats is None:
        yield servers.nats_url
        return
    nats = EmbeddedNats(Path(tmp_path_factory.mktemp("quiet-nats")))
    await nats.start()
    try:
        yield nats.url
    finally:
        nats.stop()


# The whole suite, started once per session for the tests that drive it (tests/e2e, tests/browser).
@pytest.fixture(scope="session")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSuite]:
    async with started_suite(Path(tmp_path_factory.mktemp("suite"))) as running:
        yield running


@pytest.fixture(scope="session")
async def tenant(suite: RunningSuite) -> TenantApi:
    """A sandbox tenant with the OTT example catalog, shared by the tests of the session."""
    return await suite.new_tenant()
