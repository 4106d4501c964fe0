"""Tenants and their mode."""

from __future__ import annotations

import pytest

from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_platform.errors import FailedPrecondition, InvalidArgument


def test_only_sandbox_tenants_may_advance_the_clock() -> None:
    Tenant("acme-test", "Acme", TenantMode.SANDBOX).ensure_may_advance_clock()
    with pytest.raises(FailedPrecondition) as caught:
        Tenant("acme", "Acme", TenantMode.LIVE).ensure_may_advance_clock()
    assert "live" in caught.value.message


@pytest.mark.parametrize("slug", ["", "A", "Acme", "1acme", "acme-", "acme_video", "a" * 65])
def test_tenant_id_must_be_a_slug(slug: str) -> None:
    with pytest.raises(InvalidArgument):
        Tenant(slug, "Acme", TenantMode.LIVE)


def test_tenant_needs_a_name() -> None:
    with pytest.raises(InvalidArgument):
        Tenant("acme", "  ", TenantMode.LIVE)
