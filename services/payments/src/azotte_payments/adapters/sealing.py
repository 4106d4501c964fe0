"""Envelope encryption of PSP credentials (AES-256-GCM): a random data key per record, wrapped by a KEK.

The key-encryption keys come from `AZOTTE_PAYMENTS_KEKS` (`id:base64 key,id:base64 key`, 32-byte keys); the
first is the active one, which seals new records. Rotation: put a new key first, keep the old ones listed,
re-wrap (`RewrapPspAccounts` / `azotte-payments rewrap-credentials`), then drop the old keys. Only the data
keys are re-wrapped; the ciphertexts stay as they are. Records are bound to their tenant and account (the
associated data), so a sealed value copied onto another account does not open.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from azotte_payments.domain.psp_account import PspCredentials, SealedCredentials
from azotte_payments.errors import CredentialKeyUnavailable

NONCE_BYTES = 12


class KeyringError(ValueError):
    """`AZOTTE_PAYMENTS_KEKS` is malformed."""


class Keyring:
    """The key-encryption keys by id; the first is active. Implements `ports.CredentialSealer`."""

    def __init__(self, keys: dict[str, bytes], active_id: str):
        self._keys = dict(keys)
        self.active_id = active_id

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """A keyring from `id:base64,id:base64` (empty: a keyring that seals nothing)."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error as error:
                raise KeyringError(f"key {key_id!r} is not base64") from error
            if not key_id or len(key) != 32:
                raise KeyringError(f"key {key_id!r} must have an id and 32 bytes")
            if key_id in keys:
                raise KeyringError(f"key {key_id!r} is listed twice")
            keys[key_id] = key
        return cls(keys, next(iter(keys), ""))

    def seal(self, credentials: PspCredentials, binding: str) -> SealedCredentials:
        """Encrypt under a new data key wrapped by the active KEK; `binding` is the record's identity."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, credentials.to_bytes(), binding.encode())
        return SealedCredentials(self._require_active(), self._wrap(data_key, binding), nonce, ciphertext)

    def unseal(self, sealed: SealedCredentials, binding: str) -> PspCredentials:
        """Decrypt a record sealed by `seal` (CredentialKeyUnavailable when its KEK is gone or it was tampered)."""
        data_key = self._unwrap(sealed, binding)
        try:
            plaintext = AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, binding.encode())
        except InvalidTag as error:
            raise CredentialKeyUnavailable("sealed credentials do not open with their data key") from error
        return PspCredentials.from_bytes(plaintext)

    def rewrap(self, sealed: SealedCredentials, binding: str) -> SealedCredentials | None:
        """The record with its data key wrapped by the active KEK; None when it already is."""
        if sealed.kek_id == self._require_active():
            return None
        data_key = self._unwrap(sealed, binding)
        return SealedCredentials(self.active_id, self._wrap(data_key, binding), sealed.nonce, sealed.ciphertext)

    def _require_active(self) -> str:
        if not self.active_id:
            raise CredentialKeyUnavailable("no key-encryption key is configured (AZOTTE_PAYMENTS_KEKS)")
        return self.active_id

    def _wrap(self, data_key: bytes, binding: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._keys[self.active_id]).encrypt(nonce, data_key, binding.encode())

    def _unwrap(self, sealed: SealedCredentials, binding: str) -> bytes:
        kek = self._keys.get(sealed.kek_id)
        if kek is None:
            raise CredentialKeyUnavailable(f"key-encryption key {sealed.kek_id!r} is not configured")
        nonce, wrapped = sealed.wrapped_key[:NONCE_BYTES], sealed.wrapped_key[NONCE_BYTES:]
        try:
            return AESGCM(kek).decrypt(nonce, wrapped, binding.encode())
        except InvalidTag as error:
            raise CredentialKeyUnavailable(f"the data key does not open with key {sealed.kek_id!r}") from error
