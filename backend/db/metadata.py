"""Every table, imported once so that alembic and the schema check see the whole metadata."""

from sqlmodel import SQLModel

from backend.agents import models as _agents
from backend.agents import security_models as _agent_security
from backend.audit import models as _audit
from backend.bots import models as _bots
from backend.channels import models as _channels
from backend.conversations import models as _conversations
from backend.integrations import models as _integrations
from backend.media import models as _media
from backend.notifications import models as _notifications
from backend.quick_replies import models as _quick_replies
from backend.realtime import models as _realtime
from backend.sla import models as _sla
from backend.surveys import models as _surveys
from backend.templates import models as _templates

metadata = SQLModel.metadata

__all__ = [
    "_agent_security",
    "_agents",
    "_audit",
    "_bots",
    "_channels",
    "_conversations",
    "_integrations",
    "_media",
    "_notifications",
    "_quick_replies",
    "_realtime",
    "_sla",
    "_surveys",
    "_templates",
    "metadata",
]
