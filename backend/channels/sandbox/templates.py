"""The sandbox's template library: Meta's `{waba_id}/message_templates` (list with paging, create),
`{template_id}` (edit), the review that approves or rejects with a signed webhook, and the checks
Meta runs on template sends (132001 unknown, 132000 parameter count, 132015 paused, 132016
disabled). Kept in Redis like the rest of the sandbox; every account starts with a few approved
demo templates in English, German and Spanish.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from typing import Any

from redis.asyncio import Redis

from backend.channels.sandbox.store import PREFIX, _a, _text
from backend.templates.rules import (
    SendMismatch,
    TemplateRuleError,
    check_send,
    validate_new_template,
)

PAGE_DEFAULT, PAGE_MAX = 25, 100

_ORDER_BODY = {
    "en": ("Hi {{1}}, your order {{2}} is on its way. Reply here if you have any questions.",
           ["Maria", "A-123456"]),
    "de": ("Hallo {{1}}, deine Bestellung {{2}} ist unterwegs. Antworte hier, wenn du Fragen hast.",
           ["Maria", "A-123456"]),
    "es": ("Hola {{1}}, tu pedido {{2}} está en camino. Responde aquí si tienes preguntas.",
           ["Maria", "A-123456"]),
}  # fmt: skip
_FOLLOW_UP_BODY = {
    "en": "Hello {{1}}, we are following up on your request. Just reply to continue our chat.",
    "de": "Hallo {{1}}, wir melden uns zu deiner Anfrage. Antworte einfach, um weiterzuschreiben.",
    "es": "Hola {{1}}, te escribimos sobre tu consulta. Responde para continuar la conversación.",
}


def demo_templates() -> list[dict[str, Any]]:
    """Approved from the start, so the demo's picker has something to offer."""
    seeds: list[dict[str, Any]] = [{
        "name": "hello_world", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                       {"type": "BODY", "text": "Welcome! This message comes from the sandbox."},
                       {"type": "FOOTER", "text": "Switchboard sandbox"}],
    }]  # fmt: skip
    for language, (text, example) in _ORDER_BODY.items():
        seeds.append({
            "name": "order_update", "language": language, "category": "UTILITY",
            "components": [{"type": "BODY", "text": text, "example": {"body_text": [example]}}],
        })  # fmt: skip
    for language, text in _FOLLOW_UP_BODY.items():
        seeds.append({
            "name": "conversation_follow_up", "language": language, "category": "UTILITY",
            "components": [
                {"type": "BODY", "text": text, "example": {"body_text": [["Maria"]]}},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Continue"}]},
            ],
        })  # fmt: skip
    return seeds


def _new_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


def _graph_error(
    code: int, message: str, http_status: int = 400, **extra: Any
) -> tuple[dict[str, Any], int]:
    error = {"message": message, "type": "OAuthException", "code": code, **extra,
             "fbtrace_id": "A" + secrets.token_urlsafe(16)}  # fmt: skip
    return {"error": error}, http_status


