"""After-commit: a resolution schedules the survey; a customer message may answer one.

Also registers `reply_target` with ingest, so that an answer to a pending survey is stored on the
resolved conversation instead of opening a new one.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from backend.conversations.ingest import reply_router
from backend.core.hooks import on_events
from backend.realtime.models import Event
from backend.surveys.jobs import SEND_SURVEY_JOB, SURVEY_REPLY_JOB
from backend.surveys.services import reply_target, survey_claimants

reply_router(reply_target, survey_claimants)


@on_events
async def survey_on_events(queue: ArqRedis, events: list[Event]) -> None:
    for event in events:
        if event.conversation_id is None:
            continue
        if event.type == "conversation.resolved":
            await queue.enqueue_job(
                SEND_SURVEY_JOB,
                event.conversation_id,
                _job_id=f"survey:{event.conversation_id}:{event.seq}",
            )
        elif event.type == "message.created":
            message = event.data.get("message") or {}
            if message.get("direction") == "inbound" and message.get("sender") == "customer":
                await queue.enqueue_job(
                    SURVEY_REPLY_JOB, message["id"], _job_id=f"survey-reply:{message['id']}"
                )
