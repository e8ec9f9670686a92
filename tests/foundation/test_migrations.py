"""Migrations build the schema from empty; the app refuses a database that is behind them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from backend.db.engine import create_engine
from backend.db.migrate import SchemaBehind, ensure_current, head_revision, upgrade
from tests.foundation.test_settings import run_cli

TABLES = {
    "channels", "contacts", "teams", "agents", "agent_teams", "conversations", "messages",
    "events", "alembic_version",
}  # fmt: skip


def test_migrates_an_empty_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    connection = sqlite3.connect(tmp_path / "fresh.db")
    names = {
        row[0] for row in connection.execute("select name from sqlite_master where type='table'")
    }
    assert names >= TABLES
    (version,) = connection.execute("select version_num from alembic_version").fetchone()
    assert version == head_revision(url)
    assert connection.execute("pragma journal_mode").fetchone()[0] == "wal"


async def test_the_suite_database_is_at_head(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await ensure_current(engine, database_url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert names >= TABLES
    finally:
        await engine.dispose()


async def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    try:
        with pytest.raises(SchemaBehind, match="switchboard migrate"):
            await ensure_current(engine, url)
    finally:
        await engine.dispose()


def test_web_refuses_to_serve_a_database_behind_its_migrations(tmp_path: Path) -> None:
    result = run_cli(
        "web", "--port", "1",
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", "REDIS_URL": "redis://127.0.0.1:1/0"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "run `switchboard migrate`" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command(tmp_path: Path) -> None:
    result = run_cli("migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"})
    assert result.returncode == 0, result.stderr
    assert "migrated to" in result.stdout
