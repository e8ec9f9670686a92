"""event cursors: reactions read committed events from a stored position

Revision ID: 0010
Revises: 0015
Create Date: 2026-12-01 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0010"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASELINE = "*"


def upgrade() -> None:
    cursors = op.create_table(
        "event_cursors",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # Reactions start where the log stands now: after-commit hooks already reacted to older events.
    head = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM events")).scalar()
    op.bulk_insert(
        cursors,
        [{"name": BASELINE, "seq": int(head or 0), "updated_at": backend.db.types.utcnow()}],
    )


def downgrade() -> None:
    op.drop_table("event_cursors")
