"""sla policies, clocks and cursors

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("next_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("warn_at_fraction", sa.Float(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("pause_while_waiting_on_customer", sa.Boolean(), nullable=False),
        sa.Column("escalate_raise_priority", sa.Boolean(), nullable=False),
        sa.Column("escalate_move_to_team_id", sa.Integer(), nullable=True),
        sa.Column("escalate_notify_leads", sa.Boolean(), nullable=False),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["escalate_move_to_team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "priority", name="uq_sla_policies_team_priority"),
    )
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("warn_at_fraction", sa.Float(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("started_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("warn_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("met_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.Column(
            "pauses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "kind", "cycle", name="uq_sla_clocks_cycle"),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_sla_clocks_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_sla_clocks_team_started", ["team_id", "started_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sla_clocks_conversation_id"), ["conversation_id"], unique=False
        )
    op.create_table(
        "sla_cursors",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )


def downgrade() -> None:
    op.drop_table("sla_cursors")
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_clocks_conversation_id"))
        batch_op.drop_index("ix_sla_clocks_team_started")
        batch_op.drop_index("ix_sla_clocks_state_due")
    op.drop_table("sla_clocks")
    op.drop_table("sla_policies")
