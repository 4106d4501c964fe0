"""Meters: which usage events a meter counts, the value it reads from their data and how it aggregates it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from azotte_metering.errors import InvalidMeter

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
PATH_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
MAX_DIMENSIONS = 8
MAX_PATH_DEPTH = 8
MAX_DISPLAY_NAME = 200
MAX_EVENT_TYPE = 256
MAX_DIMENSION_VALUE = 256
MAX_QUOTA_FEATURES = 8
FEATURE_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A catalog feature key: snake_case."""


class Aggregation(Enum):
    """How a meter aggregates the values of its events."""

    SUM = "sum"
    COUNT = "count"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    UNIQUE_COUNT = "unique_count"
    LATEST = "latest"

    @property
    def reads_number(self) -> bool:
        """Whether the value at the meter's path must be a number (COUNT reads none, UNIQUE_COUNT any scalar)."""
        return self not in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT)


def parse_path(path: str, field: str) -> tuple[str, ...]:
    """The segments of a data path: `$.usage.tokens`, `usage.tokens` -> ("usage", "tokens")."""
    text = path.removeprefix("$.")
    segments = tuple(text.split("."))
    if len(segments) > MAX_PATH_DEPTH or not all(PATH_SEGMENT.match(segment) for segment in segments):
        raise InvalidMeter.field(field, "must be a path of field names like `$.tokens` or `usage.tokens`")
    return segments


def read_path(data: Mapping[str, object], segments: Sequence[str]) -> object:
    """The value at `segments` in an event's data (parsed JSON: dicts), or None when absent."""
    value: object = data
    for segment in segments:
        # NOTE: `dict`, not the Mapping ABC: this runs for every value and dimension of every event.
        if not isinstance(value, dict):
            return None
        value = value.get(segment)
    return value


@dataclass(frozen=True, slots=True)
class QuotaFeature:
    """A catalog quota feature measured by a meter: its use in a period is the meter's quantity over the usage
    with `dimensions` (name, value pairs, sorted; none: all of it)."""

    feature_key: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, feature_key: str, dimensions: Mapping[str, str]) -> QuotaFeature:
        return cls(feature_key, tuple(sorted(dimensions.items())))

    def counts(self, values: Mapping[str, str]) -> bool:
        """Whether usage with these dimension values counts toward the feature."""
        return all(values.get(name) == value for name, value in self.dimensions)


@dataclass(frozen=True, slots=True)
class Meter:
    """A tenant's meter; `dimensions` are data paths whose values group its usage."""

    tenant_id: str
    key: str
    display_name: str
    event_type: str
    value_path: str
    aggregation: Aggregation
    dimensions: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    quota_features: tuple[QuotaFeature, ...] = ()

    @property
    def value_segments(self) -> tuple[str, ...]:
        return parse_path(self.value_path, "meter.value_path") if self.value_path else ()

    @property
    def dimension_segments(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each dimension's name (its path without `$.`) and its segments."""
        return tuple((name.removeprefix("$."), parse_path(name, "meter.dimensions")) for name in self.dimensions)

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(name.removeprefix("$.") for name in self.dimensions)

    def validated(self) -> Meter:
        """The meter if its definition makes sense, else InvalidMeter naming the field."""
        if not KEY_PATTERN.match(self.key):
            raise InvalidMeter.field("meter.key", "must be 1-64 of a-z, 0-9, '_', '-', '.' (a letter or digit first)")
        if not self.display_name.strip() or len(self.display_name) > MAX_DISPLAY_NAME:
            raise InvalidMeter.field("meter.display_name", f"is required, at most {MAX_DISPLAY_NAME} characters")
        if not self.event_type or len(self.event_type) > MAX_EVENT_TYPE:
            raise InvalidMeter.field("meter.event_type", f"is required, at most {MAX_EVENT_TYPE} characters")
        if self.aggregation is Aggregation.COUNT:
            if self.value_path:
                raise InvalidMeter.field("meter.value_path", "must be empty for COUNT (it reads no value)")
        elif not self.value_path:
            raise InvalidMeter.field("meter.value_path", f"is required for {self.aggregation.name}")
        else:
            parse_path(self.value_path, "meter.value_path")
        if len(self.dimensions) > MAX_DIMENSIONS:
            raise InvalidMeter.field("meter.dimensions", f"must be at most {MAX_DIMENSIONS}")
        names = set()
        for index, dimension in enumerate(self.dimensions):
            parse_path(dimension, f"meter.dimensions[{index}]")
            name = dimension.removeprefix("$.")
            if name in names:
                raise InvalidMeter.field(f"meter.dimensions[{index}]", "is given twice")
            names.add(name)
        self._check_quota_features(names)
        return self

    def _check_quota_features(self, dimension_names: set[str]) -> None:
        if not self.quota_features:
            return
        if self.aggregation not in (Aggregation.SUM, Aggregation.COUNT):
            raise InvalidMeter.field("meter.quota_features", "only a SUM or COUNT meter measures a quota")
        if len(self.quota_features) > MAX_QUOTA_FEATURES:
            raise InvalidMeter.field("meter.quota_features", f"must be at most {MAX_QUOTA_FEATURES}")
        features = set()
        for index, quota in enumerate(self.quota_features):
            field = f"meter.quota_features[{index}]"
            if not FEATURE_KEY_PATTERN.match(quota.feature_key):
                raise InvalidMeter.field(f"{field}.feature_key", "must be a catalog feature key (snake_case)")
            if quota.feature_key in features:
                raise InvalidMeter.field(f"{field}.feature_key", "is given twice")
            features.add(quota.feature_key)
            for name, value in quota.dimensions:
                if name not in dimension_names:
                    raise InvalidMeter.field(f"{field}.dimensions", f"{name!r} is not a dimension of the meter")
                if not value or len(value) > MAX_DIMENSION_VALUE:
                    raise InvalidMeter.field(
                        f"{field}.dimensions", f"the value of {name!r} must be 1-{MAX_DIMENSION_VALUE} characters"
                    )

    def updated(self, changes: Mapping[str, object], at: datetime) -> Meter:
        """A copy with `changes` (field name -> value) applied, validated."""
        return replace(self, **changes, updated_at=at).validated()  # type: ignore[arg-type]
