"""Envelope encryption of secrets at rest (AES-256-GCM): a random data key per record, wrapped by a KEK.

A service reads its key-encryption keys from one setting (`id:base64 key,id:base64 key`, 32-byte keys); the
first is the active one, which seals new records. Rotation: put a new key first, keep the old ones listed,
re-wrap every record (`Keyring.rewrap`), then drop the old keys. Only the data keys are re-wrapped; the
ciphertexts stay as they are. Records are bound to their identity (the associated data, e.g.
`tenant/account`), so a sealed value copied onto another record does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from azotte_platform.errors import FailedPrecondition

NONCE_BYTES = 12


class KeyringError(ValueError):
    """The key-encryption keys setting is malformed."""


class SealingKeyUnavailable(FailedPrecondition):
    """A sealed record does not open: its key-encryption key is not configured, wrong, or it was tampered."""

    reason = "SEALING_KEY_UNAVAILABLE"


@dataclass(frozen=True)
class Sealed:
    """A secret encrypted under a random data key, itself wrapped by the key-encryption key `kek_id`."""

    kek_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class Keyring:
    """The key-encryption keys by id; the first is active. `setting` names where they come from, for errors."""

    def __init__(self, keys: dict[str, bytes], active_id: str, setting: str):
        self._keys = dict(keys)
        self.active_id = active_id
        self.setting = setting

    @classmethod
    def parse(cls, spec: str, setting: str) -> Keyring:
        """A keyring from `id:base64,id:base64` (empty: a keyring that seals nothing)."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error as error:
                raise KeyringError(f"{setting}: key {key_id!r} is not base64") from error
            if not key_id or len(key) != 32:
                raise KeyringError(f"{setting}: key {key_id!r} must have an id and 32 bytes")
            if key_id in keys:
                raise KeyringError(f"{setting}: key {key_id!r} is listed twice")
            keys[key_id] = key
        return cls(keys, next(iter(keys), ""), setting)

    def seal(self, plaintext: bytes, binding: str) -> Sealed:
        """Encrypt under a new data key wrapped by the active KEK; `binding` is the record's identity."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, binding.encode())
        return Sealed(self._require_active(), self._wrap(data_key, binding), nonce, ciphertext)

    def unseal(self, sealed: Sealed, binding: str) -> bytes:
        """Decrypt a record sealed by `seal` (SealingKeyUnavailable when its KEK is gone or it was tampered)."""
        data_key = self._unwrap(sealed, binding)
        try:
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, binding.encode())
        except InvalidTag as error:
            raise SealingKeyUnavailable("the sealed record does not open with its data key") from error

    def rewrap(self, sealed: Sealed, binding: str) -> Sealed | None:
        """The record with its data key wrapped by the active KEK; None when it already is."""
        if sealed.kek_id == self._require_active():
            return None
        data_key = self._unwrap(sealed, binding)
        return Sealed(self.active_id, self._wrap(data_key, binding), sealed.nonce, sealed.ciphertext)

    def _require_active(self) -> str:
        if not self.active_id:
            raise SealingKeyUnavailable(f"no key-encryption key is configured ({self.setting})")
        return self.active_id

    def _wrap(self, data_key: bytes, binding: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._keys[self.active_id]).encrypt(nonce, data_key, binding.encode())

    def _unwrap(self, sealed: Sealed, binding: str) -> bytes:
        kek = self._keys.get(sealed.kek_id)
        if kek is None:
            raise SealingKeyUnavailable(f"key-encryption key {sealed.kek_id!r} is not configured ({self.setting})")
        nonce, wrapped = sealed.wrapped_key[:NONCE_BYTES], sealed.wrapped_key[NONCE_BYTES:]
        try:
            return AESGCM(kek).decrypt(nonce, wrapped, binding.encode())
        except InvalidTag as error:
            raise SealingKeyUnavailable(
                f"the data key does not open with key {sealed.kek_id!r} ({self.setting})"
            ) from error
