"""A configuration change, written once for the record and once for the screens.

Every change to how the desk is set up (quick replies, SLA policies, surveys, teams and their
hours, bot flows, channels, outgoing webhooks, API keys, labels) goes through `config_changed`,
in the service that makes it and in the caller's transaction. It writes:

- an **audit entry** (`audit.record`): who, what, before and after, secrets redacted; and
- an **event** of the same name (unless told otherwise), so that every admin page showing that
  kind of thing re-reads it at once. Who receives it is decided by its type
  (`backend/realtime/audience.py`): channel, bot-flow, SLA and survey changes reach leads and
  admins, API-key and webhook-endpoint changes admins only. Its data goes through the same
  redaction as the audit entry, so no secret can ride an event either.

One function for both, so no kind of change can be audited and forgotten by the live pages, or
the other way round.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import services as audit
from backend.realtime.events import record_event
from backend.realtime.types import EventType

SYSTEM = ("system", None, None)  # the CLI and the demo seed: nobody signed in, not a stranger


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The top-level keys whose values differ (both sides given), sorted; a bare timestamp of
    the change (`updated_at`) is not a change of its own."""
    if before is None or after is None:
        return []
    keys = (before.keys() | after.keys()) - {"updated_at"}
    return sorted(k for k in keys if before.get(k) != after.get(k))


async def config_changed(
    session: AsyncSession, action: str, *, by: Any, target_id: Any,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
    detail: str | None = None, event: str | None = None, data: dict[str, Any] | None = None,
    team_id: int | None = None, live: bool = True,
) -> None:  # fmt: skip
    """`action` is `<kind>.<verb>` (`quick_reply.updated`); the target is of that kind. `by` is
    the signed-in principal (agent or API key), None for the CLI and the seed (`system`).

    The event is named `event` (default: the action) and carries `data` (default:
    `{<kind>: after or before}`), redacted; `live=False` writes the audit entry only (an event of
    the domain's own already tells the screens). `detail` defaults to the changed fields."""
    kind = action.split(".", 1)[0]
    fields = changed_fields(before, after)
    await audit.record(
        session, action, user=by, actor=None if by is not None else SYSTEM, target_type=kind,
        target_id=target_id, before=before, after=after,
        detail=detail or ("changed: " + ", ".join(fields) if fields else None),
    )  # fmt: skip
    if live:
        payload = data if data is not None else {kind: after if after is not None else before}
        # EventType(...) refuses a name the catalogue does not list: every live change is in it.
        type_ = EventType(event or action)
        await record_event(session, type_, audit.redact(payload) or {}, team_id=team_id)
