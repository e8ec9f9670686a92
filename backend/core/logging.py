"""structlog for every line: JSON in production, readable in development, a request id on each.

Phone numbers and secrets never reach a log: `_redact` masks long digit runs (a wa_id is a phone
number) down to their last four digits and drops values under secret-looking keys.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import msgspec
import structlog
from structlog.types import EventDict, WrappedLogger

_DIGITS = re.compile(r"\+?\d{7,}")
_TOKEN_IN_URL = re.compile(r"(?i)((?:token|access_token|hub\.verify_token)=)[^&\s\"']+")
_SECRET_KEYS = ("password", "secret", "token", "authorization", "cookie", "access_key")


def _mask(text: str) -> str:
    text = _TOKEN_IN_URL.sub(r"\1[redacted]", text)
    return _DIGITS.sub(lambda m: "…" + m.group(0)[-4:], text)


def _redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    for key, value in list(event_dict.items()):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = _mask(value)
    return event_dict


# arq's lines that say only "a job ran": every cron tick (heartbeat, sweeps) and every routine job
# start and finish. They are DEBUG, so that an idle `make run` is quiet; retries, failures and
# what our jobs log themselves stay at their level.
_ROUTINE_ARQ = re.compile(
    r"^\s*[\d.]+s [→←] |^recording health: |^Starting worker for |^redis_version="
)


class _RoutineArqAtDebug(logging.Filter):
    """Demotes arq's routine lines to DEBUG; they show only when DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _ROUTINE_ARQ.match(record.getMessage()):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_ARQ_FILTER = _RoutineArqAtDebug()


# msgspec writes a line's JSON several times faster than the standard library (it is Litestar's own
# encoder, so nothing new to install); a value it does not know becomes its repr, as before.
_ENCODER = msgspec.json.Encoder(enc_hook=repr)


def _json(value: Any, **_: Any) -> str:
    return _ENCODER.encode(value).decode()


def configure_logging(fmt: str = "console", level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "arq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    arq_worker = logging.getLogger("arq.worker")
    if _ARQ_FILTER not in arq_worker.filters:
        arq_worker.addFilter(_ARQ_FILTER)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
