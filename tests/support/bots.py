"""Bot and survey test helpers: own channels (the shared default channel never gets a flow, or
every other test's conversation would start with the bot), a customer who chats through the
sandbox over HTTP, and polling for what their phone received."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from backend.agents.services import get_or_create_team
from backend.bots.loading import DEMO_FLOW
from backend.bots.locale import COUNTRY_CODES, calling_code
from backend.channels.models import Channel
from backend.core.context import AppContext
from tests.support.waiting import eventually as wait_for

DEMO_TEAMS = ("Orders", "Billing", "Technical", "General")


def wa_id_for(code: str) -> str:
    while True:
        wa_id = code + "".join(random.choice("0123456789") for _ in range(12 - len(code)))
        if calling_code(wa_id) == code:
            return wa_id


def wa_id_where_local_hour(hours: range) -> str:
    """A number from a country whose local hour now is in `hours` (there is always one). English-
    speaking countries first: the texts the tests expect are the English ones, whatever the hour
    the suite runs at (at 01:00 UTC the first daytime country used to speak Spanish)."""
    now = datetime.now(UTC)
    ordered = sorted(COUNTRY_CODES.items(), key=lambda item: item[1][1] != "en")
    for code, (zone, _) in ordered:
        if now.astimezone(ZoneInfo(zone)).hour in hours:
            return wa_id_for(code)
    raise AssertionError(f"no country with a local hour in {hours}")


async def make_channel(ctx: AppContext, default_team: str) -> dict[str, Any]:
    """A second Cloud API channel that sends through the sandbox, with its own default team."""
    async with ctx.sessions() as session:
        team = await get_or_create_team(session, default_team)
        channel = Channel(
            name=f"test {default_team}", phone_number_id="1555" + str(random.randint(10**8, 10**9)),
            access_token="sandbox-token", app_secret="sandbox-secret", verify_token="sandbox-verify",
            api_base_url=None, default_team_id=team.id,
        )  # fmt: skip
        session.add(channel)
        await session.commit()
        return {"id": channel.id, "phone_number_id": channel.phone_number_id, "team": default_team}


def unique_teams() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {name: f"{name}-{suffix}" for name in DEMO_TEAMS}


def demo_flow(teams: dict[str, str]) -> str:
    """The shipped demo flow, pointed at this test's own teams."""
    source = DEMO_FLOW.read_text(encoding="utf-8")
    for name, unique_name in teams.items():
        source = source.replace(f"team: {name}\n", f"team: {unique_name}\n")
        source = source.replace(f"fallback_team: {name}\n", f"fallback_team: {unique_name}\n")
    return source


def shown_text(sent: dict[str, Any]) -> str:
    body = sent["body"]
    if body.get("type") == "text":
        return str(body["text"]["body"])
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    return f"[{body.get('type')}]"


@dataclass
class Customer:
    """A customer on WhatsApp, typing and tapping through the sandbox."""

    client: httpx.AsyncClient
    phone_number_id: str
    wa_id: str
    name: str = "Chris Customer"

    async def _send(self, body: dict[str, Any]) -> None:
        response = await self.client.post("/sandbox/api/inbound", json={
            "from": self.wa_id, "name": self.name, "phone_number_id": self.phone_number_id, **body,
        })  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["webhook_status"] == 200, response.text

    async def says(self, text: str) -> None:
        await self._send({"text": text})

    async def taps(self, reply_id: str, title: str) -> None:
        await self._send({"button_reply": {"id": reply_id, "title": title}})

    async def picks(self, row_id: str, title: str) -> None:
        await self._send({"list_reply": {"id": row_id, "title": title}})

    async def received(self) -> list[dict[str, Any]]:
        response = await self.client.get("/sandbox/api/messages", params={"wa_id": self.wa_id})
        assert response.status_code == 200
        items: list[dict[str, Any]] = response.json()
        return items

    async def wait_for_messages(self, count: int, within: float = 20.0) -> list[dict[str, Any]]:
        """Waits until the phone has at least `count` messages; returns them all."""

        async def enough() -> list[dict[str, Any]] | None:
            items = await self.received()
            return items if len(items) >= count else None

        items: list[dict[str, Any]] = await wait_for(
            enough, within, f"{count} messages for {self.wa_id}"
        )
        return items

    async def texts(self) -> list[str]:
        return [shown_text(m) for m in await self.received()]


def rows_of(sent: dict[str, Any]) -> list[dict[str, str]]:
    interactive = sent["body"]["interactive"]
    return [row for section in interactive["action"]["sections"] for row in section["rows"]]


def buttons_of(sent: dict[str, Any]) -> list[dict[str, str]]:
    return [b["reply"] for b in sent["body"]["interactive"]["action"]["buttons"]]
