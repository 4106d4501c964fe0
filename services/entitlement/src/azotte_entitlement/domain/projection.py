"""The access projection: per-replica in-memory grants, usage and suspensions answering checks without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from azotte_entitlement.domain.access import AccessDecision, AccessReason, decide
from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import Grant, GrantKey, GrantSource
from azotte_entitlement.domain.suspension import Suspension

CustomerRef = tuple[str, str]
_Slot = tuple[GrantSource, str]


@dataclass(frozen=True, slots=True)
class Usage:
    """Quota consumed in the usage period starting at period_start and, if it has one, ending at period_end."""

    used: int
    period_start: datetime
    period_end: datetime | None = None

    def used_at(self, now: datetime) -> int:
        """The quota counted as used at `now`: none once the period has ended."""
        return 0 if self.period_end is not None and now >= self.period_end else self.used

    def ends_after(self, now: datetime) -> datetime | None:
        """The period's end when it is still to come at `now`."""
        return self.period_end if self.period_end is not None and now < self.period_end else None

    def replaced_by(self, report: Usage) -> bool:
        """Whether a report is kept over this usage: a newer period, or the same one used more, or as much but
        ending at another time."""
        if report.period_start != self.period_start:
            return report.period_start > self.period_start
        return report.used > self.used or (report.used == self.used and report.period_end != self.period_end)


@dataclass(slots=True)
class CustomerState:
    """Everything stored about one customer, as loaded to (re)build their part of the projection."""

    grants: list[Grant] = field(default_factory=list)
    suspensions: list[Suspension] = field(default_factory=list)
    why_not: dict[str, AccessReason] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)


@dataclass(slots=True)
class _CustomerAccess:
    """Everything the projection knows about one customer, keyed by feature."""

    grants: dict[str, dict[_Slot, Grant]] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    why_not: dict[str, AccessReason] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.grants or self.usage or self.suspensions or self.why_not)


