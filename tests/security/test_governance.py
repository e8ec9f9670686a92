"""A customer's data has an end: export gives them everything (JSON and files); erasure leaves
nothing of their text or media behind, on either database, and keeps the audit entry."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import httpx
from sqlalchemy import select

from backend.core.context import AppContext
from backend.db.metadata import metadata
from backend.media.storage import MediaStorage
from tests.conftest import login, unique
from tests.media.conftest import media_state, message_by_wamid
from tests.support.media_samples import png
from tests.support.servers import LiveWorker
from tests.support.whatsapp import find_conversation, new_wa_id


async def _all_rows_as_text(ctx: AppContext) -> str:
    """Every row of every table the app has, as text: what the database still says."""
    found: list[str] = []
    async with ctx.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                found.append(repr(tuple(row)))
    return "\n".join(found)


async def test_export_then_erase_leaves_nothing_of_the_customer(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext, worker: LiveWorker
) -> None:
    admin = await login(client, await make_agent("admin"))
    wa_id, name = new_wa_id(), unique("Erika")
    words = unique("my-secret-complaint")
    said = await client.post(
        "/sandbox/api/inbound", json={"from": wa_id, "name": name, "text": words}
    )
    assert said.status_code == 200
    photo = png(24, 12, (10, 200, 90))
    sent = await client.post("/sandbox/api/inbound", json={
        "from": wa_id, "name": name, "media": {"type": "image", "mime_type": "image/png",
        "data": base64.b64encode(photo).decode(), "caption": words + "-caption"},
    })  # fmt: skip
    message = await message_by_wamid(client, admin, wa_id, sent.json()["message_id"])
    stored = (await media_state(client, admin, message, "stored"))["media"]
    conversation = await find_conversation(client, admin, wa_id)
    contact_id = conversation["contact"]["id"]

    exported = await client.post(f"/api/v1/contacts/{contact_id}/export", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    document = json.loads(archive.read("contact.json"))
    assert document["contact"]["wa_id"] == wa_id and document["contact"]["name"] == name
    texts = [m["text"] for c in document["conversations"] for m in c["messages"]]
    assert words in texts
    files = [n for n in archive.namelist() if n.startswith("media/")]
    assert [archive.read(n) for n in files] == [photo]

    erased = await client.post(f"/api/v1/contacts/{contact_id}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["messages"] >= 2 and erased.json()["erased"]["files"] == 1
    everything = await _all_rows_as_text(ctx)
    for trace in (words, name, wa_id, wa_id[-8:]):
        assert trace not in everything, trace
    storage = MediaStorage.from_settings(ctx.settings)
    assert stored["sha256"] and not await storage.exists(stored["sha256"])
    assert (await client.get(stored["url"], headers=admin)).status_code == 404
    audit = await client.get(
        "/api/v1/audit", params={"target_type": "contact", "target_id": str(contact_id)},
        headers=admin,
    )  # fmt: skip
    assert [e["action"] for e in audit.json()["items"]] == ["contact.erased", "contact.exported"]


async def test_only_admins_export_or_erase(client: httpx.AsyncClient, make_agent: Any) -> None:
    lead = await login(client, await make_agent("lead"))
    for action in ("export", "erase"):
        assert (await client.post(f"/api/v1/contacts/1/{action}", headers=lead)).status_code == 403
    admin = await login(client, await make_agent("admin"))
    assert (await client.post("/api/v1/contacts/999999/erase", headers=admin)).status_code == 404


async def test_retention_removes_old_text_and_keeps_recent(
    client: httpx.AsyncClient, make_agent: Any, ctx: AppContext
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from backend.conversations.governance import apply_retention
    from backend.conversations.models import Contact, Message
    from backend.db.types import utcnow
    from backend.realtime.models import Event
    from tests.support.whatsapp import customer_says

    admin = await login(client, await make_agent("admin"))
    old_wa, new_wa = new_wa_id(), new_wa_id()
    old_words, new_words = unique("long-ago"), unique("just-now")
    await customer_says(client, old_wa, old_words, name=unique("Olga"))
    await customer_says(client, new_wa, new_words, name="Nora Recent")
    old_conversation = await find_conversation(client, admin, old_wa)
    long_ago = utcnow() - timedelta(days=40)
    async with ctx.sessions() as session:
        await session.execute(
            update(Message).where(Message.conversation_id == old_conversation["id"])  # type: ignore[arg-type]
            .values(created_at=long_ago)
        )  # fmt: skip
        await session.execute(
            update(Contact).where(Contact.id == old_conversation["contact"]["id"])  # type: ignore[arg-type]
            .values(last_inbound_at=long_ago)
        )  # fmt: skip
        await session.execute(
            update(Event).where(Event.conversation_id == old_conversation["id"])  # type: ignore[arg-type]
            .values(at=long_ago)
        )  # fmt: skip
        await session.commit()
    async with ctx.sessions() as session:
        after = 0
        while True:
            done = await apply_retention(session, MediaStorage.from_settings(ctx.settings), 30,
                                         after_id=after)  # fmt: skip
            if not done["last_id"]:
                break
            after = done["last_id"]
    everything = await _all_rows_as_text(ctx)
    assert old_words not in everything and old_wa not in everything
    assert new_words in everything and new_wa in everything
    kept = await find_conversation(client, admin, new_wa)
    assert kept["last_message"]["text"] == new_words
