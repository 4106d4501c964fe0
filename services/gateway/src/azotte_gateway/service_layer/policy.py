"""Lifecycle policy: read, update (a new version each time) and list the versions (lifecycle does the work).

NOTE: lifecycle reads the policy when it computes a due time, so a new version applies to due work
computed after it; the answer says so (`effective_time`, `applies_to`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import policy_pb2 as po
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require_mutation
from azotte_platform.errors import FieldViolation, InvalidArgument
from azotte_platform.listing import forwarded

# The public rule names and lifecycle's.
RULE_PATHS = {
    "grace_period": "grace_period",
    "retry_schedule": "retry_schedule",
    "hold_period": "hold_period",
    "trial_end_behavior": "trial_end_behavior",
    "max_pause": "max_pause",
    "cancel_timing": "cancel_mode",
    "duplicate_across_channels": "duplicate_across_channels",
    "invoice_reminder_days": "invoice_reminder_days",
}
APPLIES_TO = (
    "due work computed from effective_time on: the next failed charge, trial end, grace end and hold end "
    "follow this version; retries and end times already computed keep their time; invoices issued from "
    "effective_time on take its reminder days, earlier ones keep theirs"
)


@dataclass(frozen=True)
class LifecyclePolicies:
    """GetLifecyclePolicy, UpdateLifecyclePolicy, ListLifecyclePolicyVersions."""

    peers: Peers

    async def get_lifecycle_policy(
        self, caller: Caller, request: po.GetLifecyclePolicyRequest
    ) -> po.GetLifecyclePolicyResponse:
        authorize(caller.principal, Permission.READ_LIFECYCLE_POLICY)
        if request.plan_id:
            # NOTE: an unknown plan is NOT_FOUND rather than the tenant's rules under a made-up id.
            await self.peers.catalog.GetPlan(cat.GetPlanRequest(id=request.plan_id))
        answer = await self.peers.lifecycle.GetLifecyclePolicy(lc.GetLifecyclePolicyRequest())
        update_time = answer.update_time if answer.HasField("update_time") else None
        policy = proto.lifecycle_policy(answer.policy, answer.version, update_time, answer.update_actor)
        effective = po.LifecyclePolicyRules()
        effective.CopyFrom(policy.rules)
        if request.plan_id in policy.plan_overrides:
            _layer(effective, policy.plan_overrides[request.plan_id])
        return po.GetLifecyclePolicyResponse(policy=policy, effective_rules=effective)

    async def update_lifecycle_policy(
        self, caller: Caller, request: po.UpdateLifecyclePolicyRequest
    ) -> po.UpdateLifecyclePolicyResponse:
        authorize(caller.principal, Permission.MANAGE_LIFECYCLE_POLICY)
        require_mutation(request)
        unknown = [path for path in request.update_mask.paths if path not in RULE_PATHS]
        if unknown:
            raise InvalidArgument.field("update_mask", f"{unknown[0]!r} is not one of {', '.join(RULE_PATHS)}")
        # NOTE: no mask means every rule; lifecycle's empty mask would also drop the plan overrides.
        paths = [RULE_PATHS[p] for p in request.update_mask.paths] or list(RULE_PATHS.values())
        update = lc.UpdateLifecyclePolicyRequest(
            request_id=request.request_id,
            policy=proto.lifecycle_rules(request.rules),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
            plan_id=request.plan_id,
        )
        if request.HasField("expected_version"):
            update.expected_version = request.expected_version
        try:
            answer = await self.peers.lifecycle.UpdateLifecyclePolicy(update)
        except InvalidArgument as error:
            raise _public_fields(error) from None
        policy = proto.lifecycle_policy(answer.policy, answer.version, answer.update_time, answer.update_actor)
        return po.UpdateLifecyclePolicyResponse(policy=policy, effective_time=answer.update_time, applies_to=APPLIES_TO)

    async def list_lifecycle_policy_versions(
        self, caller: Caller, request: po.ListLifecyclePolicyVersionsRequest
    ) -> po.ListLifecyclePolicyVersionsResponse:
        authorize(caller.principal, Permission.READ_LIFECYCLE_POLICY)
        answer = await self.peers.lifecycle.ListLifecyclePolicyVersions(
            lc.ListLifecyclePolicyVersionsRequest(
                **forwarded(request),
            )
        )
        return po.ListLifecyclePolicyVersionsResponse(
            versions=[proto.lifecycle_policy(v.policy, v.version, v.create_time, v.actor) for v in answer.versions],
            next_page_token=answer.next_page_token,
        )


_MESSAGES: tuple[
    Literal["grace_period", "hold_period", "max_pause", "retry_schedule", "invoice_reminder_days"], ...
] = ("grace_period", "hold_period", "max_pause", "retry_schedule", "invoice_reminder_days")


def _layer(rules: po.LifecyclePolicyRules, override: po.LifecyclePolicyRules) -> None:
    """`rules` with each field `override` sets replaced."""
    for name in _MESSAGES:
        if override.HasField(name):
            getattr(rules, name).CopyFrom(getattr(override, name))
    if override.trial_end_behavior:
        rules.trial_end_behavior = override.trial_end_behavior
    if override.cancel_timing:
        rules.cancel_timing = override.cancel_timing
    if override.duplicate_across_channels:
        rules.duplicate_across_channels = override.duplicate_across_channels


_PUBLIC_NAMES = {value: key for key, value in RULE_PATHS.items()}
_REMINDERS = "invoice_reminder_days"


def _public_fields(error: InvalidArgument) -> InvalidArgument:
    """Lifecycle's `policy.<field>` violations as the request's `rules.<field>`; a plan override the
    update made invalid keeps its path in the policy (`plan_overrides[<plan>].<field>`). Reminder days are
    named by their list, `….invoice_reminder_days.days`, as retry days are."""
    if not error.violations:
        return error
    violations = []
    for violation in error.violations:
        path = violation.field
        if path.endswith(f".{_REMINDERS}"):
            path += ".days"
        if path.startswith("policy.plan_overrides"):
            path = path.removeprefix("policy.")
        elif path.startswith("policy."):
            path = "rules." + path.removeprefix("policy.")
        head, _, rest = path.partition(".")
        if head == "rules":
            name, sep, tail = rest.partition(".")
            path = f"rules.{_PUBLIC_NAMES.get(name, name)}{sep}{tail}"
        violations.append(FieldViolation(path, violation.description))
    return type(error)(f"{violations[0].field}: {violations[0].description}", violations)


# --- the `lifecycle_policy` section of a catalog document ----------------------------------------------------

SECTION = "lifecycle_policy"
_DAYS = {"grace_days": "grace_period", "hold_days": "hold_period", "max_pause_days": "max_pause"}
_TRIAL_ENDS = {
    "convert": lc.TRIAL_END_BEHAVIOR_CONVERT,
    "expire_without_payment_method": lc.TRIAL_END_BEHAVIOR_EXPIRE_WITHOUT_PAYMENT_METHOD,
}
_CANCEL_TIMINGS = {"at_period_end": lc.CANCEL_MODE_AT_PERIOD_END, "immediately": lc.CANCEL_MODE_IMMEDIATE}
_DUPLICATES = {"allow": lc.DUPLICATE_ACROSS_CHANNELS_ALLOW, "flag": lc.DUPLICATE_ACROSS_CHANNELS_FLAG}
_RULE_KEYS = (*_DAYS, "retry_days", "trial_end", "cancel_timing", "duplicate_across_channels", _REMINDERS)
# Lifecycle's names and the section's.
_SECTION_NAMES = {
    "grace_period": "grace_days",
    "hold_period": "hold_days",
    "max_pause": "max_pause_days",
    "retry_schedule.days": "retry_days",
    "retry_schedule": "retry_days",
    "trial_end_behavior": "trial_end",
    "cancel_mode": "cancel_timing",
    "duplicate_across_channels": "duplicate_across_channels",
    f"{_REMINDERS}.days": _REMINDERS,
    _REMINDERS: _REMINDERS,
}
_DAY_LISTS = {"retry_days": "retry_schedule", _REMINDERS: _REMINDERS}


def document_section(document: str, fmt: int) -> lc.LifecyclePolicy | None:
    """The `lifecycle_policy` section of a catalog document as lifecycle's policy, or None without one.

    NOTE: the catalog owns the document and reports its own errors; an unreadable document is left to it.
    """
    try:
        data = json.loads(document) if fmt == cat.DOCUMENT_FORMAT_JSON else yaml.safe_load(document)
    except (ValueError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or data.get(SECTION) is None:
        return None
    section = data[SECTION]
    policy = lc.LifecyclePolicy()
    _section_rules(section, SECTION, policy, plans=True)
    for plan_id, rules in (section.get("plans") or {}).items():
        _section_rules(rules, f"{SECTION}.plans.{plan_id}", policy.plan_overrides[str(plan_id)], plans=False)
    return policy


def _section_rules(data: object, path: str, target: Any, *, plans: bool) -> None:
    if not isinstance(data, dict):
        raise InvalidArgument.field(path, "must be a mapping")
    allowed = (*_RULE_KEYS, "plans") if plans else _RULE_KEYS
    for key in data:
        if key not in allowed:
            raise InvalidArgument.field(f"{path}.{key}", f"unknown field; expected one of {', '.join(allowed)}")
    if plans and not isinstance(data.get("plans") or {}, dict):
        raise InvalidArgument.field(f"{path}.plans", "must map plan ids to their rules")
    for key, field in _DAYS.items():
        if key in data:
            days = data[key]
            if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days <= 36_600:
                raise InvalidArgument.field(f"{path}.{key}", "must be a number of days from 0 to 36600")
            getattr(target, field).seconds = int(days * 86_400)
    for key, field in _DAY_LISTS.items():
        if key in data:
            days_list = data[key]
            if not isinstance(days_list, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and -(2**31) <= d < 2**31 for d in days_list
            ):
                raise InvalidArgument.field(f"{path}.{key}", "must be a list of whole days")
            # NOTE: an empty list is set: none, not the default (in a plan, not the tenant's).
            getattr(target, field).SetInParent()
            getattr(target, field).days.extend(days_list)
    for key, table, field in (
        ("trial_end", _TRIAL_ENDS, "trial_end_behavior"),
        ("cancel_timing", _CANCEL_TIMINGS, "cancel_mode"),
        ("duplicate_across_channels", _DUPLICATES, "duplicate_across_channels"),
    ):
        if key in data:
            if data[key] not in table:
                raise InvalidArgument.field(f"{path}.{key}", f"must be one of {', '.join(table)}")
            setattr(target, field, table[data[key]])


@dataclass(frozen=True)
class SectionPlan:
    """What applying a section does: the policy to store (None when nothing changes) and the changes."""

    policy: lc.LifecyclePolicy | None
    changes: list[cat.CatalogChange]


async def plan_section(peers: Peers, section: lc.LifecyclePolicy) -> SectionPlan:
    """Check the section with lifecycle (nothing is stored) and compare it with the current policy.

    NOTE: as for catalog resources, a plan override the document does not name is reported
    (REMOVED_FROM_DOCUMENT) and kept; the section's absent rules take lifecycle's defaults.
    """
    current = (await peers.lifecycle.GetLifecyclePolicy(lc.GetLifecyclePolicyRequest())).policy
    wanted = lc.LifecyclePolicy()
    wanted.CopyFrom(section)
    kept = sorted(set(current.plan_overrides) - set(section.plan_overrides))
    for plan_id in kept:
        wanted.plan_overrides[plan_id].CopyFrom(current.plan_overrides[plan_id])
    try:
        preview = await peers.lifecycle.UpdateLifecyclePolicy(
            lc.UpdateLifecyclePolicyRequest(policy=wanted, validate_only=True)
        )
    except InvalidArgument as error:
        raise _section_fields(error) from None
    changes = [_change(SECTION, "", _changed_rules(current, preview.policy), True)]
    for plan_id in sorted(section.plan_overrides):
        exists = plan_id in current.plan_overrides
        fields = (
            _changed_rules(current.plan_overrides[plan_id], preview.policy.plan_overrides[plan_id]) if exists else []
        )
        changes.append(_change(f"{SECTION}.plan", plan_id, fields, exists))
    changes += [
        cat.CatalogChange(
            resource_type=f"{SECTION}.plan", resource_id=p, change_type=cat.CHANGE_TYPE_REMOVED_FROM_DOCUMENT
        )
        for p in kept
    ]
    changed = any(c.change_type in (cat.CHANGE_TYPE_CREATED, cat.CHANGE_TYPE_UPDATED) for c in changes)
    return SectionPlan(wanted if changed else None, changes)


def _change(kind: str, resource_id: str, fields: list[str], exists: bool) -> cat.CatalogChange:
    if not exists:
        change_type = cat.CHANGE_TYPE_CREATED
    else:
        change_type = cat.CHANGE_TYPE_UPDATED if fields else cat.CHANGE_TYPE_UNCHANGED
    return cat.CatalogChange(
        resource_type=kind, resource_id=resource_id, change_type=change_type, changed_fields=fields
    )


async def apply_section(peers: Peers, policy: lc.LifecyclePolicy, request_id: str) -> None:
    """Store the section's policy (a new version), once per catalog request id."""
    try:
        await peers.lifecycle.UpdateLifecyclePolicy(
            lc.UpdateLifecyclePolicyRequest(request_id=f"catalog:{request_id}:{SECTION}", policy=policy)
        )
    except InvalidArgument as error:
        raise _section_fields(error) from None


