"""REST endpoints of the lifecycle policy: read it, update it (a new version each time), list its versions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from google.protobuf import json_format
from pydantic import Field

from azotte.gateway.v1 import policy_pb2 as po
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["lifecycle policy"])

INT32 = 2**31
Duration = Annotated[
    str,
    Field(pattern=r"^[0-9]{1,10}(\.[0-9]{1,9})?s$", description="A length in seconds, e.g. `259200s` (3 days)."),
]
Day = Annotated[int, Field(ge=-INT32, le=INT32 - 1)]


class RetryScheduleBody(Body):
    days: list[Day] = Field(max_length=100, description="Days after the first failed charge, ascending.")


class InvoiceReminderDaysBody(Body):
    days: list[Day] = Field(
        max_length=100,
        description="Days from an invoice's due date (negative: before it) on which `invoice.reminder` is "
        "published while it is unpaid, e.g. `[-3, 2]`: at most 10, distinct, between -90 and 90; `[]` for none.",
    )


class RulesBody(Body):
    """Unset fields are unset in the update: with `update_mask`, a masked unset field goes back to its default."""

    grace_period: Duration | None = None
    retry_schedule: RetryScheduleBody | None = None
    hold_period: Duration | None = None
    trial_end_behavior: (
        Literal[
            "CONVERT",
            "EXPIRE_WITHOUT_PAYMENT_METHOD",
            "TRIAL_END_BEHAVIOR_CONVERT",
            "TRIAL_END_BEHAVIOR_EXPIRE_WITHOUT_PAYMENT_METHOD",
        ]
        | None
    ) = None
    max_pause: Duration | None = None
    cancel_timing: (
        Literal["AT_PERIOD_END", "IMMEDIATELY", "CANCELLATION_TIMING_AT_PERIOD_END", "CANCELLATION_TIMING_IMMEDIATELY"]
        | None
    ) = None
    duplicate_across_channels: (
        Literal["ALLOW", "FLAG", "DUPLICATE_ACROSS_CHANNELS_ALLOW", "DUPLICATE_ACROSS_CHANNELS_FLAG"] | None
    ) = Field(
        default=None,
        description="A store or partner purchase of a product line the customer holds live on another channel: "
        "`FLAG` publishes `subscription.duplicate_across_channels`; `ALLOW` (the default) does not.",
    )
    invoice_reminder_days: InvoiceReminderDaysBody | None = Field(
        default=None,
        description="Reminders of contract invoices (none by default); an invoice keeps the days in force when it "
        "was issued.",
    )


class UpdatePolicyBody(MutatingBody):
    plan_id: str = Field(default="", description="Empty: the tenant's rules; set: that plan's override.")
    rules: RulesBody = Field(default_factory=RulesBody)
    update_mask: str = Field(
        default="",
        description="Comma-separated rules to update (`grace_period`, `retry_schedule`, `hold_period`, "
        "`trial_end_behavior`, `max_pause`, `cancel_timing`, `duplicate_across_channels`, "
        "`invoice_reminder_days`); empty replaces every rule.",
    )
    expected_version: int | None = Field(
        default=None, description="The version the update is based on; another current version answers 409."
    )


_PREFIXES = {
    "trial_end_behavior": "TRIAL_END_BEHAVIOR_",
    "cancel_timing": "CANCELLATION_TIMING_",
    "duplicate_across_channels": "DUPLICATE_ACROSS_CHANNELS_",
}


def _rules(body: RulesBody) -> po.LifecyclePolicyRules:
    data = body.model_dump(exclude_none=True)
    for field, prefix in _PREFIXES.items():
        if field in data and not data[field].startswith(prefix):
            data[field] = prefix + data[field]
    return json_format.ParseDict(data, po.LifecyclePolicyRules())


@router.get(
    "/v1/lifecycle-policy",
    summary="The lifecycle policy, its plan overrides and its version",
    description="With `plan_id`, `effective_rules` are the rules that apply to that plan.",
    **answers(po.GetLifecyclePolicyResponse),
)
async def get_lifecycle_policy(who: Who, g: Gw, plan_id: str = "") -> JSON:
    return js(await g.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest(plan_id=plan_id)))


@router.patch(
    "/v1/lifecycle-policy",
    summary="Update the tenant's rules or a plan's override, as a new version",
    description="The new version applies to due work computed after it (`effective_time`, `applies_to`): the next "
    "failed charge, trial end, grace or hold end follows it; retries and end times already computed keep theirs. "
    "Invoices issued after it take its reminder days; earlier ones keep theirs. "
    "Rules: lengths not negative, grace at most 60 days, hold and maximum pause at most 365 days, at most 12 retry "
    "days, positive and strictly ascending, the last within grace + hold, at most 10 distinct invoice reminder days "
    "between -90 and 90.",
    **answers(po.UpdateLifecyclePolicyResponse),
)
async def update_lifecycle_policy(body: UpdatePolicyBody, who: Who, g: Gw) -> JSON:
    request = po.UpdateLifecyclePolicyRequest(
        request_id=body.request_id, plan_id=body.plan_id, rules=_rules(body.rules)
    )
    request.update_mask.paths.extend(p.strip() for p in body.update_mask.split(",") if p.strip())
    if body.expected_version is not None:
        request.expected_version = body.expected_version
    return js(await g.policy.update_lifecycle_policy(who, request))


@router.get(
    "/v1/lifecycle-policy/versions",
    summary="The stored versions of the lifecycle policy, newest first",
    description="Needs `read_lifecycle_policy`. `filter` (AIP-160): `plan_id` (=; the versions that changed that "
    "plan's override, `plan_id = \"\"` those that changed the tenant's rules) and `update_time` (=, !=, <, <=, >, >= "
    'an RFC 3339 time), joined by AND, e.g. `plan_id = premium AND update_time >= "2026-01-01T00:00:00Z"`. '
    "`order_by` (AIP-132): `version desc` (the default) or `version`.",
    **answers(po.ListLifecyclePolicyVersionsResponse),
)
async def list_lifecycle_policy_versions(who: Who, g: Gw, listing: Listing) -> JSON:
    request = po.ListLifecyclePolicyVersionsRequest(**listing.fields())
    return js(await g.policy.list_lifecycle_policy_versions(who, request))
