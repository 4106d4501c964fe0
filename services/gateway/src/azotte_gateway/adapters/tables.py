"""Gateway tables: tenants and their API keys (hash and prefix only)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

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
    # The App Store Server API key (all NULL when none): its ids, and its private key sealed under
    # AZOTTE_GATEWAY_KEKS (`azotte_platform.sealing`).
    sa.Column("server_api_issuer_id", sa.Text),
    sa.Column("server_api_key_id", sa.Text),
    sa.Column("server_api_kek_id", sa.Text),
    sa.Column("server_api_wrapped_key", sa.LargeBinary),
    sa.Column("server_api_nonce", sa.LargeBinary),
    sa.Column("server_api_ciphertext", sa.LargeBinary),
)

# Webhooks to tenants: endpoints (the secret in clear, never returned after it is shown), one message per event and
# endpoint (also the queue of pending attempts, by `next_attempt_time`), and the log of attempts.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("endpoint_id", sa.Text, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("event_types", sa.ARRAY(sa.Text), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_secret_expire_time", sa.DateTime(timezone=True)),
    sa.Column("sandbox", sa.Boolean, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("disable_time", sa.DateTime(timezone=True)),
    sa.Column("failing_since", sa.DateTime(timezone=True)),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
)

webhook_messages = sa.Table(
    "webhook_messages",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("endpoint_id", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("round_attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
    sa.ForeignKeyConstraint(
        ["tenant_id", "endpoint_id"],
        ["webhook_endpoints.tenant_id", "webhook_endpoints.endpoint_id"],
        ondelete="CASCADE",
    ),
    sa.Index("webhook_messages_due", "next_attempt_time", postgresql_where=sa.text("state = 'pending'")),
    sa.Index("webhook_messages_by_time", "tenant_id", "create_time", "message_id"),
    sa.Index("webhook_messages_by_endpoint", "tenant_id", "endpoint_id", "create_time"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("attempt_number", sa.Integer, primary_key=True),
    sa.Column("endpoint_id", sa.Text, nullable=False),
    sa.Column("attempt_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("response_excerpt", sa.Text, nullable=False),
    sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
    sa.ForeignKeyConstraint(
        ["tenant_id", "message_id"],
        ["webhook_messages.tenant_id", "webhook_messages.message_id"],
        ondelete="CASCADE",
    ),
)

google_play_apps = sa.Table(
    "google_play_apps",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("app_id", sa.Text, primary_key=True),
    sa.Column("package_name", sa.Text, nullable=False),
    sa.Column("push_audience", sa.Text, nullable=False),
    sa.Column("push_service_account_email", sa.Text, nullable=False),
    sa.Column("service_account_key_json", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("partner_id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    # Wholesale terms: the tenant's share of the catalog price, in basis points.
    sa.Column("revenue_share_bps", sa.Integer, nullable=False),
)

# The `jti` of every partner request seen within the replay window: a second use is a replay.
partner_request_ids = sa.Table(
    "partner_request_ids",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("partner_id", sa.Text, primary_key=True),
    sa.Column("jti", sa.Text, primary_key=True),
    sa.Column("seen_time", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.ForeignKeyConstraint(["tenant_id", "partner_id"], ["partners.tenant_id", "partners.partner_id"]),
)

# Portal users (the Argon2id hash of their password, never the password), their sessions (the SHA-256 of the
# cookie's token, never the token) and the failed sign-ins the lock-out counts (for unknown emails too).
portal_users = sa.Table(
    "portal_users",
    metadata,
    sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disable_time", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "email", name="portal_users_email"),
)

portal_sessions = sa.Table(
    "portal_sessions",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_time", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["portal_users.tenant_id", "portal_users.user_id"]),
    sa.Index("portal_sessions_user", "tenant_id", "user_id"),
)

portal_sign_in_failures = sa.Table(
    "portal_sign_in_failures",
    metadata,
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("failure_time", sa.DateTime(timezone=True), nullable=False),
    sa.Index("portal_sign_in_failures_email", "tenant_id", "email", "failure_time"),
)

# The notification inbox: each verified channel notification once, with its raw body and proving headers (for audit
# and to verify it again on each later attempt), its state, and the events lifecycle applied (the redelivery answer).
channel_notifications = sa.Table(
    "channel_notifications",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("notification_id", sa.Text, primary_key=True),
    sa.Column("app_id", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
    sa.Column("settle_time", sa.DateTime(timezone=True)),
    sa.Column("applied", JSONB, nullable=False),
    sa.Index(
        "channel_notifications_due", "next_attempt_time", postgresql_where=sa.text("state IN ('received', 'failed')")
    ),
    sa.Index("channel_notifications_by_time", "tenant_id", "event_time", "channel", "notification_id"),
)
