"""A customer's entitlements from the projection, filtered (AIP-160) and ordered (AIP-132), one page at a time."""

from __future__ import annotations

from collections.abc import Callable

from azotte_entitlement.domain.access import AccessDecision
from azotte_entitlement.domain.grants import GrantSource
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import EQUALITY, Condition, Filter, Ordering, page_in_order
from azotte_platform.paging import ListRequest, Page, PageRequest

FILTERABLE = {"feature_key": EQUALITY, "source": EQUALITY}
ORDERABLE = ("feature_key",)
DEFAULT_ORDER = "feature_key"
_KEYS: dict[str, Callable[[AccessDecision], str]] = {"feature_key": lambda decision: decision.feature_key}


class EntitlementQuery:
    """A parsed ListEntitlements request: checked before any wait, and the query its page tokens are bound to."""

    def __init__(self, request: ListRequest, tenant_id: str, customer_id: str, filter_text: str, order_by: str):
        parsed = Filter.parse(filter_text, FILTERABLE)
        self._tests = [_test(condition) for condition in parsed.conditions]
        self._ordering = Ordering.parse(order_by, ORDERABLE, DEFAULT_ORDER)
        self.paging = PageRequest.of(request, tenant_id, customer_id, parsed.canonical(), self._ordering.text)

    def page(self, decisions: list[AccessDecision]) -> Page[AccessDecision]:
        """The page of `decisions` (every feature of the customer) the request asks for."""
        wanted = [d for d in decisions if all(test(d) for test in self._tests)]
        return page_in_order(wanted, self._ordering, _KEYS, lambda decision: decision.feature_key, self.paging)


def _test(condition: Condition) -> Callable[[AccessDecision], bool]:
    """Whether an entitlement meets one condition of the filter."""
    if condition.field == "feature_key":
        return lambda d: d.feature_key == condition.value
    try:
        source = GrantSource(condition.value.lower())
    except ValueError:
        choices = ", ".join(s.value for s in GrantSource)
        raise InvalidArgument.field("filter", f"source is one of {choices}") from None
    return lambda d: any(ref.source is source for ref in d.sources)
