"""The WhatsApp sandbox: Meta's side of the conversation, served by Switchboard itself.

It answers the Cloud API send endpoint like Meta does (same validation, same bodies), then plays
the customer's phone: sent → delivered → read receipts, and customer messages, all as signed
webhooks to this server's own `/webhooks/whatsapp`. So the whole loop — ingest, bot, queue,
outbox, receipts — runs for real with no Meta account, and faults can be injected at will.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Request, Response, Router, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.channels.models import Channel
from backend.channels.sandbox.media import SandboxMedia, download_url, url_is_valid
from backend.channels.sandbox.store import SandboxStore
from backend.channels.sandbox.templates import (
    PAGE_DEFAULT,
    PAGE_MAX,
    SandboxTemplates,
    review_later,
    status_webhook_body,
)
from backend.channels.sandbox.validation import BSUID, MEDIA_TYPES, graph_error, validate_send
from backend.channels.sandbox.webhooks import (
    customer_message_webhook,
    echo_webhook,
    new_wamid,
    signed_post_headers,
    status_webhook,
)
from backend.channels.services import (
    channel_by_phone_number_id,
    channels_of_business_account,
    is_sandbox_channel,
)
from backend.channels.whatsapp.errors import CATALOG
from backend.core.context import AppContext
from backend.core.logging import get_logger

log = get_logger(__name__)

PHONE_PAGE = Path(__file__).parent / "static" / "phone.html"
PHONE_SCRIPT = PHONE_PAGE.with_name("phone.js")
PHONE_STYLE = PHONE_PAGE.with_name("phone.css")
STATUS_GAP_SECONDS = 0.15
UNDELIVERABLE_PREFIX = "999"  # test numbers that never receive anything (error 131026)
_HTTP_STATUS = {190: 401, 1: 500, 2: 503, 131000: 500, 131016: 503, 133004: 503}
_deliveries: set[asyncio.Task[None]] = set()
INBOUND_MEDIA_LIMIT = 16 * 1024 * 1024
INBOUND_BODY_LIMIT = 24 * 1024 * 1024  # base64 of the largest file, and the JSON around it
UPLOAD_BODY_LIMIT = 101 * 1024 * 1024

AnyRequest = Request[Any, Any, Any]


def _context(request: AnyRequest) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def _channel(context: AppContext, phone_number_id: str) -> Channel | None:
    """Only a sandbox channel: for any other the sandbox knows no such number."""
    async with context.sessions() as session:
        channel = await channel_by_phone_number_id(session, phone_number_id)
    return channel if channel and is_sandbox_channel(channel, context.settings) else None


async def refuse_cross_site_posts(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The sandbox has no sign-in, so a page on another site could make a visitor's browser post
    a form to it (forms need no CORS preflight). A POST must therefore be JSON or carry a Bearer
    token (both need a preflight cross-site, which we never grant), and is refused when the
    browser says it comes from another site (`Sec-Fetch-Site`, or an `Origin` not ours)."""
    if connection.scope.get("method") != "POST":
        return
    if connection.headers.get("authorization", "").lower().startswith("bearer "):
        return
    content_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise PermissionDeniedException(
            "the sandbox takes JSON (or a Bearer token) for changes, not a form post"
        )
    if connection.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PermissionDeniedException("cross-site requests to the sandbox are refused")
    origin = connection.headers.get("origin")
    # By host only: behind a TLS-terminating proxy the page is https and we see http.
    if origin and urlsplit(origin).netloc != connection.headers.get("host", ""):
        raise PermissionDeniedException("cross-site requests to the sandbox are refused")


