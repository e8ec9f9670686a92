"""The Cloud API's send-time checks, with its codes and wording, so the sandbox refuses what Meta
refuses: a 4th reply button or a 21-character title must fail in development, not in production.

Shape and required fields are code 100 ("Invalid parameter"); limits on interactive messages are
131009 ("Parameter value is not valid"), as the live API answers them.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from backend.channels.whatsapp.errors import CATALOG

# A business-scoped user id: country code, a period, alphanumerics (a parent BSUID adds "ENT.").
BSUID = re.compile(r"[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}")
SUPPORTED_TYPES = ("text", "image", "audio", "document", "video", "sticker", "location",
                   "contacts", "interactive", "template", "reaction")  # fmt: skip
MEDIA_TYPES = ("image", "audio", "document", "video", "sticker")
INTERACTIVE_TYPES = ("button", "list", "cta_url", "product", "product_list", "flow",
                     "location_request_message", "call_permission_request")  # fmt: skip


class Invalid(Exception):
    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def graph_error(code: int, details: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Graph API error body as the Cloud API sends it (v16+: no error_subcode unless given)."""
    title, default_details = CATALOG.get(code, ("Unknown error", "Unknown error"))
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
        **extra, "fbtrace_id": "A" + secrets.token_urlsafe(16),
    }  # fmt: skip
    return {"error": error}


def validate_send(body: Any) -> dict[str, Any] | None:
    """None when the Cloud API would accept `body`, else the error body it would answer."""
    try:
        _check(body)
    except Invalid as invalid:
        return graph_error(invalid.code, invalid.details)
    return None


def interactive_problem(content: Any) -> str | None:
    """Why the Cloud API would refuse this `interactive` object, or None: the one place its rules
    live, used by the sandbox and by the outbound path before a reply is written."""
    if not isinstance(content, dict):
        return "interactive must be an object"
    try:
        _interactive(content)
    except Invalid as invalid:
        return invalid.details
    return None


