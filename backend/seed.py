"""The demo: one sandbox channel with the triage bot, teams, an admin, two agents and a lead."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.agents.services import create_agent, get_or_create_team
from backend.bots.loading import DEMO_FLOW
from backend.bots.services import save_flow
from backend.channels.services import ensure_default_channel
from backend.config import Settings
from backend.sla.services import PolicyBody, create_policy

DEMO_TEAMS = ("General", "Orders", "Billing", "Technical")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    name: str
    role: str
    teams: tuple[str, ...]


DEMO_LOGINS = (
    DemoLogin("admin@switchboard.local", "admin-demo-1", "Ada Admin", "admin", DEMO_TEAMS),
    DemoLogin("lena@switchboard.local", "lead-demo-1", "Lena Lead", "lead", DEMO_TEAMS),
    DemoLogin("alice@switchboard.local", "agent-demo-1", "Alice Agent", "agent",
              ("General", "Orders", "Billing")),
    DemoLogin("bob@switchboard.local", "agent-demo-2", "Bob Agent", "agent",
              ("General", "Technical")),
)  # fmt: skip


async def database_is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(func.count()).select_from(Agent))).scalar_one() == 0


async def seed_demo(session: AsyncSession, settings: Settings) -> list[DemoLogin]:
    """Seed into an empty database; returns the logins created (none when agents exist)."""
    if not await database_is_empty(session):
        return []
    # "General" stands for the default channel's team, WHATSAPP_DEFAULT_TEAM.
    general = settings.whatsapp_default_team

    def named(team: str) -> str:
        return general if team == "General" else team

    teams = {named(name): await get_or_create_team(session, named(name)) for name in DEMO_TEAMS}
    channel = await ensure_default_channel(session, settings)
    channel.name = "Demo (sandbox)"
    for login in DEMO_LOGINS:
        await create_agent(
            session, email=login.email, password=login.password, name=login.name,
            role=login.role, teams=list(dict.fromkeys(named(team) for team in login.teams)),
        )  # fmt: skip
    assert channel.id is not None
    await save_flow(session, channel.id, DEMO_FLOW.read_text(encoding="utf-8"))  # the triage bot
    for team in teams.values():
        # Short enough that a lead trying the demo sees a clock warn (4 min) and breach (5 min).
        assert team.id is not None
        await create_policy(session, PolicyBody(
            team_id=team.id, first_response_seconds=5 * 60, next_response_seconds=10 * 60,
            resolution_seconds=4 * 3600,
        ))  # fmt: skip
    await session.commit()
    return list(DEMO_LOGINS)