class SandboxTemplates:
    def __init__(self, redis: Redis, review_seconds: float) -> None:
        self._redis = redis
        self._review_seconds = review_seconds

    def _order_key(self, waba_id: str) -> str:
        return f"{PREFIX}tpl-order:{waba_id}"

    def _item_key(self, template_id: str) -> str:
        return f"{PREFIX}tpl:{template_id}"

    async def _seed(self, waba_id: str) -> None:
        if not await self._redis.set(f"{PREFIX}tpl-seeded:{waba_id}", "1", nx=True):
            return
        for seed in demo_templates():
            await self._store(waba_id, {**seed, "id": _new_id(), "status": "APPROVED"})

    async def _store(self, waba_id: str, template: dict[str, Any]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._item_key(template["id"]), json.dumps({**template, "waba_id": waba_id}))
            pipe.rpush(self._order_key(waba_id), template["id"])
            await pipe.execute()

    async def get(self, template_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._item_key(template_id))
        if raw is None:
            return None
        template: dict[str, Any] = json.loads(raw)
        return self._reviewed(template)

    def _reviewed(self, template: dict[str, Any]) -> dict[str, Any]:
        """A review whose time has passed is decided even if its webhook task was lost."""
        if template.get("status") == "PENDING" and template.get("review_at", 0) <= time.time():
            template["status"] = (
                "REJECTED" if template["name"].startswith("reject_") else "APPROVED"
            )
        return template

    async def all(self, waba_id: str) -> list[dict[str, Any]]:
        await self._seed(waba_id)
        ids = [_text(raw) for raw in await _a(self._redis.lrange(self._order_key(waba_id), 0, -1))]
        found = [await self.get(template_id) for template_id in ids]
        return [template for template in found if template is not None]

    async def page(self, waba_id: str, limit: int, after: str | None, url: str) -> dict[str, Any]:
        """Meta's shape: `data` and `paging.cursors` (`next` only while more pages remain)."""
        templates = await self.all(waba_id)
        start = int(base64.b64decode(after).decode()) if after else 0
        chunk = templates[start : start + limit]
        end = start + len(chunk)
        cursor = base64.b64encode(str(end).encode()).decode()
        paging: dict[str, Any] = {"cursors": {"before": base64.b64encode(str(start).encode()).decode(),
                                              "after": cursor}}  # fmt: skip
        if end < len(templates):
            paging["next"] = f"{url}?limit={limit}&after={cursor}"
        data = [{key: value for key, value in t.items() if key not in ("waba_id", "review_at")}
                for t in chunk]  # fmt: skip
        return {"data": data, "paging": paging}

    async def create(self, waba_id: str, body: Any) -> tuple[dict[str, Any], int]:
        if not isinstance(body, dict):
            return _graph_error(100, "(#100) The request body must be a JSON object.")
        try:
            validate_new_template(body)
        except TemplateRuleError as error:
            return _graph_error(100, "Invalid parameter", error_subcode=2388043,
                                error_user_title="Invalid template", error_user_msg=str(error))  # fmt: skip
        for template in await self.all(waba_id):
            if template["name"] == body["name"] and template["language"] == body["language"]:
                return _graph_error(
                    100, "Invalid parameter", error_subcode=2388024,
                    error_user_title="Message template already exists",
                    error_user_msg=f"There is already {body['language']} content for this "
                    "template. You can create a new template and try again.",
                )  # fmt: skip
        template = {
            "id": _new_id(), "name": body["name"], "language": body["language"],
            "category": body["category"], "components": body["components"], "status": "PENDING",
            "parameter_format": body.get("parameter_format") or "POSITIONAL",
            "review_at": time.time() + self._review_seconds,
        }  # fmt: skip
        await self._store(waba_id, template)
        return {"id": template["id"], "status": "PENDING", "category": template["category"]}, 200

    async def edit(self, template_id: str, body: Any) -> tuple[dict[str, Any], int]:
        template = await self.get(template_id)
        if template is None or not isinstance(body, dict):
            return _graph_error(100, f"Unsupported post request. Object with ID '{template_id}' "
                                "does not exist.", error_subcode=33)  # fmt: skip
        changed = {**template, **{k: body[k] for k in ("components", "category") if k in body}}
        try:
            validate_new_template(changed)
        except TemplateRuleError as error:
            return _graph_error(100, "Invalid parameter", error_user_msg=str(error))
        changed.update(status="PENDING", review_at=time.time() + self._review_seconds)
        await self._redis.set(self._item_key(template_id), json.dumps(changed))
        return {"success": True}, 200

    async def decide(self, template_id: str) -> dict[str, Any] | None:
        """Ends the review (after SANDBOX_TEMPLATE_REVIEW_SECONDS) and returns the decided template."""
        template = await self.get(template_id)
        if template is None:
            return None
        template.pop("review_at", None)
        await self._redis.set(self._item_key(template_id), json.dumps(template))
        return template

    async def set_status(self, template_id: str, status: str) -> dict[str, Any] | None:
        template = await self.get(template_id)
        if template is None:
            return None
        template["status"] = status
        template.pop("review_at", None)
        await self._redis.set(self._item_key(template_id), json.dumps(template))
        return template

    async def check_send(self, waba_id: str, body: dict[str, Any]) -> tuple[int, str] | None:
        """None when Meta would accept this template send, else its error code and details."""
        content = body.get("template") or {}
        language = (content.get("language") or {}).get("code")
        match = [t for t in await self.all(waba_id)
                 if t["name"] == content.get("name") and t["language"] == language]  # fmt: skip
        if not match or match[0]["status"] not in ("APPROVED", "PAUSED", "DISABLED"):
            return 132001, f"template name ({content.get('name')}) does not exist in {language}"
        status = match[0]["status"]
        if status == "PAUSED":
            return 132015, "Template is paused due to low quality so it cannot be sent."
        if status == "DISABLED":
            return 132016, "Template has been paused too many times and is now disabled."
        try:
            check_send(match[0]["components"], match[0].get("parameter_format") or "POSITIONAL",
                       content.get("components"))  # fmt: skip
        except SendMismatch as mismatch:
            return mismatch.code, mismatch.detail
        return None


def status_webhook_body(waba_id: str, template: dict[str, Any]) -> dict[str, Any]:
    """`message_template_status_update` as Meta sends it (the shape of pywa's fixture)."""
    value: dict[str, Any] = {
        "event": template["status"], "message_template_id": int(template["id"]),
        "message_template_name": template["name"],
        "message_template_language": template["language"],
        "reason": "NONE", "message_template_category": template["category"],
    }  # fmt: skip
    if template["status"] == "REJECTED":
        value["reason"] = "INVALID_FORMAT"
        value["rejection_info"] = {
            "reason": "The sandbox rejects every template whose name starts with reject_.",
            "recommendation": "Choose another name and submit it again.",
        }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": int(time.time()),
                   "changes": [{"value": value, "field": "message_template_status_update"}]}],
    }  # fmt: skip


async def review_later(
    store: SandboxTemplates, template_id: str, seconds: float
) -> dict[str, Any] | None:
    await asyncio.sleep(seconds)
    return await store.decide(template_id)
