"""the agent's workspace: notes' access grants, notifications, snooze, private events

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = backend.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", UTC, nullable=True))
        batch_op.add_column(sa.Column("snoozed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_conversations_snoozed_by_id", "agents", ["snoozed_by_id"], ["id"]
        )
    op.create_table(
        "conversation_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "conversation_id", name="uq_conversation_access"),
    )
    op.create_index(
        "ix_conversation_access_conversation_id", "conversation_access", ["conversation_id"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("source_seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("read_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent_id", "source_seq", name="uq_notifications_agent_source"),
    )
    op.create_index("ix_notifications_agent_unread", "notifications", ["agent_id", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_agent_unread", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_conversation_access_conversation_id", table_name="conversation_access")
    op.drop_table("conversation_access")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversations_snoozed_by_id", type_="foreignkey")
        batch_op.drop_column("snoozed_by_id")
        batch_op.drop_column("snoozed_until")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("recipient_id")