class AccessProjection:
    """In-memory (tenant, customer) -> feature -> grants; kept current by applying grant changes."""

    def __init__(self) -> None:
        self._customers: dict[CustomerRef, _CustomerAccess] = {}
        self._revisions: dict[CustomerRef, int] = {}

    @classmethod
    def from_state(
        cls,
        grants: Iterable[Grant],
        suspensions: Iterable[tuple[CustomerRef, Suspension]] = (),
        why_not: Iterable[tuple[CustomerRef, str, AccessReason]] = (),
    ) -> AccessProjection:
        """Build the projection at start from stored grants, suspensions and remembered denial reasons."""
        projection = cls()
        for grant in grants:
            projection.upsert(grant)
        for (tenant_id, customer_id), feature_key, reason in why_not:
            projection._customer(tenant_id, customer_id).why_not[feature_key] = reason
        for (tenant_id, customer_id), suspension in suspensions:
            projection.suspend(tenant_id, customer_id, suspension)
        return projection

    def replace_customer(self, tenant_id: str, customer_id: str, state: CustomerState) -> None:
        """Replace what is known about one customer with their stored state (start-up or a reload)."""
        self._customers.pop((tenant_id, customer_id), None)
        for grant in state.grants:
            self.upsert(grant)
        customer = self._customer(tenant_id, customer_id)
        customer.why_not.update(state.why_not)
        customer.usage.update(state.usage)
        for suspension in state.suspensions:
            customer.suspensions[suspension.feature_key] = suspension
        self._forget_if_empty(tenant_id, customer_id, customer)

    # --- changes -----------------------------------------------------------------------------------

    def upsert(self, grant: Grant) -> None:
        """Add or replace a grant; a feature granted again forgets why it was denied."""
        key = grant.key
        customer = self._changing(key.tenant_id, key.customer_id)
        customer.grants.setdefault(key.feature_key, {})[(key.source, key.source_ref)] = grant
        customer.why_not.pop(key.feature_key, None)

    def remove(self, key: GrantKey, why_not: AccessReason | None = None) -> Grant | None:
        """Drop a grant; `why_not` (on_hold, paused, expired) is remembered to explain later denials."""
        ref = (key.tenant_id, key.customer_id)
        self._revisions[ref] = self._revisions.get(ref, 0) + 1
        customer = self._customer(*ref) if why_not is not None else self._customers.get(ref)
        if customer is None:
            return None
        by_slot = customer.grants.get(key.feature_key)
        removed = by_slot.pop((key.source, key.source_ref), None) if by_slot is not None else None
        if by_slot is not None and not by_slot:
            del customer.grants[key.feature_key]
        if why_not is not None:
            customer.why_not[key.feature_key] = why_not
        self._forget_if_empty(key.tenant_id, key.customer_id, customer)
        return removed

    def remember_denials(self, tenant_id: str, features: Iterable[tuple[str, str]], why_not: AccessReason) -> None:
        """Remember why (customer, feature) pairs are denied, for checks when no grant is valid."""
        for customer_id, feature_key in features:
            self._changing(tenant_id, customer_id).why_not[feature_key] = why_not

    def apply(self, corrections: Iterable[Correction]) -> None:
        """Apply grant changes (from lifecycle events or drift reconciliation)."""
        for correction in corrections:
            if correction.kind is CorrectionKind.REVOKE:
                self.remove(correction.grant.key, correction.why_not)
            else:
                self.upsert(correction.grant)

    def record_usage(
        self,
        tenant_id: str,
        customer_id: str,
        feature_key: str,
        used: int,
        period_start: datetime,
        period_end: datetime | None = None,
    ) -> None:
        """Record quota consumed in a period; a newer period replaces the old one, an older one is ignored."""
        customer = self._changing(tenant_id, customer_id)
        current, report = customer.usage.get(feature_key), Usage(used, period_start, period_end)
        # NOTE: usage within a period only grows, so out-of-order reports keep the highest total.
        if current is None or current.replaced_by(report):
            customer.usage[feature_key] = report

    def suspend(self, tenant_id: str, customer_id: str, suspension: Suspension) -> None:
        """Switch a feature off for a customer regardless of grants."""
        self._changing(tenant_id, customer_id).suspensions[suspension.feature_key] = suspension

    def restore(self, tenant_id: str, customer_id: str, feature_key: str) -> Suspension | None:
        """Lift a suspension; returns it, or None when the feature was not suspended."""
        self._revisions[(tenant_id, customer_id)] = self._revisions.get((tenant_id, customer_id), 0) + 1
        customer = self._customers.get((tenant_id, customer_id))
        if customer is None:
            return None
        lifted = customer.suspensions.pop(feature_key, None)
        self._forget_if_empty(tenant_id, customer_id, customer)
        return lifted

    def revision(self, tenant_id: str, customer_id: str) -> int:
        """A counter that moves whenever one of the customer's grants, usage or suspensions changes."""
        return self._revisions.get((tenant_id, customer_id), 0)

    # --- queries (hot path) ------------------------------------------------------------------------

    def check(self, tenant_id: str, customer_id: str, feature_key: str, now: datetime) -> AccessDecision:
        """Answer an access check from memory in O(grants of this customer and feature)."""
        customer = self._customers.get((tenant_id, customer_id))
        if customer is None:
            return AccessDecision(feature_key, False, AccessReason.NO_GRANT)
        usage = customer.usage.get(feature_key)
        by_slot = customer.grants.get(feature_key)
        return decide(
            feature_key,
            by_slot.values() if by_slot is not None else (),
            now,
            used=usage.used_at(now) if usage is not None else 0,
            usage_period_end=usage.ends_after(now) if usage is not None else None,
            suspended=_denial(customer.suspensions.get(feature_key)),
            why_not=customer.why_not.get(feature_key),
        )

    def check_many(
        self, tenant_id: str, customer_id: str, feature_keys: Iterable[str], now: datetime
    ) -> list[AccessDecision]:
        """Answer several checks for one customer, in the order asked."""
        return [self.check(tenant_id, customer_id, feature_key, now) for feature_key in feature_keys]

    def list_entitlements(self, tenant_id: str, customer_id: str, now: datetime) -> list[AccessDecision]:
        """Every feature the customer has a grant, a suspension or a remembered denial for, by feature key."""
        customer = self._customers.get((tenant_id, customer_id))
        if customer is None:
            return []
        features = sorted(customer.grants.keys() | customer.suspensions.keys() | customer.why_not.keys())
        return self.check_many(tenant_id, customer_id, features, now)

    def grants_of(self, tenant_id: str, customer_id: str) -> list[Grant]:
        """The customer's grants (valid or not), for reconciliation and listing."""
        customer = self._customers.get((tenant_id, customer_id))
        if customer is None:
            return []
        return [grant for by_slot in customer.grants.values() for grant in by_slot.values()]

    def suspension(self, tenant_id: str, customer_id: str, feature_key: str) -> Suspension | None:
        """The feature's current suspension, if any."""
        customer = self._customers.get((tenant_id, customer_id))
        return customer.suspensions.get(feature_key) if customer is not None else None

    # --- internals ---------------------------------------------------------------------------------

    def _changing(self, tenant_id: str, customer_id: str) -> _CustomerAccess:
        ref = (tenant_id, customer_id)
        self._revisions[ref] = self._revisions.get(ref, 0) + 1
        return self._customer(tenant_id, customer_id)

    def _customer(self, tenant_id: str, customer_id: str) -> _CustomerAccess:
        ref = (tenant_id, customer_id)
        customer = self._customers.get(ref)
        if customer is None:
            customer = self._customers[ref] = _CustomerAccess()
        return customer

    def _forget_if_empty(self, tenant_id: str, customer_id: str, customer: _CustomerAccess) -> None:
        if customer.is_empty():
            self._customers.pop((tenant_id, customer_id), None)


def _denial(suspension: Suspension | None) -> AccessReason | None:
    return suspension.denial if suspension is not None else None
