"""The worker side of surveys: send (or defer, or skip) after resolution, and record answers."""

from __future__ import annotations

from typing import Any

from backend.conversations.outbound import enqueue_send
from backend.core.context import AppContext
from backend.core.logging import get_logger
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish
from backend.surveys.services import close_comment_windows, due_conversations, record_reply, run_due

log = get_logger(__name__)

SEND_SURVEY_JOB = "send_survey"
SURVEY_REPLY_JOB = "survey_reply"


async def send_survey(ctx: dict[str, Any], conversation_id: int) -> str:
    """Idempotent: the survey row's state decides; a deferral re-enqueues itself for later.

    The delay and quiet hours are arq deferrals, with the due time also in the database, so the
    `survey_sweep` cron sends it anyway if Redis lost the deferred job.
    """
    app: AppContext = ctx["app"]
    lock = app.redis.lock(f"switchboard:survey:{conversation_id}", timeout=30, blocking_timeout=30)
    async with lock, app.sessions() as session:
        due = await run_due(session, app.settings, conversation_id, utcnow())
        await commit_and_publish(session, app.redis)
    if due.send_id is not None:
        await enqueue_send(app.queue, due.send_id, "survey")
        return "sent"
    if due.wait_until is not None:
        await app.queue.enqueue_job(
            SEND_SURVEY_JOB, conversation_id, _defer_until=due.wait_until,
            _job_id=f"survey:{conversation_id}:{int(due.wait_until.timestamp() * 1000)}",
        )  # fmt: skip
        return "waiting"
    return "done"


async def survey_reply(ctx: dict[str, Any], message_id: int) -> int:
    app: AppContext = ctx["app"]
    async with app.sessions() as session:
        sends = await record_reply(session, message_id)
        await commit_and_publish(session, app.redis)
    for send_id in sends:
        await enqueue_send(app.queue, send_id, "survey")
    return len(sends)


async def survey_sweep(ctx: dict[str, Any]) -> int:
    """Safety net and housekeeping: due surveys whose job was lost, closed comment windows."""
    app: AppContext = ctx["app"]
    now = utcnow()
    async with app.sessions() as session:
        conversation_ids = await due_conversations(session, now)
        await close_comment_windows(session, now)
        await session.commit()
    for conversation_id in conversation_ids:
        await app.queue.enqueue_job(
            SEND_SURVEY_JOB,
            conversation_id,
            _job_id=f"survey:{conversation_id}:sweep:{int(now.timestamp()) // 60}",
        )
    if conversation_ids:
        log.info("survey sweep", enqueued=len(conversation_ids))
    return len(conversation_ids)
