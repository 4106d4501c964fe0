"""What a catalog change announces: one event per created or changed resource, in the domain's terms.

`type` is the event type on the stream (`azotte.<tenant>.catalog.<type>`); `changed_fields` use the
domain's field names (the proto adapter spells them as the API does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from .catalog import Times
from .diff import Change, DiffEntry
from .feature import Feature
from .mapping import ChannelMapping
from .plan import Plan
from .price import Price
from .storefront import Storefront


@dataclass(frozen=True)
class StorefrontCreated:
    """A storefront was added."""

    type: ClassVar[str] = "storefront.created"
    storefront: Storefront
    times: Times


@dataclass(frozen=True)
class StorefrontUpdated:
    """A storefront changed."""

    type: ClassVar[str] = "storefront.updated"
    storefront: Storefront
    times: Times
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class FeatureCreated:
    """A feature was added."""

    type: ClassVar[str] = "feature.created"
    feature: Feature


@dataclass(frozen=True)
class FeatureUpdated:
    """A feature changed."""

    type: ClassVar[str] = "feature.updated"
    feature: Feature
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class PlanCreated:
    """A plan was added."""

    type: ClassVar[str] = "plan.created"
    plan: Plan
    times: Times


@dataclass(frozen=True)
class PlanUpdated:
    """A plan's definition or state changed (retiring is `PlanRetired`)."""

    type: ClassVar[str] = "plan.updated"
    plan: Plan
    times: Times
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class PlanRetired:
    """A plan is no longer sold; its subscribers keep renewing."""

    type: ClassVar[str] = "plan.retired"
    plan_id: str
    retired_at: datetime


@dataclass(frozen=True)
class PriceScheduled:
    """A price version was added."""

    type: ClassVar[str] = "price.scheduled"
    price: Price


@dataclass(frozen=True)
class PriceActivated:
    """A price version took effect; `previous_price_id` is the one it replaces ('' for a key's first)."""

    type: ClassVar[str] = "price.activated"
    price: Price
    previous_price_id: str


@dataclass(frozen=True)
class PriceCancelled:
    """A price version scheduled ahead was withdrawn before it took effect."""

    type: ClassVar[str] = "price.cancelled"
    price: Price
    cancelled_at: datetime


@dataclass(frozen=True)
class ChannelMappingCreated:
    """A store product id was mapped to a plan."""

    type: ClassVar[str] = "channel_mapping.created"
    mapping: ChannelMapping


@dataclass(frozen=True)
class ChannelMappingUpdated:
    """A store product id's mapping changed."""

    type: ClassVar[str] = "channel_mapping.updated"
    mapping: ChannelMapping
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class CatalogApplied:
    """A catalog document was applied; `entries` is its whole diff."""

    type: ClassVar[str] = "catalog.applied"
    entries: tuple[DiffEntry, ...]
    applied_at: datetime

    def count(self, change: Change) -> int:
        """How many resources the apply changed this way."""
        return sum(1 for entry in self.entries if entry.change is change)


CatalogEvent = (
    StorefrontCreated
    | StorefrontUpdated
    | FeatureCreated
    | FeatureUpdated
    | PlanCreated
    | PlanUpdated
    | PlanRetired
    | PriceScheduled
    | PriceActivated
    | PriceCancelled
    | ChannelMappingCreated
    | ChannelMappingUpdated
    | CatalogApplied
)
