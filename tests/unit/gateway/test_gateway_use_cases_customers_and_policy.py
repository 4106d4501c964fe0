"""The customers and lifecycle policy areas: who may call them, what they ask lifecycle, how they answer."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import duration_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import customers_pb2 as cu
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import policy_pb2 as po
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.service_layer import policy
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.service_layer.policy import APPLIES_TO
from azotte_platform.context import require_tenant
from azotte_platform.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from tests.unit.gateway.fakes import FakeLifecycle, FakeSuite, caller

OTHER = Tenant("other-co", "Other", TenantMode.SANDBOX)
DAY = 86_400


class Lifecycle(FakeLifecycle):
    """FakeLifecycle plus the customer search, identity, history and policy calls, recording what it was asked."""

    def __init__(self) -> None:
        super().__init__(iter(range(1000, 2000)))
        self.asked: list[Any] = []
        self.policy = lc.LifecyclePolicy(grace_period=duration_pb2.Duration(seconds=3 * DAY))
        self.policy.plan_overrides["premium"].hold_period.seconds = 0
        self.refuse: InvalidArgument | None = None

    async def ListCustomers(self, request: lc.ListCustomersRequest) -> lc.ListCustomersResponse:
        self.asked.append(request)
        mine = [lc.Customer(id=c) for t, c in sorted(self.customers) if t == require_tenant()]
        return lc.ListCustomersResponse(customers=mine, next_page_token="next")

    async def LinkChannelIdentity(self, request: lc.LinkChannelIdentityRequest) -> lc.LinkChannelIdentityResponse:
        self.asked.append(request)
        return lc.LinkChannelIdentityResponse(
            customer=lc.Customer(id=request.customer_id, identities=[request.identity])
        )

    async def ListSubscriptionHistory(
        self, request: lc.ListSubscriptionHistoryRequest
    ) -> lc.ListSubscriptionHistoryResponse:
        self.asked.append(request)
        entry = lc.SubscriptionHistoryEntry(event_type="subscription.renewed", cause="charge_succeeded", actor="system")
        return lc.ListSubscriptionHistoryResponse(entries=[entry])

    async def ListSubscriptions(self, request: lc.ListSubscriptionsRequest) -> lc.ListSubscriptionsResponse:
        self.asked.append(request)
        return lc.ListSubscriptionsResponse()

    async def GetLifecyclePolicy(self, request: lc.GetLifecyclePolicyRequest) -> lc.GetLifecyclePolicyResponse:
        return lc.GetLifecyclePolicyResponse(policy=self.policy, version=4, update_actor="api_key:k")

    async def UpdateLifecyclePolicy(self, request: lc.UpdateLifecyclePolicyRequest) -> lc.UpdateLifecyclePolicyResponse:
        self.asked.append(request)
        if self.refuse is not None:
            raise self.refuse
        if request.validate_only:
            return lc.UpdateLifecyclePolicyResponse(policy=request.policy, version=5)
        return lc.UpdateLifecyclePolicyResponse(policy=self.policy, version=5, update_actor="api_key:k")

    async def ListLifecyclePolicyVersions(
        self, request: lc.ListLifecyclePolicyVersionsRequest
    ) -> lc.ListLifecyclePolicyVersionsResponse:
        return lc.ListLifecyclePolicyVersionsResponse(
            versions=[lc.LifecyclePolicyVersion(version=5, policy=self.policy, actor="api_key:k")]
        )


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.lifecycle = Lifecycle()
    suite.lifecycle.add_customer("cus_own")
    suite.lifecycle.add_customer("cus_theirs", OTHER.id)
    return suite


@pytest.fixture
def lifecycle(suite: FakeSuite) -> Lifecycle:
    assert isinstance(suite.lifecycle, Lifecycle)
    return suite.lifecycle


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


PLAY = gw.ChannelIdentity(kind=gw.CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN, value="tok-1")


def operations(gateway: Gateway) -> dict[str, Any]:
    """Each new operation, as a call of a role."""
    return {
        "list_customers": lambda who: gateway.customers.list_customers(who, cu.ListCustomersRequest()),
        "link_channel_identity": lambda who: gateway.customers.link_channel_identity(
            who, cu.LinkChannelIdentityRequest(request_id="r1", customer_id="cus_own", identity=PLAY)
        ),
        "list_subscription_history": lambda who: gateway.customers.list_subscription_history(
            who, cu.ListSubscriptionHistoryRequest(subscription_id="sub_1")
        ),
        "get_lifecycle_policy": lambda who: gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest()),
        "list_lifecycle_policy_versions": lambda who: gateway.policy.list_lifecycle_policy_versions(
            who, po.ListLifecyclePolicyVersionsRequest()
        ),
        "update_lifecycle_policy": lambda who: gateway.policy.update_lifecycle_policy(
            who, po.UpdateLifecyclePolicyRequest(request_id="r2")
        ),
    }


READS = {"list_customers", "list_subscription_history", "get_lifecycle_policy", "list_lifecycle_policy_versions"}
MATRIX = {
    Role.PUBLISHABLE: set(),
    Role.VIEWER: READS,
    Role.OPERATOR: READS | {"link_channel_identity"},
    Role.MANAGER: READS | {"link_channel_identity", "update_lifecycle_policy"},
    Role.ADMIN: READS | {"link_channel_identity", "update_lifecycle_policy"},
}


@pytest.mark.parametrize("role", list(MATRIX))
async def test_each_role_may_call_exactly_its_operations(gateway: Gateway, role: Role) -> None:
    who = caller(role)
    allowed = set()
    with who.scope():
        for name, call in operations(gateway).items():
            try:
                await call(who)
            except PermissionDenied:
                continue
            allowed.add(name)
    assert allowed == MATRIX[role]


@pytest.mark.parametrize("customer", ["cus_theirs", "cus_nobody"])
async def test_linking_an_identity_to_a_foreign_or_unknown_customer_is_not_found(
    gateway: Gateway, lifecycle: Lifecycle, customer: str
) -> None:
    who = caller(Role.OPERATOR)
    request = cu.LinkChannelIdentityRequest(request_id="r1", customer_id=customer, identity=PLAY)
    with who.scope(), pytest.raises(NotFound):
        await gateway.customers.link_channel_identity(who, request)
    assert not [a for a in lifecycle.asked if isinstance(a, lc.LinkChannelIdentityRequest)]


async def test_a_link_answers_the_customer_with_its_identities(gateway: Gateway) -> None:
    who = caller(Role.OPERATOR)
    with who.scope():
        answer = await gateway.customers.link_channel_identity(
            who, cu.LinkChannelIdentityRequest(request_id="r1", customer_id="cus_own", identity=PLAY)
        )
        with pytest.raises(InvalidArgument) as unkind:
            await gateway.customers.link_channel_identity(
                who,
                cu.LinkChannelIdentityRequest(
                    request_id="r2",
                    customer_id="cus_own",
                    identity=gw.ChannelIdentity(kind=gw.ChannelIdentityKind.ValueType(99), value="x"),
                ),
            )
    assert list(answer.customer.identities) == [PLAY]
    assert unkind.value.violations[0].field == "identity.kind"


async def test_a_search_passes_its_filter_order_and_page_to_lifecycle(gateway: Gateway, lifecycle: Lifecycle) -> None:
    who = caller(Role.VIEWER)
    request = cu.ListCustomersRequest(filter='email = "a@b.co"', order_by="create_time desc", page_token="t")
    with who.scope():
        answer = await gateway.customers.list_customers(who, request)
    assert [c.id for c in answer.customers] == ["cus_own"] and answer.next_page_token == "next"
    asked = lifecycle.asked[-1]
    assert (asked.filter, asked.order_by, asked.page_token, asked.page_size) == (
        'email = "a@b.co"',
        "create_time desc",
        "t",
        50,
    )


async def test_list_subscriptions_naming_a_foreign_customer_in_its_filter_is_not_found(
    gateway: Gateway, lifecycle: Lifecycle
) -> None:
    who = caller(Role.VIEWER)
    with who.scope():
        with pytest.raises(NotFound):
            request = gw.ListSubscriptionsRequest(filter='state = ACTIVE AND customer_id = "cus_theirs"')
            await gateway.subscriptions.list_subscriptions(who, request)
        with pytest.raises(InvalidArgument) as refused:
            await gateway.subscriptions.list_subscriptions(who, gw.ListSubscriptionsRequest(filter="colour = red"))
        own = gw.ListSubscriptionsRequest(filter="customer_id = cus_own AND plan_id = basic", order_by="create_time")
        await gateway.subscriptions.list_subscriptions(who, own)
    assert refused.value.violations[0].field == "filter"
    assert (lifecycle.asked[-1].filter, lifecycle.asked[-1].order_by) == (own.filter, own.order_by)


async def test_the_policy_answers_a_plans_effective_rules(gateway: Gateway) -> None:
    who = caller(Role.VIEWER)
    with who.scope():
        tenant = await gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest())
        premium = await gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest(plan_id="basic"))
        with pytest.raises(NotFound):
            await gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest(plan_id="nope"))
    assert (tenant.policy.version, tenant.policy.update_actor) == (4, "api_key:k")
    assert tenant.effective_rules.grace_period.seconds == 3 * DAY
    assert premium.effective_rules == tenant.effective_rules  # basic has no override
    assert tenant.policy.plan_overrides["premium"].HasField("hold_period")


async def test_an_update_masks_rules_by_their_public_names_and_says_what_it_applies_to(
    gateway: Gateway, lifecycle: Lifecycle
) -> None:
    who = caller(Role.MANAGER)
    rules = po.LifecyclePolicyRules(cancel_timing=gw.CANCELLATION_TIMING_IMMEDIATELY)
    with who.scope():
        answer = await gateway.policy.update_lifecycle_policy(
            who,
            po.UpdateLifecyclePolicyRequest(
                request_id="r1", rules=rules, update_mask=FieldMask(paths=["cancel_timing"]), expected_version=4
            ),
        )
        await gateway.policy.update_lifecycle_policy(who, po.UpdateLifecyclePolicyRequest(request_id="r2"))
        with pytest.raises(InvalidArgument) as unknown:
            await gateway.policy.update_lifecycle_policy(
                who, po.UpdateLifecyclePolicyRequest(request_id="r3", update_mask=FieldMask(paths=["plan_overrides"]))
            )
    masked, whole = lifecycle.asked[-2:]
    assert (list(masked.update_mask.paths), masked.policy.cancel_mode, masked.expected_version) == (
        ["cancel_mode"],
        lc.CANCEL_MODE_IMMEDIATE,
        4,
    )
    # NOTE: an empty mask updates every rule and keeps the plan overrides.
    assert len(whole.update_mask.paths) == 8 and "plan_overrides" not in whole.update_mask.paths
    assert not whole.HasField("expected_version")
    assert (answer.policy.version, answer.applies_to) == (5, APPLIES_TO)
    assert unknown.value.violations[0].field == "update_mask"


@pytest.mark.parametrize(
    ("lifecycle_field", "public_field"),
    [
        ("policy.retry_schedule.days", "rules.retry_schedule.days"),
        ("policy.cancel_mode", "rules.cancel_timing"),
        ("policy.plan_overrides[premium].retry_schedule.days", "plan_overrides[premium].retry_schedule.days"),
        ("policy.invoice_reminder_days", "rules.invoice_reminder_days.days"),
        (
            "policy.plan_overrides[premium].invoice_reminder_days",
            "plan_overrides[premium].invoice_reminder_days.days",
        ),
    ],
)
async def test_lifecycle_refusals_name_the_public_fields(
    gateway: Gateway, lifecycle: Lifecycle, lifecycle_field: str, public_field: str
) -> None:
    lifecycle.refuse = InvalidArgument("invalid lifecycle policy", [FieldViolation(lifecycle_field, "bad")])
    who = caller(Role.ADMIN)
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.policy.update_lifecycle_policy(who, po.UpdateLifecyclePolicyRequest(request_id="r1"))
    assert refused.value.violations[0].field == public_field


SECTION = """
plans: []
lifecycle_policy:
  grace_days: 3
  retry_days: [2, 4]
  cancel_timing: immediately
  plans:
    basic: {hold_days: 1.5}
