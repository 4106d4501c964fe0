"""Invoices, their lines and numbering, credit notes, bank transfers and statement imports.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("payment_reference", sa.Text),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("period_key", sa.Text, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("bill_to", sa.JSON, nullable=False),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("due_in_days", sa.Integer, nullable=False),
        sa.Column("reverse_charge", sa.Boolean, nullable=False),
        sa.Column("tax_rate", sa.Text, nullable=False),
        sa.Column("charges_minor", sa.BigInteger, nullable=False),
        sa.Column("reductions_minor", sa.BigInteger, nullable=False),
        sa.Column("net_minor", sa.BigInteger, nullable=False),
        sa.Column("tax_minor", sa.BigInteger, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("paid_minor", sa.BigInteger, nullable=False),
        sa.Column("credited_minor", sa.BigInteger, nullable=False),
        sa.Column("credited_tax_minor", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True)),
        sa.Column("due_on", sa.Date),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("status_note", sa.Text, nullable=False),
        sa.UniqueConstraint("tenant_id", "storefront_id", "number", name="invoices_number"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="invoices_idempotency_key"),
        sa.UniqueConstraint("tenant_id", "payment_reference", name="invoices_payment_reference"),
    )
    op.create_index("invoices_by_customer", "invoices", ["tenant_id", "customer_id", "created_at"])
    op.create_index(
        "invoices_due", "invoices", ["due_on"], postgresql_where=sa.text("status IN ('open', 'partially_paid')")
    )
    op.create_table(
        "document_sequences",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("storefront_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("last_number", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "credit_notes",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("invoice_number", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("tax_minor", sa.BigInteger, nullable=False),
        sa.Column("to_balance_minor", sa.BigInteger, nullable=False),
        sa.Column("refund_minor", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "storefront_id", "number", name="credit_notes_number"),
    )
    op.create_index("credit_notes_by_invoice", "credit_notes", ["tenant_id", "invoice_id"])
    op.create_table(
        "invoice_profiles",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("storefront_id", sa.Text, primary_key=True),
        sa.Column("seller_name", sa.Text, nullable=False),
        sa.Column("seller_address", sa.Text, nullable=False),
        sa.Column("seller_tax_id", sa.Text, nullable=False),
        sa.Column("bank_account_holder", sa.Text, nullable=False),
        sa.Column("iban", sa.Text, nullable=False),
        sa.Column("bic", sa.Text, nullable=False),
    )
    op.create_table(
        "bank_payments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("dedupe_key", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("import_id", sa.Text, nullable=False),
        sa.Column("bank_reference", sa.Text, nullable=False),
        sa.Column("booked_on", sa.Date, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("payer", sa.Text, nullable=False),
        sa.Column("remittance", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("applied_minor", sa.BigInteger, nullable=False),
        sa.Column("excess_minor", sa.BigInteger, nullable=False),
        sa.Column("unmatched_reason", sa.Text),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.UniqueConstraint("tenant_id", "dedupe_key", name="bank_payments_once_per_transfer"),
    )
    op.create_index("bank_payments_by_invoice", "bank_payments", ["tenant_id", "invoice_id"])
    op.create_index("bank_payments_by_status", "bank_payments", ["tenant_id", "status", "seq"])
    op.create_table(
        "statement_imports",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("unmatched", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant_id", "digest", name="statement_imports_once_per_file"),
    )


def downgrade() -> None:
    op.drop_table("statement_imports")
    op.drop_table("bank_payments")
    op.drop_table("invoice_profiles")
    op.drop_table("credit_notes")
    op.drop_table("documents")
    op.drop_table("document_sequences")
    op.drop_table("invoices")
