"""Who may receive an event by its type, before the conversation rule is asked.

Configuration events (see `backend/audit/changes.py`) are for the people who run the desk: the
channels, bot flows, SLA policies and surveys pages are for leads and admins, API keys and
outgoing webhooks for admins only — the same people the matching routes let in. An agent's socket
never carries them, and none of them is ever sent to an outgoing webhook (they describe the desk,
not its conversations). Quick replies, labels and teams are not listed: every agent uses them.
"""

from __future__ import annotations

from backend.agents.models import Role

LEADS_AND_ADMINS = ("channel.", "bot_flow.", "sla_policy.", "survey_config.")
ADMINS_ONLY = ("api_key.", "webhook_endpoint.")
CONFIG_ONLY = LEADS_AND_ADMINS + ADMINS_ONLY


def may_receive(role: str, type_: str) -> bool:
    """False when the event's type is kept from this role; otherwise the usual rule applies."""
    if type_.startswith(ADMINS_ONLY):
        return role == Role.admin.value
    if type_.startswith(LEADS_AND_ADMINS):
        return role in (Role.admin.value, Role.lead.value)
    return True