"""


def test_a_documents_lifecycle_policy_section_reads_as_lifecycles_policy() -> None:
    section = policy.document_section(SECTION, cat.DOCUMENT_FORMAT_YAML)
    assert section is not None
    assert (section.grace_period.seconds, list(section.retry_schedule.days)) == (3 * DAY, [2, 4])
    assert section.cancel_mode == lc.CANCEL_MODE_IMMEDIATE and not section.HasField("hold_period")
    assert section.plan_overrides["basic"].hold_period.seconds == 36 * 3600
    assert policy.document_section("plans: []", cat.DOCUMENT_FORMAT_YAML) is None
    assert policy.document_section("{not yaml", cat.DOCUMENT_FORMAT_YAML) is None  # the catalog reports it


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("grace: 3", "lifecycle_policy.grace"),
        ("grace_days: -1", "lifecycle_policy.grace_days"),
        ("retry_days: [1, x]", "lifecycle_policy.retry_days"),
        ("invoice_reminder_days: -3", "lifecycle_policy.invoice_reminder_days"),
        ("plans: {basic: {invoice_reminder_days: [1.5]}}", "lifecycle_policy.plans.basic.invoice_reminder_days"),
        ("trial_end: maybe", "lifecycle_policy.trial_end"),
        ("plans: {basic: {plans: {}}}", "lifecycle_policy.plans.basic.plans"),
        ("plans: [basic]", "lifecycle_policy.plans"),
    ],
)
def test_a_malformed_section_names_its_field(section: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        policy.document_section(f"lifecycle_policy:\n  {section}\n", cat.DOCUMENT_FORMAT_YAML)
    assert refused.value.violations[0].field == field


async def test_a_section_reports_its_changes_keeps_unnamed_overrides_and_names_its_fields(
    suite: FakeSuite, lifecycle: Lifecycle
) -> None:
    section = policy.document_section(SECTION, cat.DOCUMENT_FORMAT_YAML)
    assert section is not None
    with caller(Role.MANAGER).scope():
        planned = await policy.plan_section(suite.peers, section)
        lifecycle.refuse = InvalidArgument(
            "invalid", [FieldViolation("policy.plan_overrides[basic].retry_schedule.days", "bad")]
        )
        with pytest.raises(InvalidArgument) as refused:
            await policy.plan_section(suite.peers, section)
    changes = [(c.resource_type, c.resource_id, c.change_type, list(c.changed_fields)) for c in planned.changes]
    assert changes == [
        ("lifecycle_policy", "", cat.CHANGE_TYPE_UPDATED, ["retry_days", "cancel_timing"]),
        ("lifecycle_policy.plan", "basic", cat.CHANGE_TYPE_CREATED, []),
        ("lifecycle_policy.plan", "premium", cat.CHANGE_TYPE_REMOVED_FROM_DOCUMENT, []),
    ]
    assert planned.policy is not None and set(planned.policy.plan_overrides) == {"basic", "premium"}
    assert refused.value.violations[0].field == "lifecycle_policy.plans.basic.retry_days"


async def test_reminder_days_are_set_per_tenant_and_per_plan_and_a_plans_none_is_not_the_tenants(
    gateway: Gateway, lifecycle: Lifecycle
) -> None:
    lifecycle.policy.invoice_reminder_days.days.extend([-3, 2])
    lifecycle.policy.plan_overrides["premium"].invoice_reminder_days.SetInParent()  # no reminders for premium
    who = caller(Role.MANAGER)
    rules = po.LifecyclePolicyRules(invoice_reminder_days=po.InvoiceReminderDays(days=[-7, 1]))
    with who.scope():
        premium = await gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest(plan_id="premium"))
        basic = await gateway.policy.get_lifecycle_policy(who, po.GetLifecyclePolicyRequest(plan_id="basic"))
        await gateway.policy.update_lifecycle_policy(
            who,
            po.UpdateLifecyclePolicyRequest(
                request_id="r1", rules=rules, update_mask=FieldMask(paths=["invoice_reminder_days"])
            ),
        )
        none = po.LifecyclePolicyRules(invoice_reminder_days=po.InvoiceReminderDays())
        await gateway.policy.update_lifecycle_policy(
            who,
            po.UpdateLifecyclePolicyRequest(
                request_id="r2", plan_id="basic", rules=none, update_mask=FieldMask(paths=["invoice_reminder_days"])
            ),
        )
    assert list(premium.policy.rules.invoice_reminder_days.days) == [-3, 2]
    assert premium.policy.plan_overrides["premium"].HasField("invoice_reminder_days")
    assert list(premium.effective_rules.invoice_reminder_days.days) == []
    assert list(basic.effective_rules.invoice_reminder_days.days) == [-3, 2]
    tenant, plan = lifecycle.asked[-2:]
    assert (list(tenant.update_mask.paths), list(tenant.policy.invoice_reminder_days.days)) == (
        ["invoice_reminder_days"],
        [-7, 1],
    )
    # NOTE: "none" reaches lifecycle as a set, empty list; unset would keep the tenant's days for the plan.
    assert (plan.plan_id, plan.policy.HasField("invoice_reminder_days")) == ("basic", True)
    assert not tenant.policy.HasField("retry_schedule")


async def test_a_sections_reminder_days_are_read_compared_and_named_by_the_section(
    suite: FakeSuite, lifecycle: Lifecycle
) -> None:
    lifecycle.policy.invoice_reminder_days.days.extend([-3, 2])
    document = (
        "lifecycle_policy:\n  invoice_reminder_days: [-3, 2]\n  plans:\n    premium: {invoice_reminder_days: []}\n"
    )
    section = policy.document_section(document, cat.DOCUMENT_FORMAT_YAML)
    assert section is not None
    assert list(section.invoice_reminder_days.days) == [-3, 2]
    with caller(Role.MANAGER).scope():
        planned = await policy.plan_section(suite.peers, section)
        lifecycle.refuse = InvalidArgument(
            "invalid", [FieldViolation("policy.plan_overrides[premium].invoice_reminder_days", "bad")]
        )
        with pytest.raises(InvalidArgument) as refused:
            await policy.plan_section(suite.peers, section)
    changes = {(c.resource_type, c.resource_id): list(c.changed_fields) for c in planned.changes}
    # NOTE: the tenant's days are unchanged; premium's override goes from inheriting them to none.
    assert "invoice_reminder_days" not in changes[("lifecycle_policy", "")]
    assert "invoice_reminder_days" in changes[("lifecycle_policy.plan", "premium")]
    assert refused.value.violations[0].field == "lifecycle_policy.plans.premium.invoice_reminder_days"
