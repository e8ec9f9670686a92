"""Reactions: auto-assign looks at a team whenever its balance may have changed; a snooze sets
its wake-up timer; a deactivated agent's conversations go back to their queues.

A conversation waiting in a queue (queued, released, transferred, reopened) asks for its team; an
agent with room again (they released, transferred or resolved a chat, or came online) asks for
each of their teams. Job ids name the last event of the batch, so a repeated batch collapses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arq.connections import ArqRedis

from backend.conversations.assignment import DRAIN_AGENT_JOB, DRAIN_JOB, HAND_BACK_JOB
from backend.conversations.jobs import WAKE_JOB
from backend.core.hooks import on_events
from backend.realtime.models import Event

TEAM_CHANGES = {
    "conversation.queued", "conversation.released", "conversation.transferred",
    "conversation.reopened", "conversation.woken",
}  # fmt: skip
FREES_AN_AGENT = {"conversation.released", "conversation.transferred", "conversation.resolved"}


def _agent_ids(event: Event) -> set[int]:
    found: set[int] = set()
    if event.type in FREES_AN_AGENT:
        by: Any = event.data.get("by") or {}
        if isinstance(by, dict) and isinstance(by.get("id"), int):
            found.add(by["id"])
        if event.type == "conversation.resolved" and event.assignee_id is not None:
            found.add(event.assignee_id)
    elif event.type == "agent.presence":
        agent: Any = event.data.get("agent") or {}
        if agent.get("presence") == "online" and isinstance(agent.get("id"), int):
            found.add(agent["id"])
    return found


@on_events
async def drain_on_events(queue: ArqRedis, events: list[Event]) -> None:
    teams: set[int] = set()
    agents: set[int] = set()
    for event in events:
        if event.type in TEAM_CHANGES and event.team_id is not None:
            teams.add(event.team_id)
        elif event.type == "team.updated" and (event.data.get("team") or {}).get("auto_assign"):
            teams.add(int(event.data["team"]["id"]))
        agents |= _agent_ids(event)
    last = events[-1].seq if events else 0
    for team_id in sorted(teams):
        await queue.enqueue_job(DRAIN_JOB, team_id, _job_id=f"drain:{team_id}:{last}")
    for agent_id in sorted(agents):
        await queue.enqueue_job(DRAIN_AGENT_JOB, agent_id, _job_id=f"drain-agent:{agent_id}:{last}")


@on_events
async def wake_snoozed_on_time(queue: ArqRedis, events: list[Event]) -> None:
    """A snooze sets its timer: an arq job deferred to the moment (not a poll). Its id names the
    snooze's time, so a repeated event collapses; a re-snooze is a new timer and the old one,
    when it fires, finds a different time and does nothing."""
    for event in events:
        if event.type != "conversation.snoozed" or event.conversation_id is None:
            continue
        until = datetime.fromisoformat(str(event.data["until"]))
        await queue.enqueue_job(
            WAKE_JOB, event.conversation_id, until.isoformat(),
            _job_id=f"wake:{event.conversation_id}:{until.timestamp():.3f}", _defer_until=until,
        )  # fmt: skip


@on_events
async def hand_back_on_deactivation(queue: ArqRedis, events: list[Event]) -> None:
    """`agent.deactivated` (the agents domain): the worker hands their open chats back."""
    for event in events:
        agent: Any = event.data.get("agent") or {}
        if event.type == "agent.deactivated" and isinstance(agent.get("id"), int):
            await queue.enqueue_job(
                HAND_BACK_JOB, agent["id"], _job_id=f"hand-back:{agent['id']}:{event.seq}"
            )