def _check(body: Any) -> None:
    if not isinstance(body, dict):
        raise Invalid(100, "The request body must be a JSON object.")
    product = body.get("messaging_product")
    if product is None:
        raise Invalid(100, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise Invalid(
            100, f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".'
        )
    if body.get("recipient_type", "individual") != "individual":
        raise Invalid(100, "Param recipient_type must be one of {INDIVIDUAL}.")
    to, recipient = body.get("to"), body.get("recipient")
    if not (isinstance(to, str) and to.strip()):
        if recipient is None:
            raise Invalid(100, "The parameter to is required.")
        if not (isinstance(recipient, str) and BSUID.fullmatch(recipient)):
            raise Invalid(100, "Param recipient must be a business-scoped user ID.")
    kind = body.get("type", "text")
    if kind not in SUPPORTED_TYPES:
        raise Invalid(
            100,
            f'Param type must be one of {{{", ".join(SUPPORTED_TYPES).upper()}}} - got "{kind}".',
        )
    context = body.get("context")
    if context is not None and not (isinstance(context, dict) and _text(context.get("message_id"))):
        raise Invalid(100, "The parameter context['message_id'] is required.")
    content = body.get(kind)
    if kind == "contacts" and isinstance(content, list) and content:
        return
    if not isinstance(content, dict):
        raise Invalid(100, f"The parameter {kind} is required.")
    if kind == "text":
        _length(100, content.get("body"), 4096, "text['body']", required=True)
    elif kind in MEDIA_TYPES:
        if not _text(content.get("id")) and not _text(content.get("link")):
            raise Invalid(100, f"Param {kind} must contain either id or link.")
        _length(100, content.get("caption"), 1024, f"{kind}['caption']")
    elif kind == "location":
        for key in ("latitude", "longitude"):
            if not isinstance(content.get(key), int | float | str):
                raise Invalid(100, f"The parameter location['{key}'] is required.")
    elif kind == "reaction":
        if not _text(content.get("message_id")):
            raise Invalid(100, "The parameter reaction['message_id'] is required.")
    elif kind == "template":
        _template(content)
    elif kind == "interactive":
        _interactive(content)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _length(code: int, value: Any, limit: int, name: str, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (not value and code == 100):
        raise Invalid(100, f"The parameter {name} is required.")
    if code == 100 and len(value) > limit:
        raise Invalid(100, f"Param {name} must be at most {limit} characters long.")
    if not value or len(value) > limit:
        raise Invalid(code, f"{name} length invalid. Min length: 1, Max length: {limit}")


def _template(content: dict[str, Any]) -> None:
    if not _text(content.get("name")):
        raise Invalid(100, "The parameter template['name'] is required.")
    language = content.get("language")
    if not isinstance(language, dict) or not _text(language.get("code")):
        raise Invalid(100, "The parameter template['language']['code'] is required.")


def _interactive(content: dict[str, Any]) -> None:
    kind = content.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise Invalid(
            100,
            f"Param interactive['type'] must be one of {{{', '.join(INTERACTIVE_TYPES).upper()}}}.",
        )
    body, action = content.get("body"), content.get("action")
    if kind in ("button", "list"):
        if not isinstance(body, dict):
            raise Invalid(100, "The parameter interactive['body'] is required.")
        _length(131009, body.get("text"), 1024, "Body text", required=True)
    if not isinstance(action, dict) and kind != "location_request_message":
        raise Invalid(100, "The parameter interactive['action'] is required.")
    header, footer = content.get("header"), content.get("footer")
    if isinstance(header, dict) and header.get("type") == "text":
        _length(131009, header.get("text"), 60, "Header text", required=True)
    if footer is not None:
        if not isinstance(footer, dict):
            raise Invalid(100, "Param interactive['footer'] must be an object.")
        _length(131009, footer.get("text"), 60, "Footer text", required=True)
    if kind == "button":
        _buttons(action or {})
    elif kind == "list":
        _list(action or {})


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise Invalid(100, "The parameter interactive['action']['buttons'] is required.")
    if len(buttons) > 3:
        raise Invalid(
            131009, f"Buttons count invalid. Min count: 1, Max count: 3 - got {len(buttons)}"
        )
    titles: set[str] = set()
    ids: set[str] = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if (
            not isinstance(button, dict)
            or button.get("type") != "reply"
            or not isinstance(reply, dict)
        ):
            raise Invalid(
                100,
                'Param interactive[\'action\'][\'buttons\'][] must be {"type": "reply", "reply": {...}}.',
            )
        _length(131009, reply.get("id"), 256, "Button id", required=True)
        _length(131009, reply.get("title"), 20, "Button title", required=True)
        if reply["title"] in titles or reply["id"] in ids:
            raise Invalid(131009, "Button title and id must be unique.")
        titles.add(reply["title"])
        ids.add(reply["id"])


def _list(action: dict[str, Any]) -> None:
    _length(131009, action.get("button"), 20, "Button text", required=True)
    sections = action.get("sections")
    if not isinstance(sections, list) or not sections:
        raise Invalid(100, "The parameter interactive['action']['sections'] is required.")
    if len(sections) > 10:
        raise Invalid(
            131009, f"Sections count invalid. Min count: 1, Max count: 10 - got {len(sections)}"
        )
    rows = 0
    ids: set[str] = set()
    for section in sections:
        if (
            not isinstance(section, dict)
            or not isinstance(section.get("rows"), list)
            or not section["rows"]
        ):
            raise Invalid(131009, "Each section must have at least one row.")
        if len(sections) > 1 or section.get("title") is not None:
            _length(131009, section.get("title"), 24, "Section title", required=len(sections) > 1)
        rows += len(section["rows"])
        if rows > 10:
            raise Invalid(131009, "Total row count exceed max allowed count: 10")
        for row in section["rows"]:
            if not isinstance(row, dict):
                raise Invalid(
                    100, "Param interactive['action']['sections'][]['rows'][] must be an object."
                )
            _row(row, ids)


def _row(row: dict[str, Any], ids: set[str]) -> None:
    row_id, title, description = row.get("id"), row.get("title"), row.get("description")
    if not isinstance(row_id, str) or not isinstance(title, str) or not row_id or not title:
        raise Invalid(100, "The parameters rows[]['id'] and rows[]['title'] are required.")
    if len(row_id) > 200:
        raise Invalid(131009, "Row id is too long. Max length is 200")
    if len(title) > 24:
        raise Invalid(131009, "Row title is too long. Max length is 24")
    if description is not None and (not isinstance(description, str) or len(description) > 72):
        raise Invalid(131009, "Row description is too long. Max length is 72")
    if row_id in ids:
        raise Invalid(131009, "Row ids must be unique.")
    ids.add(row_id)
