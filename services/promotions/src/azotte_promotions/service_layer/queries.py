"""The AIP-160 `filter` and AIP-132 `order_by` of ListPromotions (and the filter of ListReferrals), read into a
repository query.

Errors name `filter` or `order_by`, the request's own fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering
from azotte_promotions.domain.promotion import DiscountKind, PromotionState
from azotte_promotions.domain.referrals import ReferralState
from azotte_promotions.ports import PromotionQuery, ReferralQuery, TimeBound

PROMOTION_FILTER = {
    "state": EQUALITY,
    "stackable": EQUALITY,
    "automatic": EQUALITY,
    "discount_kind": EQUALITY,
    "create_time": COMPARISONS,
}
PROMOTION_ORDER = ("create_time", "update_time", "display_name")
OFFER_FILTER = {"campaign_id": EQUALITY, "customer_id": EQUALITY}
REFERRAL_FILTER = {"referrer_customer_id": EQUALITY, "referred_customer_id": EQUALITY, "state": EQUALITY}
E = TypeVar("E", bound=StrEnum)
_COLUMNS = {"create_time": "created_at", "update_time": "updated_at", "display_name": "display_name"}


def promotion_query(text: str, order_by: str) -> PromotionQuery:
    """The promotions `filter` and `order_by` ask for."""
    parsed = Filter.parse(text, PROMOTION_FILTER)
    ordering = Ordering.parse(order_by, PROMOTION_ORDER, "create_time")
    if len(ordering.keys) != 1:
        raise InvalidArgument.field("order_by", "order by one field")
    field, descending = ordering.keys[0]
    state, kind = parsed.value("state"), parsed.value("discount_kind")
    return PromotionQuery(
        state=None if state is None else _member(PromotionState, state, "state", "PROMOTION_STATE"),
        stackable=_flag(parsed, "stackable"),
        automatic=_flag(parsed, "automatic"),
        discount_kind=None if kind is None else _member(DiscountKind, kind, "discount_kind", "DISCOUNT_KIND"),
        created=_times(parsed, "create_time"),
        order_by=_COLUMNS[field],
        descending=descending,
    )


def referral_query(text: str) -> ReferralQuery:
    """The referrals `filter` asks for (newest first)."""
    parsed = Filter.parse(text, REFERRAL_FILTER)
    state = parsed.value("state")
    return ReferralQuery(
        referrer_customer_id=parsed.value("referrer_customer_id"),
        referred_customer_id=parsed.value("referred_customer_id"),
        state=None if state is None else _member(ReferralState, state, "state", "REFERRAL_STATE"),
    )


def offer_filter(text: str) -> tuple[str | None, str | None]:
    """The campaign and customer a list of campaign offers is filtered on."""
    parsed = Filter.parse(text, OFFER_FILTER)
    return parsed.value("campaign_id"), parsed.value("customer_id")


def _flag(parsed: Filter, field: str) -> bool | None:
    value = parsed.value(field)
    if value is not None and value.lower() not in ("true", "false"):
        raise InvalidArgument.field("filter", f"{field} must be true or false")
    return None if value is None else value.lower() == "true"


def _member(kind: type[E], value: str, field: str, prefix: str) -> E:
    name = value.strip().lower().removeprefix(prefix.lower() + "_")
    try:
        return kind(name)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidArgument.field("filter", f"{field} must be one of {allowed}") from None


def _times(parsed: Filter, field: str) -> tuple[TimeBound, ...]:
    bounds = []
    for condition in parsed.conditions:
        if condition.field != field:
            continue
        try:
            at = datetime.fromisoformat(condition.value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument.field("filter", f"{field} must be an RFC 3339 time") from None
        bounds.append(TimeBound(condition.op, at if at.tzinfo else at.replace(tzinfo=UTC)))
    return tuple(bounds)
