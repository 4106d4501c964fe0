"""Typed errors of the catalog: one class per reason (the `google.rpc.ErrorInfo` reason on the wire)."""

from __future__ import annotations

from azotte_platform.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound


class StorefrontNotFound(NotFound):
    """The tenant has no storefront with that id."""

    reason = "STOREFRONT_NOT_FOUND"


class FeatureNotFound(NotFound):
    """The tenant has no feature with that key."""

    reason = "FEATURE_NOT_FOUND"


class PlanNotFound(NotFound):
    """The tenant has no plan with that id."""

    reason = "PLAN_NOT_FOUND"


class PriceNotFound(NotFound):
    """No price of the plan in the storefront is in effect on that channel at that time."""

    reason = "PRICE_NOT_FOUND"


class PriceVersionNotFound(NotFound):
    """The tenant has no price version with that id."""

    reason = "PRICE_VERSION_NOT_FOUND"


class PriceAlreadyEffective(FailedPrecondition):
    """A price version that took effect is history: it cannot be cancelled."""

    reason = "PRICE_ALREADY_EFFECTIVE"


class ChannelProductNotMapped(NotFound):
    """No plan is mapped to that store product id."""

    reason = "CHANNEL_PRODUCT_NOT_MAPPED"


class StorefrontAlreadyExists(AlreadyExists):
    """A storefront with that id exists."""

    reason = "STOREFRONT_ALREADY_EXISTS"


class FeatureAlreadyExists(AlreadyExists):
    """A feature with that key exists."""

    reason = "FEATURE_ALREADY_EXISTS"


class PlanAlreadyExists(AlreadyExists):
    """A plan with that id exists."""

    reason = "PLAN_ALREADY_EXISTS"


class ChannelMappingAlreadyExists(AlreadyExists):
    """The store product id is already mapped on that channel."""

    reason = "CHANNEL_MAPPING_ALREADY_EXISTS"


class StorefrontCurrencyFixed(FailedPrecondition):
    """A storefront with prices keeps its currency."""

    reason = "STOREFRONT_CURRENCY_FIXED"


class FeatureKindFixed(FailedPrecondition):
    """A feature keeps its kind."""

    reason = "FEATURE_KIND_FIXED"


class PlanIntervalFixed(FailedPrecondition):
    """A plan that was sold keeps its billing interval."""

    reason = "PLAN_INTERVAL_FIXED"


class PlanStatusTransitionNotAllowed(FailedPrecondition):
    """A plan moves only draft -> active -> retired."""

    reason = "PLAN_STATUS_TRANSITION_NOT_ALLOWED"


class PlanFamilyMismatch(FailedPrecondition):
    """Only plans of one family compare as upgrade, downgrade or lateral."""

    reason = "PLAN_FAMILY_MISMATCH"


class PlanNotSellable(FailedPrecondition):
    """The plan is not sold (draft or retired), or not renewed (draft)."""

    reason = "PLAN_NOT_SELLABLE"


class ChannelNotEnabled(FailedPrecondition):
    """The storefront does not sell on that channel."""

    reason = "CHANNEL_NOT_ENABLED"


class CatalogDocumentUnreadable(InvalidArgument):
    """A catalog document is not valid YAML or JSON."""

    reason = "CATALOG_DOCUMENT_UNREADABLE"