def _graph(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(body, status_code=status, headers=headers)


@post("/graph/{version:str}/{phone_number_id:str}/messages", status_code=200)
async def graph_send(request: AnyRequest, version: str, phone_number_id: str) -> Response[Any]:
    """The Cloud API's `POST /{phone_number_id}/messages`: sends and mark-as-read."""
    context = _context(request)
    channel = await _channel(context, phone_number_id)
    if channel is None:
        details = (
            f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot"
            " be loaded due to missing permissions, or does not support this operation."
        )
        return _graph(graph_error(100, details, error_subcode=33), 400)
    unauthorized = _unauthorized(request, channel)
    if unauthorized is not None:
        return unauthorized
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _graph(graph_error(100, "The request body is not valid JSON."), 400)
    if isinstance(body, dict) and body.get("status") == "read":
        if body.get("messaging_product") != "whatsapp" or not isinstance(
            body.get("message_id"), str
        ):
            return _graph(graph_error(100, "The parameter message_id is required."), 400)
        typing = body.get("typing_indicator")
        if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
            return _graph(graph_error(100, "Param typing_indicator[type] must be text."), 400)
        return _graph({"success": True}, 200)
    invalid = validate_send(body)
    if invalid is not None:
        return _graph(invalid, 400)
    if body.get("type") == "template" and channel.business_account_id:
        # Checked against the account's library, as Meta does (a channel without one has none).
        refused = await _templates(context).check_send(channel.business_account_id, body)
        if refused is not None:
            return _graph(graph_error(refused[0], refused[1]), 400)
    customer = _customer_key(body)
    contact = (
        {"input": body["to"], "wa_id": customer}
        if body.get("to")
        else {"input": customer, "user_id": customer}
    )
    store = SandboxStore(context.redis)
    fault = await store.take_fault(customer)
    callback = body.get("biz_opaque_callback_data")
    if fault is not None and fault.get("delay_seconds"):
        # Accepted, but the answer is slow: a worker that dies meanwhile never learns the wamid.
        wamid = new_wamid()
        await store.record_sent(wamid, customer, body.get("type", "text"), body)
        _start(_deliver_statuses(context, channel, wamid, customer, callback))
        await asyncio.sleep(float(fault["delay_seconds"]))
        return _graph({"messaging_product": "whatsapp", "contacts": [contact],
                       "messages": [{"id": wamid}]}, 200)  # fmt: skip
    if fault is not None:
        headers = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") else None
        return _graph(graph_error(int(fault["code"])), int(fault["http_status"]), headers)
    wamid = new_wamid()
    await store.record_sent(wamid, customer, body.get("type", "text"), body)
    _start(_deliver_statuses(context, channel, wamid, customer, callback))
    return _graph(
        {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}, 200
    )


def _customer_key(body: dict[str, Any]) -> str:
    """Whom a send is for: the number's digits (`to` wins, as at Meta), else the BSUID."""
    to = body.get("to")
    if isinstance(to, str) and to.strip():
        return re.sub(r"\D", "", to) or to
    recipient: str = body["recipient"]
    return recipient


def _unauthorized(request: AnyRequest, channel: Channel) -> Response[Any] | None:
    """Graph's 401 (code 190) unless the request carries the channel's Bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        token.encode(), channel.access_token.encode()
    ):
        return None
    error = graph_error(190)
    error["error"]["message"] = "Invalid OAuth access token - Cannot parse access token"
    return _graph(error, 401)


def _start(coroutine: Any) -> None:
    """Keep a reference until done: the event loop holds tasks only weakly."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def _deliver_statuses(
    context: AppContext, channel: Channel, wamid: str, wa_id: str, callback_data: str | None = None
) -> None:
    plan: list[tuple[str, dict[str, Any] | None]]
    if wa_id.startswith(UNDELIVERABLE_PREFIX):
        title, details = CATALOG[131026]
        plan = [("failed", {"code": 131026, "title": title, "details": details})]
    else:
        plan = [("sent", None), ("delivered", None), ("read", None)]
    store = SandboxStore(context.redis)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for status, error in plan:
                await asyncio.sleep(STATUS_GAP_SECONDS)
                by_bsuid = BSUID.fullmatch(wa_id) is not None
                webhook = status_webhook(
                    channel.phone_number_id, wamid, status, None if by_bsuid else wa_id, error,
                    callback_data=callback_data, recipient_user_id=wa_id if by_bsuid else None,
                )  # fmt: skip
                await _post_webhook(http, context, webhook, channel.app_secret)
                await store.set_status(wamid, status)
    except Exception:
        log.exception("sandbox status delivery failed", wamid=wamid)


