"""PSP credentials sealed by the platform's envelope encryption under `AZOTTE_PAYMENTS_KEKS`.

Rotation: put a new key first in `AZOTTE_PAYMENTS_KEKS`, keep the old ones listed, re-wrap
(`RewrapPspAccounts` / `azotte-payments rewrap-credentials`), then drop the old keys.
"""

from __future__ import annotations

from azotte_payments.domain.psp_account import PspCredentials
from azotte_platform.sealing import Keyring, Sealed

KEKS_SETTING = "AZOTTE_PAYMENTS_KEKS"


class CredentialKeyring:
    """PSP credentials sealed under a keyring. Implements `ports.CredentialSealer`."""

    def __init__(self, keyring: Keyring):
        self._keyring = keyring

    @classmethod
    def parse(cls, spec: str) -> CredentialKeyring:
        """The keyring of `AZOTTE_PAYMENTS_KEKS` (`id:base64,id:base64`; KeyringError when malformed)."""
        return cls(Keyring.parse(spec, KEKS_SETTING))

    def seal(self, credentials: PspCredentials, binding: str) -> Sealed:
        """Encrypt the credentials bound to `binding` (tenant/account)."""
        return self._keyring.seal(credentials.to_bytes(), binding)

    def unseal(self, sealed: Sealed, binding: str) -> PspCredentials:
        """Decrypt (SealingKeyUnavailable when its key-encryption key is gone or it was tampered)."""
        return PspCredentials.from_bytes(self._keyring.unseal(sealed, binding))

    def rewrap(self, sealed: Sealed, binding: str) -> Sealed | None:
        """The record with its data key wrapped by the active key; None when it already is."""
        return self._keyring.rewrap(sealed, binding)
