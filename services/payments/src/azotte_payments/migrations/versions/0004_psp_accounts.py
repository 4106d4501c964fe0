"""Each tenant's own PSP accounts (credentials sealed with envelope encryption), PSP webhook events seen, disputes.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # A PSP's webhook names its own id of a payment: find the attempt, and so the charge, it belongs to.
    op.create_index("charge_attempts_by_psp_reference", "charge_attempts", ["tenant_id", "psp", "psp_reference"])
    # What the customer's page completes an authentication (SCA) with, when the PSP needs them.
    op.add_column("charge_attempts", sa.Column("client_secret", sa.Text))
    op.create_table(
        "psp_accounts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("credential_hints", sa.JSON, nullable=False),
        sa.Column("kek_id", sa.Text, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "psp_webhook_events",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "disputes",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("psp_dispute_id", sa.Text, nullable=False),
        sa.Column("charge_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("tenant_id", "account_id", "psp_dispute_id", name="disputes_once_per_psp_dispute"),
    )


def downgrade() -> None:
    op.drop_column("charge_attempts", "client_secret")
    op.drop_index("charge_attempts_by_psp_reference", "charge_attempts")
    op.drop_table("disputes")
    op.drop_table("psp_webhook_events")
    op.drop_table("psp_accounts")
