"""The gateway's use cases, one object per area: what both entrypoints (gRPC and REST) call."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_gateway.service_layer.access import Access
from azotte_gateway.service_layer.admin import Admin
from azotte_gateway.service_layer.auth import Authenticator
from azotte_gateway.service_layer.billing import Billing
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.channels import Channels
from azotte_gateway.service_layer.checkout import Checkout
from azotte_gateway.service_layer.customers import Customers
from azotte_gateway.service_layer.families import Families
from azotte_gateway.service_layer.grants import Grants
from azotte_gateway.service_layer.policy import LifecyclePolicies
from azotte_gateway.service_layer.promotions import Promotions
from azotte_gateway.service_layer.subscriptions import Subscriptions


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
    grants: Grants
    families: Families
    customers: Customers
    policy: LifecyclePolicies
    promotions: Promotions
