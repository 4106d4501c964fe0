"""SQLAlchemy Core tables of the entitlement database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("grant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("feature_key", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("valid_from", TS, nullable=False),
    sa.Column("valid_until", TS),
    sa.Column("limit_value", sa.BigInteger),
    sa.Column("audit_actor", sa.Text),
    sa.Column("audit_time", TS),
    sa.Column("audit_reason", sa.Text),
    sa.UniqueConstraint("tenant_id", "customer_id", "feature_key", "source", "source_ref", name="grants_identity"),
    sa.Index("grants_by_source", "tenant_id", "source", "source_ref"),
)

denials = sa.Table(
    "denials",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("feature_key", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("current_period_end", TS, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("features", JSONB, nullable=False),
    sa.Column("event_time", TS, nullable=False),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("group_id", sa.Text, primary_key=True),
    sa.Column("owner_customer_id", sa.Text, nullable=False),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.UniqueConstraint("tenant_id", "subscription_id", name="groups_subscription"),
)

group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("group_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("joined_at", TS, nullable=False),
    sa.Column("invite_code", sa.Text),
)

group_invites = sa.Table(
    "group_invites",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("group_id", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("accepted_by", sa.Text),
)

suspensions = sa.Table(
    "suspensions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("feature_key", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("suspended_at", TS, nullable=False),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("feature_key", sa.Text, primary_key=True),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS),
)
