"""Portal users and their sessions.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "portal_users",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disable_time", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("tenant_id", "email", name="portal_users_email"),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["portal_users.tenant_id", "portal_users.user_id"]),
    )
    op.create_index("portal_sessions_user", "portal_sessions", ["tenant_id", "user_id"])
    op.create_table(
        "portal_sign_in_failures",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("failure_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("portal_sign_in_failures_email", "portal_sign_in_failures", ["tenant_id", "email", "failure_time"])


def downgrade() -> None:
    op.drop_table("portal_sign_in_failures")
    op.drop_table("portal_sessions")
    op.drop_table("portal_users")
