"""Fixtures of the payments integration tests: sandbox PSPs and a payments service per module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_payments.sandbox_psp import adyen_like, stripe_like
from azotte_payments.sandbox_psp.book import SandboxSettings
from azotte_platform.grpc.client import connect
from tests.integration.payments.payments_harness import Payments, SandboxPsp, payments_service, serving, storefront

SANDBOX_SETTINGS = SandboxSettings(latency_ms=0, timeout_delay_s=3.0)


@pytest.fixture(scope="session")
async def sandbox_psps() -> AsyncIterator[dict[str, SandboxPsp]]:
    """Both sandbox PSPs, served over HTTP for the whole session."""
    async with (
        serving(stripe_like.create_app(SANDBOX_SETTINGS)) as stripe_url,
        serving(adyen_like.create_app(SANDBOX_SETTINGS)) as adyen_url,
    ):
        yield {"stripe_like": SandboxPsp("stripe_like", stripe_url), "adyen_like": SandboxPsp("adyen_like", adyen_url)}


@pytest.fixture(scope="session")
async def payments(servers, sandbox_psps) -> AsyncIterator[Payments]:
    """One payments service shared by tests that do not disturb its breakers."""
    async with payments_service(servers, sandbox_psps) as service:
        yield service


@pytest.fixture
def tenant(payments: Payments) -> str:
    """A fresh tenant with storefront `de` (EUR, 19 % inclusive, stripe_like then adyen_like)."""
    tenant_id = f"t{uuid.uuid4().hex[:12]}"
    payments.catalog.storefronts[(tenant_id, "de")] = storefront()
    return tenant_id


@pytest.fixture
async def adapter(payments: Payments) -> AsyncIterator[GrpcPayments]:
    """Lifecycle's payments adapter over a channel like the one lifecycle opens (typed errors back)."""
    channel = connect(payments.address)
    yield GrpcPayments(channel)
    await channel.close(None)
