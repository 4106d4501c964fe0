"""Features: the entitlement keys plans grant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .texts import Texts, validate_texts
from .validation import Violations, check_name, join

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class FeatureKind(StrEnum):
    """How a feature is granted."""

    BOOLEAN = "boolean"
    QUOTA = "quota"
    SEATS = "seats"


class ResetPeriod(StrEnum):
    """When a quota's usage starts again from zero."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    BILLING_PERIOD = "billing_period"
    NEVER = "never"


@dataclass(frozen=True)
class Feature:
    """An entitlement key; quota features are metered in `unit` and reset every `reset_period`."""

    key: str
    name: str
    kind: FeatureKind
    unit: str | None = None
    reset_period: ResetPeriod | None = None
    texts: Texts = ()
    """Display name and description per locale; `name` is in the catalog's default locale."""


def validate_feature(feature: Feature, path: str = "feature") -> Violations:
    """Every field violation of a feature on its own."""
    v = Violations()
    if not _KEY.match(feature.key):
        v.add(join(path, "key"), f"{feature.key!r} must be snake_case (e.g. 'hd_streaming'), max 63 characters")
    check_name(v, join(path, "name"), feature.name)
    if feature.kind is FeatureKind.QUOTA:
        if not feature.unit:
            v.add(join(path, "unit"), "required for a quota feature (e.g. 'tokens')")
        if feature.reset_period is None:
            v.add(join(path, "reset_period"), "required for a quota feature (e.g. 'month')")
    else:
        if feature.unit is not None:
            v.add(join(path, "unit"), f"only quota features have a unit, not {feature.kind} ones")
        if feature.reset_period is not None:
            v.add(join(path, "reset_period"), f"only quota features reset, not {feature.kind} ones")
    validate_texts(v, join(path, "texts"), feature.texts, full=False)
    return v
