"""API key issue, verification, expiry and revocation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from azotte_gateway.domain.api_keys import IssuedApiKey, issue_api_key, key_prefix
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_platform.errors import InvalidArgument, Unauthenticated

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ACME = Tenant("acme-video", "Acme Video", TenantMode.LIVE)


def issue(role: Role = Role.OPERATOR, expires_at: datetime | None = None) -> IssuedApiKey:
    return issue_api_key(tenant=ACME, key_id="key-1", name="backend", role=role, now=NOW, expires_at=expires_at)


def test_issued_key_has_the_documented_format_and_a_visible_prefix() -> None:
    issued = issue()
    scheme, mode, prefix_id, secret = issued.plaintext.split("_")
    assert (scheme, mode) == ("azk", "live")
    assert issued.api_key.prefix == f"azk_live_{prefix_id}"
    assert key_prefix(issued.plaintext) == issued.api_key.prefix
    assert len(secret) >= 43 and secret.isalnum()


def test_only_the_hash_is_stored_never_the_secret() -> None:
    issued = issue()
    secret = issued.plaintext.rsplit("_", 1)[1]
    stored = repr(asdict(issued.api_key))
    assert secret not in stored
    assert issued.plaintext not in stored
    assert len(issued.api_key.secret_hash) == 64


def test_two_keys_never_share_prefix_or_secret() -> None:
    first, second = issue(), issue()
    assert first.plaintext != second.plaintext
    assert first.api_key.prefix != second.api_key.prefix


def test_verification_returns_the_principal() -> None:
    issued = issue(Role.MANAGER)
    principal = issued.api_key.verify(issued.plaintext, NOW)
    assert principal.tenant_id == "acme-video"
    assert principal.api_key_id == "key-1"
    assert principal.role is Role.MANAGER
    assert principal.tenant_mode is TenantMode.LIVE


def test_a_wrong_secret_with_the_right_prefix_is_rejected() -> None:
    issued = issue()
    last = issued.plaintext[-1]
    forged = issued.plaintext[:-1] + ("a" if last != "a" else "b")
    with pytest.raises(Unauthenticated) as caught:
        issued.api_key.verify(forged, NOW)
    assert caught.value.reason == "API_KEY_INVALID"


@pytest.mark.parametrize(
    "presented",
    ["", "Bearer x", "azk_live_abc", "sk_live_0123456789ab_" + "a" * 43, "azk_prod_0123456789ab_" + "a" * 43],
)
def test_malformed_keys_are_rejected(presented: str) -> None:
    with pytest.raises(Unauthenticated):
        key_prefix(presented)


def test_expired_key_is_rejected_from_its_expiry_time() -> None:
    issued = issue(expires_at=NOW + timedelta(days=30))
    issued.api_key.verify(issued.plaintext, NOW + timedelta(days=30) - timedelta(seconds=1))
    with pytest.raises(Unauthenticated) as caught:
        issued.api_key.verify(issued.plaintext, NOW + timedelta(days=30))
    assert caught.value.reason == "API_KEY_EXPIRED"


def test_expiry_must_be_in_the_future() -> None:
    with pytest.raises(InvalidArgument):
        issue(expires_at=NOW)


def test_revoked_key_is_rejected_and_revoking_again_keeps_the_first_time() -> None:
    issued = issue()
    issued.api_key.revoke(NOW + timedelta(hours=1))
    issued.api_key.revoke(NOW + timedelta(hours=2))
    assert issued.api_key.revoked_at == NOW + timedelta(hours=1)
    assert not issued.api_key.is_active(NOW + timedelta(hours=1))
    with pytest.raises(Unauthenticated) as caught:
        issued.api_key.verify(issued.plaintext, NOW + timedelta(hours=1))
    assert caught.value.reason == "API_KEY_REVOKED"


def test_revocation_is_not_disclosed_without_the_secret() -> None:
    issued = issue()
    issued.api_key.revoke(NOW)
    with pytest.raises(Unauthenticated) as caught:
        issued.api_key.verify(issued.api_key.prefix + "_" + "x" * 43, NOW)
    assert caught.value.reason == "API_KEY_INVALID"
