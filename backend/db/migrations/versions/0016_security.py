"""security and data governance: agents' sessions, TOTP second factors, recovery codes;
secret columns become text (they hold Fernet tokens now)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.types

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns that hold secrets encrypted at rest: a Fernet token is longer than the secret.
SECRET_COLUMNS = {
    "channels": [("access_token", 512, False), ("app_secret", 255, False),
                 ("verify_token", 255, False), ("webhook_token", 255, True)],
    "webhook_endpoints": [("secret", 255, False), ("previous_secret", 255, True)],
}  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce lengths
        for table, columns in SECRET_COLUMNS.items():
            for name, length, nullable in columns:
                op.alter_column(
                    table, name, type_=sa.Text(), existing_type=sa.String(length),
                    existing_nullable=nullable,
                )  # fmt: skip
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("previous_app_secret", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("previous_app_secret_until", backend.db.types.UTCDateTime(timezone=True),
                      nullable=True)
        )  # fmt: skip
    op.create_table(
        "agent_sessions",
        sa.Column("jti", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])
    op.create_table(
        "agent_two_factor",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_counter", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "agent_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("used_at", backend.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_recovery_codes_agent_id", "agent_recovery_codes", ["agent_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])


def downgrade() -> None:
    op.drop_table("audit_log")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("previous_app_secret_until")
        batch.drop_column("previous_app_secret")
    op.drop_index("ix_agent_recovery_codes_agent_id", table_name="agent_recovery_codes")
    op.drop_table("agent_recovery_codes")
    op.drop_table("agent_two_factor")
    op.drop_index("ix_agent_sessions_agent_id", table_name="agent_sessions")
    op.drop_table("agent_sessions")
    # Down again only after `switchboard rotate-keys` has nothing encrypted left to widen for.
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in SECRET_COLUMNS.items():
            for name, length, nullable in columns:
                op.alter_column(
                    table, name, type_=sa.String(length), existing_type=sa.Text(),
                    existing_nullable=nullable,
                )  # fmt: skip
