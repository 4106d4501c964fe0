"""The gateway's use cases, one object per area: what both entrypoints (gRPC and REST) call."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_gateway.service_layer.access import Access
from azotte_gateway.service_layer.admin import Admin
from azotte_gateway.service_layer.analytics import Analytics
from azotte_gateway.service_layer.auth import Authenticator
from azotte_gateway.service_layer.billing import Billing
from azotte_gateway.service_layer.campaigns import Campaigns
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.channel_accounts import ChannelAccounts
from azotte_gateway.service_layer.channel_inbox import ChannelInbox
from azotte_gateway.service_layer.channels import Channels
from azotte_gateway.service_layer.checkout import Checkout
from azotte_gateway.service_layer.contracts import Contracts
from azotte_gateway.service_layer.customers import Customers
from azotte_gateway.service_layer.experiments import Experiments
from azotte_gateway.service_layer.families import Families
from azotte_gateway.service_layer.grants import Grants
from azotte_gateway.service_layer.invoices import Invoices
from azotte_gateway.service_layer.policy import LifecyclePolicies
from azotte_gateway.service_layer.portal_users import PortalUsers
from azotte_gateway.service_layer.promotions import Promotions
from azotte_gateway.service_layer.psp_accounts import PspAccounts
from azotte_gateway.service_layer.referrals import Referrals
from azotte_gateway.service_layer.subscriptions import Subscriptions
from azotte_gateway.service_layer.trials import Trials
from azotte_gateway.service_layer.usage import Usage
from azotte_gateway.service_layer.usage_billing import UsageBilling
from azotte_gateway.service_layer.webhooks import Webhooks


@dataclass(frozen=True)
class Gateway:
    """The authenticator, and the areas whose methods serve one public RPC each: `method(caller, request)`."""

    authenticator: Authenticator
    access: Access
    checkout: Checkout
    subscriptions: Subscriptions
    billing: Billing
    catalog: Catalog
    admin: Admin
    channels: Channels
    channel_notifications: ChannelInbox
    channel_accounts: ChannelAccounts
    grants: Grants
    families: Families
    customers: Customers
    policy: LifecyclePolicies
    promotions: Promotions
    webhooks: Webhooks
    trials: Trials
    referrals: Referrals
    campaigns: Campaigns
    experiments: Experiments
    analytics: Analytics
    usage: Usage
    usage_billing: UsageBilling
    psp_accounts: PspAccounts
    invoices: Invoices
    contracts: Contracts
    portal_users: PortalUsers
