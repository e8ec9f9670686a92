"""Applying migrations, and refusing to serve a database that is behind them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaBehind(Exception):
    """The database has not had every migration applied."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def ensure_current(engine: AsyncEngine, database_url: str) -> None:
    head = head_revision(database_url)
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    if current != head:
        raise SchemaBehind(
            f"the database is at migration {current or 'none'} but this version needs {head}: "
            "run `switchboard migrate`"
        )
