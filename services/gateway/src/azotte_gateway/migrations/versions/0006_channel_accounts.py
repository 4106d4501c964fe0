"""Each tenant's Google Play apps and partners: what their notifications must verify against; partners' request ids.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "google_play_apps",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("app_id", sa.Text, primary_key=True),
        sa.Column("package_name", sa.Text, nullable=False),
        sa.Column("push_audience", sa.Text, nullable=False),
        sa.Column("push_service_account_email", sa.Text, nullable=False),
        sa.Column("service_account_key_json", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "partners",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("partner_id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "partner_request_ids",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("partner_id", sa.Text, primary_key=True),
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("seen_time", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.ForeignKeyConstraint(["tenant_id", "partner_id"], ["partners.tenant_id", "partners.partner_id"]),
    )


def downgrade() -> None:
    op.drop_table("partner_request_ids")
    op.drop_table("partners")
    op.drop_table("google_play_apps")
