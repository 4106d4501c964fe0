"""Channel product mappings: a store's product identifier → a plan (and storefront where needed)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from azotte_catalog.errors import ChannelProductNotMapped
from azotte_platform.enums import Channel

from .plan import Plan
from .storefront import Storefront
from .validation import Violations, join

_APP_STORE_PRODUCT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_GOOGLE_PLAY_PART = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_SKU = re.compile(r"^[A-Za-z0-9._:/-]{1,255}$")
# NOTE: carrier and partner SKUs are local to one market, so they name their storefront.
CHANNELS_NEEDING_STOREFRONT = frozenset({Channel.TELECOM, Channel.PARTNER})


@dataclass(frozen=True)
class ChannelMapping:
    """(channel, external product id) → plan; e.g. Google Play's 'subscriptionId:basePlanId'."""

    channel: Channel
    external_product_id: str
    plan_id: str
    storefront_id: str | None = None

    @property
    def id(self) -> str:
        """The mapping's identity: channel and external product id are unique together."""
        return f"{self.channel}:{self.external_product_id}"


def validate_mapping(mapping: ChannelMapping, path: str = "channel_mapping") -> Violations:
    """Every field violation of a mapping on its own."""
    v = Violations()
    product_path = join(path, "external_product_id")
    product = mapping.external_product_id
    if mapping.channel in (Channel.WEB, Channel.DIRECT):
        v.add(
            join(path, "channel"),
            f"{mapping.channel} sells plans directly; only store-billed channels have product mappings",
        )
    elif mapping.channel is Channel.APP_STORE and not _APP_STORE_PRODUCT.match(product):
        v.add(product_path, f"{product!r} is not an App Store productId (letters, digits, '.', '_', '-')")
    elif mapping.channel is Channel.GOOGLE_PLAY:
        parts = product.split(":")
        if len(parts) != 2 or not all(_GOOGLE_PLAY_PART.match(part) for part in parts):
            v.add(product_path, f"{product!r} must be 'subscriptionId:basePlanId' (e.g. 'premium:monthly')")
    elif mapping.channel in CHANNELS_NEEDING_STOREFRONT and not _SKU.match(product):
        v.add(product_path, f"{product!r} is not a valid SKU")
    if mapping.channel in CHANNELS_NEEDING_STOREFRONT and mapping.storefront_id is None:
        v.add(join(path, "storefront"), f"required for {mapping.channel} mappings")
    return v


def validate_mapping_refs(
    mapping: ChannelMapping,
    plans: Mapping[str, Plan],
    storefronts: Mapping[str, Storefront],
    path: str = "channel_mapping",
) -> Violations:
    """Violations of a mapping's references to its plan and storefront."""
    v = Violations()
    if mapping.plan_id not in plans:
        v.add(join(path, "plan"), f"unknown plan {mapping.plan_id!r}")
    if mapping.storefront_id is not None:
        storefront = storefronts.get(mapping.storefront_id)
        if storefront is None:
            v.add(join(path, "storefront"), f"unknown storefront {mapping.storefront_id!r}")
        elif not storefront.sells_on(mapping.channel):
            v.add(
                join(path, "channel"),
                f"channel {mapping.channel} is not enabled in storefront {storefront.id!r}",
            )
    return v


def resolve_channel_product(
    mappings: Iterable[ChannelMapping], channel: Channel, external_product_id: str
) -> ChannelMapping:
    """The mapping of a store's product id, or NotFound."""
    for mapping in mappings:
        if mapping.channel is channel and mapping.external_product_id == external_product_id:
            return mapping
    raise ChannelProductNotMapped(f"no plan is mapped to {channel} product {external_product_id!r}")