def _changed_rules(
    current: lc.LifecyclePolicy | lc.LifecyclePolicyOverride, wanted: lc.LifecyclePolicy | lc.LifecyclePolicyOverride
) -> list[str]:
    names = (
        "grace_period",
        "retry_schedule",
        "hold_period",
        "trial_end_behavior",
        "max_pause",
        "cancel_mode",
        "duplicate_across_channels",
        _REMINDERS,
    )
    return [_SECTION_NAMES[n] for n in names if _rule(current, n) != _rule(wanted, n)]


def _rule(rules: Message, name: str) -> object:
    """A rule's value, an unset message apart from an empty one (a plan's "none" is not "the tenant's")."""
    value = getattr(rules, name)
    if name in _MESSAGES:
        return rules.HasField(name), value
    return value


def _section_fields(error: InvalidArgument) -> InvalidArgument:
    """Lifecycle's violations named by the section's paths, e.g. `lifecycle_policy.plans.premium.retry_days`."""
    if not error.violations:
        return error
    violations = []
    for violation in error.violations:
        path = violation.field.removeprefix("policy.")
        plan = ""
        if path.startswith("plan_overrides["):
            plan, _, path = path.removeprefix("plan_overrides[").partition("].")
        name = _SECTION_NAMES.get(path, path)
        violations.append(
            FieldViolation(f"{SECTION}.plans.{plan}.{name}" if plan else f"{SECTION}.{name}", violation.description)
        )
    return type(error)(f"{violations[0].field}: {violations[0].description}", violations)
