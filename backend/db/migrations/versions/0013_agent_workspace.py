"""the agent's workspace: notes' access grants, notifications, snooze, private events, labels,
contact attributes and time zone, full-text search of messages

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
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("attributes", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"]),
        sa.PrimaryKeyConstraint("conversation_id", "label_id"),
    )
    op.create_index("ix_conversation_labels_label", "conversation_labels", ["label_id"])
    op.create_table(
        "contact_labels",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"]),
        sa.PrimaryKeyConstraint("contact_id", "label_id"),
    )
    op.create_index("ix_contact_labels_label", "contact_labels", ["label_id"])
    _search_up()
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("typing_indicator", sa.Boolean(), nullable=False, server_default=sa.true())
        )
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
    _search_down()
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("typing_indicator")
    op.drop_index("ix_contact_labels_label", table_name="contact_labels")
    op.drop_table("contact_labels")
    op.drop_index("ix_conversation_labels_label", table_name="conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_table("labels")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("attributes")
        batch_op.drop_column("time_zone")
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


# Full-text search of messages with the database's own index (backend/search/). PostgreSQL: a
# tsvector per message, stemmed in the customer's language (from the contact) plus unstemmed
# ('simple', for names, numbers and other languages), kept by a trigger, with a GIN index.
# SQLite: an external-content FTS5 table kept by triggers.
PG_CONFIG = """CREATE OR REPLACE FUNCTION switchboard_search_config(lang text) RETURNS regconfig
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE split_part(lower(coalesce(lang, '')), '-', 1)
    WHEN 'en' THEN 'english' WHEN 'de' THEN 'german' WHEN 'fr' THEN 'french'
    WHEN 'es' THEN 'spanish' WHEN 'pt' THEN 'portuguese' WHEN 'it' THEN 'italian'
    WHEN 'nl' THEN 'dutch' WHEN 'sv' THEN 'swedish' WHEN 'da' THEN 'danish'
    WHEN 'fi' THEN 'finnish' WHEN 'no' THEN 'norwegian' WHEN 'ru' THEN 'russian'
    WHEN 'tr' THEN 'turkish' ELSE 'simple' END::regconfig
$$"""
PG_TRIGGER = """CREATE OR REPLACE FUNCTION switchboard_messages_search() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE lang text;
BEGIN
  SELECT c.language INTO lang FROM conversations v JOIN contacts c ON c.id = v.contact_id
    WHERE v.id = NEW.conversation_id;
  NEW.search_vector := to_tsvector(switchboard_search_config(lang), coalesce(NEW.text, ''))
    || to_tsvector('simple', coalesce(NEW.text, ''));
  RETURN NEW;
END $$"""


def _search_up() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages ADD COLUMN search_vector tsvector")
        op.execute(PG_CONFIG)  # one statement per call: asyncpg prepares each
        op.execute(PG_TRIGGER)
        op.execute(
            "CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF text ON messages "
            "FOR EACH ROW EXECUTE FUNCTION switchboard_messages_search()"
        )
        op.execute("UPDATE messages SET text = text WHERE text IS NOT NULL")  # fills the vectors
        op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


def _search_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search")
        op.execute("DROP TRIGGER IF EXISTS messages_search ON messages")
        op.execute("DROP FUNCTION IF EXISTS switchboard_messages_search()")
        op.execute("DROP FUNCTION IF EXISTS switchboard_search_config(text)")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("messages_fts_insert", "messages_fts_delete", "messages_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS messages_fts")
