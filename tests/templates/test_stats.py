"""Per-template figures equal a hand count over a seeded period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.conversations.models import Contact, Conversation, Message
from backend.core.context import AppContext
from backend.db.types import utcnow
from backend.templates.models import Template, TemplateSend
from tests.conftest import login, unique

DAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_figures_count_each_outcome_in_the_period(
    ctx: AppContext, client: httpx.AsyncClient, make_agent: Any, sandbox_channel: dict[str, Any]
) -> None:
    async with ctx.sessions() as session:
        templates = {
            language: Template(channel_id=sandbox_channel["id"], name="seeded_figures", language=language,
                               category="UTILITY", status="APPROVED",
                               components=[{"type": "BODY", "text": "Hi there"}])
            for language in ("en", "de")
        }  # fmt: skip
        session.add_all(templates.values())
        await session.flush()
        # (language, hours after DAY, status, error code, customer replied after n hours)
        plan = [
            ("en", 0, "read", None, 1), ("en", 1, "read", None, 30), ("en", 2, "delivered", None, None),
            ("en", 3, "sent", None, None), ("en", 4, "failed", 131026, None), ("en", 5, "failed", 131026, None),
            ("en", 6, "dead", 130429, None), ("en", 7, "queued", None, None), ("de", 1, "read", None, 2),
            ("en", 48, "read", None, 1),  # outside the period asked for below
        ]  # fmt: skip
        for language, hours, status, code, reply_after in plan:
            at = DAY + timedelta(hours=hours)
            contact = Contact(channel_id=sandbox_channel["id"], wa_id=unique("49")[:20])
            session.add(contact)
            await session.flush()
            conversation = Conversation(channel_id=sandbox_channel["id"], contact_id=contact.id,
                                        status="resolved", created_at=at)  # fmt: skip
            session.add(conversation)
            await session.flush()
            message = Message(conversation_id=conversation.id, channel_id=sandbox_channel["id"],
                              direction="outbound", sender="agent", type="template", status=status,
                              error_code=code, created_at=at, updated_at=at,
                              pricing_category="utility" if status in ("read", "delivered") else None,
                              # not due: the session's worker must not send the pending one
                              next_attempt_at=utcnow() + timedelta(days=1) if status == "queued" else None)  # fmt: skip
            session.add(message)
            await session.flush()
            session.add(TemplateSend(message_id=message.id, template_id=templates[language].id, version=1,
                                     language=language, created_at=at))  # fmt: skip
            if reply_after is not None:
                reply = at + timedelta(hours=reply_after)
                session.add(Message(conversation_id=conversation.id, channel_id=sandbox_channel["id"],
                                    direction="inbound", sender="customer", type="text", text="ok",
                                    status="received", created_at=reply, updated_at=reply))  # fmt: skip
        await session.commit()
        english_id, german_id = templates["en"].id, templates["de"].id

    lead = await login(client, await make_agent("lead"))
    period = {"since": DAY.isoformat(), "until": (DAY + timedelta(days=1)).isoformat()}
    response = await client.get(
        f"/api/v1/templates/{english_id}/stats", params=period, headers=lead
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["sent"], stats["delivered"], stats["read"]) == (4, 3, 2)
    assert stats["replied"] == 1  # the second reply came after 30 hours
    assert stats["failed"] == {"131026": 2, "130429": 1}
    assert stats["pending"] == 1
    assert stats["pricing"] == {"utility": 3}
    languages = {row["language"]: row for row in stats["by_language"]}
    assert languages["de"]["template_id"] == german_id
    assert (languages["de"]["sent"], languages["de"]["read"], languages["de"]["replied"]) == (
        1,
        1,
        1,
    )
    everything = (await client.get(f"/api/v1/templates/{english_id}/stats", headers=lead)).json()
    assert everything["sent"] == 5 and everything["replied"] == 2
    report = await client.get("/api/v1/templates/stats", params={**period, "channel_id": sandbox_channel["id"]},
                              headers=lead)  # fmt: skip
    assert report.status_code == 200, report.text
    rows = {row["language"]: row for row in report.json()["items"]}
    assert [row["language"] for row in report.json()["items"]] == ["en", "de"]
    assert (rows["en"]["sent"], rows["en"]["replied"], rows["en"]["failed"]) == (
        4,
        1,
        {"131026": 2, "130429": 1},
    )
    assert rows["de"]["name"] == "seeded_figures" and rows["de"]["read"] == 1
    naive = await client.get(f"/api/v1/templates/{english_id}/stats", params={"since": "2026-11-02T00:00:00"},
                             headers=lead)  # fmt: skip
    assert naive.status_code == 400
