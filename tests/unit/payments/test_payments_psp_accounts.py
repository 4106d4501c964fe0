"""Tenants' own PSP accounts: validated, sealed with envelope encryption, answered with hints only, re-wrapped."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from azotte.payments.v1 import psp_accounts_pb2 as A
from azotte_payments.adapters.sealing import CredentialKeyring
from azotte_payments.domain.psp_account import PspCredentials, PspKind, PspMode, sealing_binding
from azotte_payments.errors import PspAccountAlreadyExists, PspAccountNotFound
from azotte_payments.service_layer import psp_accounts
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument
from azotte_platform.sealing import KeyringError, SealingKeyUnavailable
from tests.unit.payments.fakes import TENANT, TEST_KEKS, FakePayments

NO_CONTEXT: Any = None
SECRET_KEY = "sk_test_51Hq2mUGd8RealLookingSecretKey9f3a"
WEBHOOK_SECRET = "whsec_t0pS3cretSigningValue12345678"
STRIPE = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


def connect(
    request_id: str = "r1",
    account_id: str = "stripe-eu",
    credentials: dict[str, str] | None = None,
    mode: A.PspMode.ValueType = A.PSP_MODE_SANDBOX,
    kind: A.PspKind.ValueType = A.PSP_KIND_STRIPE,
) -> A.CreatePspAccountRequest:
    return A.CreatePspAccountRequest(
        request_id=request_id,
        account=A.PspAccount(account_id=account_id, kind=kind, mode=mode, display_name="Stripe EU"),
        credentials=STRIPE if credentials is None else credentials,
    )


def key(fill: int) -> str:
    return base64.b64encode(bytes([fill]) * 32).decode()


async def test_an_account_is_answered_with_hints_and_stored_sealed(payments: FakePayments) -> None:
    with tenant_scope(TENANT):
        created = await payments.servicer.CreatePspAccount(connect(), NO_CONTEXT)
        again = await payments.servicer.CreatePspAccount(connect(), NO_CONTEXT)
        listed = await payments.servicer.ListPspAccounts(A.ListPspAccountsRequest(), NO_CONTEXT)

    account = created.account
    assert again == created and list(listed.accounts) == [account]
    assert account.kind == A.PSP_KIND_STRIPE and account.mode == A.PSP_MODE_SANDBOX
    assert account.credential_hints["secret_key"].startswith("…9f3a (sha256:")
    answered = created.SerializeToString() + listed.SerializeToString()
    stored = payments.state.psp_accounts[(TENANT, "stripe-eu")]
    for secret in (SECRET_KEY, WEBHOOK_SECRET):
        assert secret.encode() not in answered
        assert secret.encode() not in stored.sealed.ciphertext + stored.sealed.wrapped_key
        assert secret not in repr(stored) and secret not in repr(PspCredentials(STRIPE))
    assert payments.published_types() == []  # connecting an account publishes nothing


async def test_another_tenants_account_is_not_found_like_a_missing_one(payments: FakePayments) -> None:
    with tenant_scope(TENANT):
        await payments.servicer.CreatePspAccount(connect(), NO_CONTEXT)
    with tenant_scope("t2"), pytest.raises(PspAccountNotFound):
        await payments.servicer.GetPspAccount(A.GetPspAccountRequest(account_id="stripe-eu"), NO_CONTEXT)
    with tenant_scope(TENANT), pytest.raises(PspAccountNotFound):
        await payments.servicer.GetPspAccount(A.GetPspAccountRequest(account_id="stripe-us"), NO_CONTEXT)


async def test_an_account_id_is_connected_once(payments: FakePayments) -> None:
    with tenant_scope(TENANT):
        await payments.servicer.CreatePspAccount(connect("r1"), NO_CONTEXT)
        with pytest.raises(PspAccountAlreadyExists):
            await payments.servicer.CreatePspAccount(connect("r2"), NO_CONTEXT)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (connect(account_id="Stripe EU"), "account.account_id"),
        (connect(credentials={"secret_key": SECRET_KEY}), "credentials.webhook_secret"),
        (connect(credentials={**STRIPE, "api_key": "x"}), "credentials.api_key"),
        (connect(credentials={**STRIPE, "secret_key": "sk_test_a\x00b"}), "credentials.secret_key"),
        (connect(credentials={**STRIPE, "secret_key": "k" * 600}), "credentials.secret_key"),
        (connect(mode=A.PSP_MODE_LIVE), "credentials.secret_key"),  # a test key on a live account
        (connect(credentials={**STRIPE, "webhook_secret": "secret"}), "credentials.webhook_secret"),
        (connect(kind=A.PSP_KIND_STRIPE_LIKE, mode=A.PSP_MODE_LIVE, credentials={"api_key": "k"}), "account.mode"),
        (connect(kind=A.PSP_KIND_UNSPECIFIED), "account.kind"),
        (connect(mode=A.PSP_MODE_UNSPECIFIED), "account.mode"),
    ],
)
async def test_bad_accounts_are_refused_naming_the_field(
    payments: FakePayments, request_: A.CreatePspAccountRequest, field: str
) -> None:
    with tenant_scope(TENANT), pytest.raises(InvalidArgument) as error:
        await payments.servicer.CreatePspAccount(request_, NO_CONTEXT)
    assert error.value.violations[0].field == field
    assert payments.state.psp_accounts == {}


def test_sealed_credentials_open_only_for_their_own_tenant_and_account() -> None:
    keyring = CredentialKeyring.parse(TEST_KEKS)
    sealed = keyring.seal(PspCredentials(STRIPE), sealing_binding("t1", "stripe-eu"))

    assert keyring.unseal(sealed, sealing_binding("t1", "stripe-eu")).values == STRIPE
    for other in (sealing_binding("t2", "stripe-eu"), sealing_binding("t1", "stripe-us")):
        with pytest.raises(SealingKeyUnavailable):
            keyring.unseal(sealed, other)
    tampered = dataclasses.replace(sealed, ciphertext=bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
    with pytest.raises(SealingKeyUnavailable):
        keyring.unseal(tampered, sealing_binding("t1", "stripe-eu"))


async def test_rotation_rewraps_data_keys_so_the_old_kek_can_be_dropped(payments: FakePayments) -> None:
    old, new = f"old:{key(7)}", f"new:{key(9)}"
    command = psp_accounts.ConnectPspAccount(
        "stripe-eu", PspKind.STRIPE, PspMode.SANDBOX, "Stripe EU", PspCredentials(STRIPE)
    )
    async with payments.uow() as uow:
        before = (await psp_accounts.connect_psp_account(uow, CredentialKeyring.parse(old), TENANT, command)).sealed
        await uow.commit()
    rotated = CredentialKeyring.parse(f"{new},{old}")
    async with payments.uow() as uow:
        counts = [await psp_accounts.rewrap_psp_accounts(uow, rotated, TENANT) for _ in range(2)]
        await uow.commit()

    after = payments.state.psp_accounts[(TENANT, "stripe-eu")].sealed
    assert counts == [1, 0] and after.kek_id == "new" and after.ciphertext == before.ciphertext
    only_new = CredentialKeyring.parse(new)
    assert only_new.unseal(after, sealing_binding(TENANT, "stripe-eu")).values == STRIPE
    with pytest.raises(SealingKeyUnavailable):
        only_new.unseal(before, sealing_binding(TENANT, "stripe-eu"))


async def test_without_a_kek_nothing_is_stored(payments: FakePayments) -> None:
    command = psp_accounts.ConnectPspAccount(
        "stripe-eu", PspKind.STRIPE, PspMode.SANDBOX, "Stripe EU", PspCredentials(STRIPE)
    )
    async with payments.uow() as uow:
        with pytest.raises(SealingKeyUnavailable):
            await psp_accounts.connect_psp_account(uow, CredentialKeyring.parse(""), TENANT, command)
    assert payments.state.psp_accounts == {}


@pytest.mark.parametrize(
    "spec", ["k1:notbase64!", f"k1:{base64.b64encode(b'short').decode()}", f"k1:{key(1)},k1:{key(2)}"]
)
def test_malformed_keks_are_refused_at_start(spec: str) -> None:
    with pytest.raises(KeyringError):
        CredentialKeyring.parse(spec)
