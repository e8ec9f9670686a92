"""Assembly: the domains that react to committed events, imported by the app and the worker.

Importing a module registers its `@on_events` reactions (and, for surveys, the reply router that
ingest asks). Add a domain's reaction module here when it starts reacting to events; the worker's
event-log consumer then calls it from its own cursor (docs/events.md).
"""

from __future__ import annotations

from backend.bots import hooks as _bots
from backend.conversations import hooks as _conversations
from backend.core.hooks import Hook, registered
from backend.integrations import hooks as _integrations
from backend.media import hooks as _media
from backend.notifications import hooks as _notifications
from backend.sla import hooks as _sla
from backend.surveys import hooks as _surveys

MODULES = (_bots, _conversations, _integrations, _media, _notifications, _sla, _surveys)


def reactions() -> list[Hook]:
    """Every registered reaction, in registration order."""
    return registered()