async def _post_webhook(
    http: httpx.AsyncClient, context: AppContext, webhook: dict[str, Any], app_secret: str
) -> int | None:
    """POST like Meta does: signed raw bytes, retried a little on 5xx or no answer."""
    raw = json.dumps(webhook).encode()
    url = f"{context.settings.public_base_url}/webhooks/whatsapp"
    for attempt in range(3):
        try:
            response = await http.post(
                url, content=raw, headers=signed_post_headers(raw, app_secret)
            )
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code < 500:
            break
        if attempt < 2:
            await asyncio.sleep(0.5 * (attempt + 1))
    return response.status_code if response is not None else None


def _inbound_message(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which customer message the body describes, or a 422 saying what is wrong with it."""
    given = [key for key in ("text", "button_reply", "list_reply", "media") if key in data]
    if len(given) != 1:
        raise HTTPException(
            status_code=422, detail="give exactly one of text, button_reply, list_reply, media"
        )
    key = given[0]
    if key == "media":
        return "media", inbound_media(data["media"])
    if key == "text":
        if not isinstance(data["text"], str) or not data["text"].strip():
            raise HTTPException(status_code=422, detail="text must be a non-empty string")
        return "text", {"body": data["text"]}
    reply = data[key]
    if not isinstance(reply, dict) or not all(
        isinstance(reply.get(k), str) and reply[k] for k in ("id", "title")
    ):
        raise HTTPException(status_code=422, detail=f"{key} needs string id and title")
    shown = {k: reply[k] for k in ("id", "title", "description") if isinstance(reply.get(k), str)}
    return "interactive", {"type": key, key: shown}


def inbound_media(media: Any) -> dict[str, Any]:
    """`{"type", "mime_type", "data" (base64), "filename"?, "caption"?, "voice"?}`, checked."""
    if not isinstance(media, dict):
        raise HTTPException(status_code=422, detail="media must be an object")
    kind, mime = media.get("type"), media.get("mime_type")
    if kind not in MEDIA_TYPES:
        raise HTTPException(
            status_code=422, detail=f"media.type must be one of {', '.join(MEDIA_TYPES)}"
        )
    if not isinstance(mime, str) or "/" not in mime:
        raise HTTPException(
            status_code=422, detail="media.mime_type must be a MIME type like image/jpeg"
        )
    try:
        data = base64.b64decode(str(media.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(status_code=422, detail="media.data must be base64") from None
    if not data:
        raise HTTPException(status_code=422, detail="media.data is empty")
    if len(data) > INBOUND_MEDIA_LIMIT:
        raise HTTPException(
            status_code=413,
            detail=f"the sandbox takes files up to {INBOUND_MEDIA_LIMIT // 2**20} MB",
        )
    for key in ("filename", "caption"):
        if media.get(key) is not None and not isinstance(media[key], str):
            raise HTTPException(status_code=422, detail=f"media.{key} must be a string")
    return {"type": kind, "mime_type": mime, "data": data, "filename": media.get("filename"),
            "caption": media.get("caption"), "voice": media.get("voice") is True}  # fmt: skip


async def _keep_inbound_media(
    context: AppContext, channel: Channel, media: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Stores the file as Meta would and describes it the way Meta's webhook does."""
    kind = media["type"]
    kept = await SandboxMedia(context.redis).keep(
        channel.phone_number_id, media["mime_type"], media["data"], media["filename"]
    )
    content: dict[str, Any] = {
        "mime_type": kept.mime_type,
        "sha256": kept.sha256_b64,
        "id": kept.media_id,
    }
    if media["caption"] and kind in ("image", "video", "document"):
        content["caption"] = media["caption"]
    if kind == "document":
        content["filename"] = media["filename"] or "file"
    if kind == "audio":
        content["voice"] = media["voice"]
    if kind == "sticker":
        content["animated"] = False
    return kind, content


@get("/graph/{version:str}/{media_id:str}")
async def graph_media_object(request: AnyRequest, version: str, media_id: str) -> Response[Any]:
    """The Cloud API's `GET /{media_id}`: the media object with a URL that lives five minutes.
    Graph ids are one namespace: a sandbox phone number id answers as the number (what the admin
    console's Test connection reads)."""
    context = _context(request)
    number = await _channel(context, media_id)
    if number is not None:
        refused = _unauthorized(request, number)
        if refused is not None:
            return refused
        return _graph({
            "id": number.phone_number_id, "display_phone_number": "+1 555-0100",
            "verified_name": number.name, "status": "CONNECTED", "quality_rating": "GREEN",
            "messaging_limit_tier": "TIER_1K", "account_mode": "SANDBOX",
        }, 200)  # fmt: skip
    kept = await SandboxMedia(context.redis).get(media_id)
    channel = await _channel(context, kept.phone_number_id) if kept else None
    if kept is None or channel is None:
        details = f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        return _graph(graph_error(100, details, error_subcode=33), 400)
    refused = _unauthorized(request, channel)
    if refused is not None:
        return refused
    url = download_url(context.settings.public_base_url, context.settings.signing_key(), media_id)
    return _graph(kept.media_object(url), 200)


@get("/media-download/{media_id:str}")
async def media_download(
    request: AnyRequest, media_id: str, exp: str = "", hash: str = ""
) -> Response[Any]:
    """The short-lived URL: only with the owning number's Bearer token, only until it expires."""
    context = _context(request)
    kept = await SandboxMedia(context.redis).get(media_id)
    channel = await _channel(context, kept.phone_number_id) if kept else None
    if (
        kept is None
        or channel is None
        or not url_is_valid(context.settings.signing_key(), media_id, exp, hash)
    ):
        return Response({"error": "URL signature expired"}, status_code=404)
    refused = _unauthorized(request, channel)
    if refused is not None:
        return refused
    return Response(
        kept.data, media_type=kept.mime_type, headers={"Content-Length": str(len(kept.data))}
    )


@post(
    "/graph/{version:str}/{phone_number_id:str}/media",
    status_code=200,
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def graph_upload(request: AnyRequest, version: str, phone_number_id: str) -> Response[Any]:
    """The Cloud API's `POST /{phone_number_id}/media` (multipart `file`, `type`, `messaging_product`)."""
    context = _context(request)
    channel = await _channel(context, phone_number_id)
    if channel is None:
        return _graph(
            graph_error(
                100, f"Object with ID '{phone_number_id}' does not exist", error_subcode=33
            ),
            400,
        )
    refused = _unauthorized(request, channel)
    if refused is not None:
        return refused
    form = await request.form()
    upload = form.get("file")
    if form.get("messaging_product") != "whatsapp":
        return _graph(graph_error(100, "The parameter messaging_product is required."), 400)
    if not isinstance(upload, UploadFile):
        return _graph(graph_error(100, "The parameter file is required."), 400)
    data = await upload.read()
    mime = str(form.get("type") or upload.content_type or "")
    if not data or "/" not in mime:
        return _graph(graph_error(100, "Param type must be a MIME type, e.g. image/jpeg."), 400)
    kept = await SandboxMedia(context.redis).keep(phone_number_id, mime, data, upload.filename)
    return _graph({"id": kept.media_id}, 200)


@get("/api/media/{media_id:str}")
async def phone_media(request: AnyRequest, media_id: str) -> Response[Any]:
    """A file as the customer's phone sees it (what the business sent, or what the customer sent)."""
    kept = await SandboxMedia(_context(request).redis).get(media_id)
    if kept is None:
        raise NotFoundException("no such media (expired?)")
    return Response(kept.data, media_type=kept.mime_type, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
        "Content-Disposition": "inline" if kept.mime_type.startswith(("image/", "audio/", "video/")) else "attachment",
    })  # fmt: skip


@post("/api/inbound", status_code=200, request_max_body_size=INBOUND_BODY_LIMIT)
async def inbound(request: AnyRequest, data: dict[str, Any]) -> dict[str, Any]:
    """A customer writes (or taps a button): deliver it to Switchboard as Meta would.

    `user_id` (a BSUID) with `username` and no `from` is a customer whose number WhatsApp
    withholds; `timestamp` (unix seconds) a message delivered late; `"echo": true` makes it
    the business typing to that customer on its coexistence phone (`smb_message_echoes`).
    """
    wa_id, user_id, name = (
        data.get("from"),
        data.get("user_id"),
        data.get("name") or "Sandbox customer",
    )
    if wa_id is None and user_id is None:
        raise HTTPException(status_code=422, detail="give from (a wa_id) or user_id (a BSUID)")
    if wa_id is not None and (not isinstance(wa_id, str) or not re.fullmatch(r"\d{5,20}", wa_id)):
        raise HTTPException(status_code=422, detail="from must be a phone number in digits (wa_id)")
    if user_id is not None and (not isinstance(user_id, str) or not BSUID.fullmatch(user_id)):
        raise HTTPException(
            status_code=422, detail="user_id must be a BSUID like US.13491208655302741918"
        )
    username = data.get("username")
    if username is not None and (
        not isinstance(username, str) or not re.fullmatch(r"[\w.]{1,35}", username)
    ):
        raise HTTPException(status_code=422, detail="username must be 1-35 letters, digits, _ or .")
    if not isinstance(name, str):
        raise HTTPException(status_code=422, detail="name must be a string")
    timestamp = data.get("timestamp")
    if timestamp is not None and (
        not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0
    ):
        raise HTTPException(status_code=422, detail="timestamp must be unix seconds")
    context_id = data.get("context_id")
    if context_id is not None and not isinstance(context_id, str):
        raise HTTPException(status_code=422, detail="context_id must be a wamid string")
    kind, content = _inbound_message(data)
    context = _context(request)
    phone_number_id = data.get("phone_number_id") or context.settings.whatsapp_phone_number_id
    channel = await _channel(context, str(phone_number_id))
    if channel is None:
        raise NotFoundException(f"no channel with phone_number_id {phone_number_id!r}")
    if kind == "media":
        kind, content = await _keep_inbound_media(context, channel, content)
    wamid = new_wamid()
    if data.get("echo") is True:  # the business typing on its coexistence phone
        webhook = echo_webhook(channel.phone_number_id, wa_id, kind, content, wamid=wamid,
                               timestamp=timestamp, user_id=user_id)  # fmt: skip
    else:
        webhook = customer_message_webhook(
            channel.phone_number_id, wa_id, name, kind, content, wamid=wamid,
            context_id=context_id, user_id=user_id, username=username, timestamp=timestamp,
        )  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        status = await _post_webhook(http, context, webhook, channel.app_secret)
    if status is None:
        raise HTTPException(status_code=502, detail="the webhook endpoint did not answer")
    answer: dict[str, Any] = {"message_id": wamid, "webhook_status": status}
    if isinstance(content.get("id"), str) and kind in MEDIA_TYPES:
        answer["media_id"] = content["id"]  # what the phone page shows the customer's file by
    return answer


@get("/api/messages")
async def sent_messages(
    request: AnyRequest, wa_id: str | None = None, user_id: str | None = None
) -> list[dict[str, Any]]:
    """What the business sent (to one customer — by number or BSUID — or the newest 200)."""
    return await SandboxStore(_context(request).redis).sent_messages(wa_id or user_id or None)


@post("/api/faults", status_code=201)
async def add_fault(request: AnyRequest, data: dict[str, Any]) -> dict[str, Any]:
    """Make the next `count` sends fail with Cloud API error `code` (optionally for one wa_id)."""
    code, count = data.get("code"), data.get("count", 1)
    http_status, retry_after, wa_id = (
        data.get("http_status"),
        data.get("retry_after"),
        data.get("wa_id"),
    )
    delay = data.get("delay_seconds")
    if delay is not None and (not isinstance(delay, int | float) or not 0 < delay <= 60):
        raise HTTPException(status_code=422, detail="delay_seconds must be 0-60")
    if delay is None and (not isinstance(code, int) or isinstance(code, bool)):
        raise HTTPException(status_code=422, detail="code must be a Cloud API error code")
    if not isinstance(count, int) or not 1 <= count <= 10_000:
        raise HTTPException(status_code=422, detail="count must be between 1 and 10000")
    if http_status is not None and (
        not isinstance(http_status, int) or not 400 <= http_status <= 599
    ):
        raise HTTPException(status_code=422, detail="http_status must be 400-599")
    if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
        raise HTTPException(status_code=422, detail="retry_after must be seconds >= 0")
    if wa_id is not None and not isinstance(wa_id, str):
        raise HTTPException(status_code=422, detail="wa_id must be a string")
    fault = {"code": code, "count": count, "retry_after": retry_after, "wa_id": wa_id,
             "http_status": http_status or _HTTP_STATUS.get(code or 0, 400), "delay_seconds": delay}  # fmt: skip
    return await SandboxStore(_context(request).redis).add_fault(fault)


@get("/api/faults")
async def list_faults(request: AnyRequest) -> list[dict[str, Any]]:
    return await SandboxStore(_context(request).redis).faults()


@delete("/api/faults")
async def clear_faults(request: AnyRequest) -> None:
    await SandboxStore(_context(request).redis).clear_faults()


def _templates(context: AppContext) -> SandboxTemplates:
    return SandboxTemplates(context.redis, context.settings.sandbox_template_review_seconds)


async def _account(request: AnyRequest, waba_id: str) -> tuple[list[Channel], Response[Any] | None]:
    """The channels of the Business Account, or the Graph error for a wrong token or account."""
    context = _context(request)
    async with context.sessions() as session:
        channels = await channels_of_business_account(session, waba_id)
    channels = [c for c in channels if is_sandbox_channel(c, context.settings)]
    if not channels:
        message = (f"Unsupported request. Object with ID '{waba_id}' does not exist, cannot be "
                   "loaded due to missing permissions, or does not support this operation.")  # fmt: skip
        return [], _graph(graph_error(100, message, error_subcode=33), 400)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not any(
        hmac.compare_digest(token.encode(), c.access_token.encode()) for c in channels
    ):
        error = graph_error(190)
        error["error"]["message"] = "Invalid OAuth access token - Cannot parse access token"
        return [], _graph(error, 401)
    return channels, None


@get("/graph/{version:str}/{waba_id:str}/message_templates")
async def list_templates(
    request: AnyRequest, version: str, waba_id: str, limit: int = PAGE_DEFAULT,
    after: str | None = None,
) -> Response[Any]:  # fmt: skip
    """Meta's template list: `data` and `paging.cursors.after`, `next` while more remain."""
    _, refused = await _account(request, waba_id)
    if refused is not None:
        return refused
    url = f"{_context(request).settings.public_base_url}/sandbox/graph/{version}/{waba_id}/message_templates"
    try:
        page = await _templates(_context(request)).page(
            waba_id, max(1, min(limit, PAGE_MAX)), after, url
        )
    except ValueError:
        return _graph(graph_error(100, "Invalid cursor: after"), 400)
    return _graph(page, 200)


@post("/graph/{version:str}/{waba_id:str}/message_templates", status_code=200)
async def create_template(request: AnyRequest, version: str, waba_id: str) -> Response[Any]:
    """Meta's create: PENDING at once; APPROVED (or REJECTED, for names starting with
    `reject_`) after SANDBOX_TEMPLATE_REVIEW_SECONDS, announced by a signed webhook."""
    channels, refused = await _account(request, waba_id)
    if refused is not None:
        return refused
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _graph(graph_error(100, "The request body is not valid JSON."), 400)
    context = _context(request)
    store = _templates(context)
    answer, status = await store.create(waba_id, body)
    if status == 200:
        _start(_announce_review(context, store, channels[0], waba_id, str(answer["id"])))
    return _graph(answer, status)


@post("/graph/{version:str}/{template_id:int}", status_code=200)
async def edit_template(request: AnyRequest, version: str, template_id: int) -> Response[Any]:
    """Meta's template edit: the new content goes back to review."""
    context = _context(request)
    store = _templates(context)
    existing = await store.get(str(template_id))
    waba_id = str(existing.get("waba_id")) if existing else ""
    channels, refused = await _account(request, waba_id)
    if refused is not None:
        return refused
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _graph(graph_error(100, "The request body is not valid JSON."), 400)
    answer, status = await store.edit(str(template_id), body)
    if status == 200:
        _start(_announce_review(context, store, channels[0], waba_id, str(template_id)))
    return _graph(answer, status)


async def _announce_review(
    context: AppContext, store: SandboxTemplates, channel: Channel, waba_id: str, template_id: str
) -> None:
    try:
        decided = await review_later(
            store, template_id, context.settings.sandbox_template_review_seconds
        )
        if decided is None:
            return
        async with httpx.AsyncClient(timeout=10) as http:
            await _post_webhook(
                http, context, status_webhook_body(waba_id, decided), channel.app_secret
            )
    except Exception:
        log.exception("sandbox template review failed", template_id=template_id)


@post("/api/templates/{template_id:int}/status", status_code=200)
async def set_template_status(
    request: AnyRequest, template_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Play Meta's quality control: pause, disable, flag or re-approve a template, with the
    signed `message_template_status_update` webhook Meta would send."""
    status = data.get("status")
    if status not in ("APPROVED", "PAUSED", "DISABLED", "REJECTED"):
        raise HTTPException(
            status_code=422, detail="status must be APPROVED, PAUSED, DISABLED or REJECTED"
        )
    context = _context(request)
    template = await _templates(context).set_status(str(template_id), status)
    if template is None:
        raise NotFoundException("no such sandbox template")
    async with context.sessions() as session:
        channels = await channels_of_business_account(session, str(template["waba_id"]))
    if channels:
        async with httpx.AsyncClient(timeout=10) as http:
            await _post_webhook(http, context, status_webhook_body(str(template["waba_id"]), template),
                                channels[0].app_secret)  # fmt: skip
    return template


@get("/", include_in_schema=False)
async def phone() -> Response[bytes]:
    return Response(PHONE_PAGE.read_bytes(), media_type="text/html; charset=utf-8")


@get("/phone.js", include_in_schema=False)
async def phone_script() -> Response[bytes]:
    """The phone's script and style are files, not inline, so the page runs under a CSP that
    allows no inline script at all."""
    return Response(PHONE_SCRIPT.read_bytes(), media_type="text/javascript; charset=utf-8")


@get("/phone.css", include_in_schema=False)
async def phone_style() -> Response[bytes]:
    return Response(PHONE_STYLE.read_bytes(), media_type="text/css; charset=utf-8")


sandbox_router = Router(
    path="/sandbox", opt={"exclude_from_auth": True}, tags=["sandbox"],
    guards=[refuse_cross_site_posts],
    route_handlers=[graph_send, inbound, sent_messages, add_fault, list_faults, clear_faults, phone,
                    phone_script, phone_style,
                    list_templates, create_template, edit_template, set_template_status,
                    graph_media_object, media_download, graph_upload, phone_media],
)  # fmt: skip
