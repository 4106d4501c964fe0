"""Drift reconciliation: compare desired grants with actual ones and compute the corrections."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.grants import Grant, GrantKey


class CorrectionKind(StrEnum):
    """What a correction does to the actual grants."""

    GRANT = "grant"
    REVOKE = "revoke"
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class Correction:
    """One change to bring actual grants to the desired ones; `grant` is the new grant, or the one revoked."""

    kind: CorrectionKind
    grant: Grant
    previous: Grant | None = None
    why_not: AccessReason | None = None


@dataclass(frozen=True, slots=True)
class DriftReport:
    """How many grants were missing, extra or different."""

    granted: int
    revoked: int
    changed: int

    @property
    def total(self) -> int:
        """All corrections."""
        return self.granted + self.revoked + self.changed

    @classmethod
    def of(cls, corrections: Iterable[Correction]) -> DriftReport:
        """Count corrections by kind."""
        counts = dict.fromkeys(CorrectionKind, 0)
        for correction in corrections:
            counts[correction.kind] += 1
        return cls(counts[CorrectionKind.GRANT], counts[CorrectionKind.REVOKE], counts[CorrectionKind.CHANGE])


def reconcile(
    desired: Iterable[Grant], actual: Iterable[Grant], why_not: AccessReason | None = None
) -> list[Correction]:
    """Missing -> grant, extra -> revoke (remembering `why_not`), different limit/window -> change."""
    wanted: dict[GrantKey, Grant] = {}
    for grant in desired:
        wanted[grant.key] = grant
    have: dict[GrantKey, Grant] = {}
    for grant in actual:
        have[grant.key] = grant
    corrections: list[Correction] = []
    for key, grant in wanted.items():
        current = have.get(key)
        if current is None:
            corrections.append(Correction(CorrectionKind.GRANT, grant))
        elif not current.same_terms(grant):
            corrections.append(Correction(CorrectionKind.CHANGE, grant, previous=current))
    corrections.extend(
        Correction(CorrectionKind.REVOKE, grant, why_not=why_not) for key, grant in have.items() if key not in wanted
    )
    corrections.sort(
        key=lambda c: (
            c.grant.key.customer_id,
            c.grant.key.feature_key,
            c.grant.key.source,
            c.grant.key.source_ref,
        )
    )
    return corrections
