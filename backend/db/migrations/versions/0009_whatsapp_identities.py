"""customers by BSUID, kept webhook rejects, pricing and referral

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

revision: str = "0009"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.alter_column("wa_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("user_id", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("parent_user_id", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("username", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_contacts_channel_user_id", ["channel_id", "user_id"])
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("referral", JSON, nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pricing_category", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pricing_model", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("billable", sa.Boolean(), nullable=True))
    op.create_table(
        "webhook_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("raw", JSON, nullable=True),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_rejects", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_rejects_channel_id", ["channel_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_rejects", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_rejects_channel_id")
    op.drop_table("webhook_rejects")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("billable")
        batch_op.drop_column("pricing_model")
        batch_op.drop_column("pricing_category")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("referral")
        batch_op.drop_column("source")
    op.execute("DELETE FROM contacts WHERE wa_id IS NULL")  # no number to keep them under
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_contacts_channel_user_id", type_="unique")
        batch_op.drop_column("username")
        batch_op.drop_column("parent_user_id")
        batch_op.drop_column("user_id")
        batch_op.alter_column("wa_id", existing_type=sa.String(length=32), nullable=False)
