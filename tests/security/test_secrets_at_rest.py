"""Secrets at rest: the database never holds one in clear, and keys rotate without a failed
webhook or sign-in."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pyotp
from cryptography.fernet import Fernet
from sqlalchemy import text

from backend.channels.sandbox.webhooks import signed_post_headers, text_message_webhook
from backend.config import Settings
from backend.core.context import AppContext
from backend.db.metadata import metadata
from tests.conftest import login, unique
from tests.support.whatsapp import new_wa_id


async def _everything_stored(ctx: AppContext, settings: Settings) -> bytes:
    """SQLite: the database file and its WAL, as bytes. PostgreSQL: every row of every table as
    text (what a dump would hold)."""
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    rows: list[str] = []
    async with ctx.engine.connect() as connection:
        for table in metadata.sorted_tables:
            found = await connection.execute(text(f'SELECT t::text FROM "{table.name}" t'))  # noqa: S608
            rows.extend(str(r[0]) for r in found)
    return "\n".join(rows).encode()


async def test_the_database_holds_no_secret_in_clear(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext, app_settings: Settings
) -> None:
    admin = await login(client, await make_agent("admin"))
    secrets = {
        "access_token": unique("EAAGtoken"), "app_secret": unique("appsecret"),
        "verify_token": unique("verify"),
    }  # fmt: skip
    number = unique("pn")
    cloud = await client.post(
        "/api/v1/channels", headers=admin,
        json={"name": unique("Cloud"), "phone_number_id": number, **secrets},
    )  # fmt: skip
    assert cloud.status_code == 201, cloud.text
    ultramsg = await client.post(
        "/api/v1/channels", headers=admin,
        json={"name": unique("Um"), "provider": "ultramsg", "phone_number_id": unique("inst"),
              "access_token": unique("umtoken")},
    )  # fmt: skip
    webhook_token = ultramsg.json()["webhook_url"].split("token=", 1)[1]
    endpoint = await client.post(
        "/api/v1/webhook-endpoints", headers=admin,
        json={"url": "http://127.0.0.1:9/never", "events": ["template.updated"]},
    )  # fmt: skip
    assert endpoint.status_code == 201, endpoint.text
    first_secret = endpoint.json()["secret"]
    rotated = await client.post(
        f"/api/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret", headers=admin
    )
    assert rotated.status_code in (200, 201), rotated.text
    second_secret = rotated.json()["secret"]
    seed = (await client.post("/api/v1/me/two-factor/setup", headers=admin)).json()["secret"]

    # Everything still works from the encrypted values.
    verified = await client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": secrets["verify_token"],
                "hub.challenge": "c-123"},
    )  # fmt: skip
    assert verified.status_code == 200 and verified.text == "c-123"
    raw = json.dumps(text_message_webhook(number, new_wa_id(), "Enc", "hello")).encode()
    signed = await client.post(
        "/webhooks/whatsapp", content=raw, headers=signed_post_headers(raw, secrets["app_secret"])
    )
    assert signed.status_code == 200, signed.text
    enabled = await client.post(
        "/api/v1/me/two-factor/enable", json={"code": pyotp.TOTP(seed).now()}, headers=admin
    )
    assert enabled.status_code == 200

    await asyncio.sleep(0)  # the server's writes are committed before their answers
    stored = await _everything_stored(ctx, app_settings)
    assert b"enc:v1:" in stored
    for secret in [*secrets.values(), webhook_token, first_secret, second_secret, seed]:
        assert secret.encode() not in stored, secret
    await client.delete(f"/api/v1/webhook-endpoints/{endpoint.json()['id']}", headers=admin)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


_READ = """
import asyncio
from backend.config import load_settings
from backend.core.context import AppContext
from backend.channels.services import ensure_default_channel
async def main():
    settings = load_settings()
    from backend.core import secrets_box
    secrets_box.configure(settings)
    from backend.db.engine import create_engine, create_session_factory
    engine = create_engine(settings.database_url)
    async with create_session_factory(engine)() as session:
        channel = await ensure_default_channel(session, settings)
        await session.commit()
        print(channel.app_secret)
    await engine.dispose()
asyncio.run(main())
"""


def test_rotate_keys_re_encrypts_under_the_new_key(tmp_path: Path) -> None:
    database = tmp_path / "rotate.db"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = unique("rotating-secret")
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "DATABASE_", "TEST_", "WHATSAPP_", "SECRETS_"))
    }  # fmt: skip
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "VAR_DIR": str(tmp_path / "var"),
                "WHATSAPP_APP_SECRET": secret, "SECRETS_KEYS": old})  # fmt: skip
    _cli(env, "migrate")
    read = [sys.executable, "-c", _READ]

    def app_secret(keys: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(read, env={**env, "SECRETS_KEYS": keys}, capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    assert app_secret(old).stdout.strip() == secret
    assert secret.encode() not in database.read_bytes()
    refused = app_secret(new)  # the new key alone cannot read what the old one wrote
    assert refused.returncode != 0 and "SECRETS_KEYS" in refused.stderr
    assert "re-encrypted" in _cli({**env, "SECRETS_KEYS": f"{new},{old}"}, "rotate-keys")
    assert app_secret(new).stdout.strip() == secret  # the old key can go now

    # A row written in clear before encryption existed is encrypted by `migrate`.
    with sqlite3.connect(database) as db:
        db.execute("UPDATE channels SET verify_token = 'legacy-clear-value'")
    _cli({**env, "SECRETS_KEYS": new}, "migrate")
    with sqlite3.connect(database) as db:
        (stored,) = db.execute("SELECT verify_token FROM channels").fetchone()
    assert stored.startswith("enc:v1:")
