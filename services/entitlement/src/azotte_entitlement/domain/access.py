"""Access decisions: combine one feature's grants into an answer, with the reason when denied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantSource


class AccessReason(StrEnum):
    """Why access is denied."""

    NO_GRANT = "no_grant"
    EXPIRED = "expired"
    ON_HOLD = "on_hold"
    PAUSED = "paused"
    QUOTA_EXHAUSTED = "quota_exhausted"
    SUSPENDED = "suspended"
    SPEND_LIMIT_REACHED = "spend_limit_reached"


@dataclass(frozen=True, slots=True, order=True)
class SourceRef:
    """One source contributing to an answer."""

    source: GrantSource
    source_ref: str


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """The answer to "may this customer use this feature now"; limit None means unlimited or boolean."""

    feature_key: str
    allowed: bool
    reason: AccessReason | None
    kind: FeatureKind | None = None
    limit: int | None = None
    used: int | None = None
    remaining: int | None = None
    valid_until: datetime | None = None
    sources: tuple[SourceRef, ...] = ()
    usage_period_end: datetime | None = None


def decide(
    feature_key: str,
    grants: Iterable[Grant],
    now: datetime,
    *,
    used: int = 0,
    usage_period_end: datetime | None = None,
    suspended: AccessReason | None = None,
    why_not: AccessReason | None = None,
) -> AccessDecision:
    """Combine grants in one pass: boolean any, quotas add up, seats take the max; name the sources. A quota's
    `used` counts until `usage_period_end`, which its decision names."""
    sources: list[SourceRef] = []
    has_quota = has_seats = unlimited = False
    quota_sum = seats_max = 0
    open_ended = False
    latest_end: datetime | None = None
    latest_ended: datetime | None = None
    for grant in grants:
        if not grant.is_valid_at(now):
            if grant.valid_until is not None and grant.valid_until <= now:
                latest_ended = grant.valid_until if latest_ended is None else max(latest_ended, grant.valid_until)
            continue
        sources.append(SourceRef(grant.key.source, grant.key.source_ref))
        if grant.valid_until is None:
            open_ended = True
        elif latest_end is None or grant.valid_until > latest_end:
            latest_end = grant.valid_until
        if grant.kind is FeatureKind.QUOTA:
            has_quota = True
            if grant.limit is None:
                unlimited = True
            else:
                quota_sum += grant.limit
        elif grant.kind is FeatureKind.SEATS:
            has_seats = True
            seats_max = max(seats_max, grant.limit or 0)

    if suspended is not None:
        # NOTE: a usage suspension overrides every grant until the feature is restored; `suspended` is the
        # reason it answers (SUSPENDED, or the usage limit behind it).
        return AccessDecision(feature_key, False, suspended, sources=tuple(sorted(sources)))
    if not sources:
        return AccessDecision(feature_key, False, _denial(why_not, latest_ended), valid_until=latest_ended)

    valid_until = None if open_ended else latest_end
    ordered = tuple(sorted(sources))
    if has_quota:
        limit, remaining = (None, None) if unlimited else (quota_sum, max(quota_sum - used, 0))
        reason = AccessReason.QUOTA_EXHAUSTED if remaining == 0 else None
        return AccessDecision(
            feature_key,
            reason is None,
            reason,
            FeatureKind.QUOTA,
            limit,
            used,
            remaining,
            valid_until,
            ordered,
            usage_period_end,
        )
    if has_seats:
        # NOTE: seats are enforced when members are added (groups), never by denying the check.
        return AccessDecision(feature_key, True, None, FeatureKind.SEATS, seats_max, None, None, valid_until, ordered)
    return AccessDecision(feature_key, True, None, FeatureKind.BOOLEAN, valid_until=valid_until, sources=ordered)


def _denial(why_not: AccessReason | None, latest_ended: datetime | None) -> AccessReason:
    """Reason when no grant is valid: the remembered lifecycle reason, else expired, else no grant."""
    if why_not is not None:
        return why_not
    return AccessReason.EXPIRED if latest_ended is not None else AccessReason.NO_GRANT
