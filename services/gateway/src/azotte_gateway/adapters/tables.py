"""Gateway tables: tenants and their API keys (hash and prefix only)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    # The tenant created at first start; its admins may create other tenants.
    sa.Column("is_root", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("operator_refund_limit_minor", sa.BigInteger, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    # Signs the tenant's customer tokens.
    sa.Column("customer_token_secret", sa.LargeBinary, nullable=False),
    # Only one tenant can be the root tenant.
    sa.Index("tenants_one_root", "is_root", unique=True, postgresql_where=sa.text("is_root")),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("api_key_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expire_time", sa.DateTime(timezone=True)),
    sa.Column("revoke_time", sa.DateTime(timezone=True)),
)

app_store_apps = sa.Table(
    "app_store_apps",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("app_id", sa.Text, primary_key=True),
    sa.Column("bundle_id", sa.Text, nullable=False),
    # Apple's `environment` value the app accepts: Production or Sandbox.
    sa.Column("environment", sa.Text, nullable=False),
    sa.Column("root_certificate_pem", sa.Text, nullable=False),
    sa.Column("app_apple_id", sa.BigInteger, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
)
