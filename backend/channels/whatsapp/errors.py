"""Which Cloud API failures are worth another try, and when.

Meta asks integrators to decide by the Graph `error.code`, not by HTTP status: the same 400 can mean
"slow down" (130429) or "never" (131047). Codes not listed as retryable are permanent, so an
unknown code fails visibly instead of being retried for hours. The sandbox reuses `CATALOG` so its
injected faults carry the real titles and details.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from backend.channels.base import SendError
from backend.db.types import utcnow

# code: (title, details) as the Cloud API words them.
CATALOG: dict[int, tuple[str, str]] = {
    1: ("API Unknown", "Invalid request or possible server error."),
    2: ("API Service", "Temporary due to downtime or due to being overloaded."),
    4: ("API Too Many Calls", "The app has reached its API call rate limit."),
    100: ("Invalid parameter", "The request included one or more unsupported or misspelled parameters."),
    190: ("Access token has expired", "Invalid OAuth access token - Cannot parse access token"),
    368: ("Temporarily blocked for policies violations", "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy."),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ("Rate limit hit", "Message failed to send because there were too many messages sent from this phone number in a short period of time"),
    130472: ("User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment"),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131005: ("Access denied", "Permission is either not granted or has been removed."),
    131008: ("Required parameter is missing", "The request is missing a required parameter."),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131021: ("Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: ("Message Undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number, or the recipient has not accepted the new Terms of Service."),
    131031: ("Account has been locked", "The WhatsApp Business Account is restricted or disabled."),
    131047: ("Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."),
    131048: ("Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number."),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
    131051: ("Unsupported message type", "Unsupported message type."),
    131052: ("Media download error", "Unable to download the media sent by the user."),
    131053: ("Media upload error", "Unable to upload the media used in the message."),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."),
    131057: ("Account in maintenance mode", "Business Account is in maintenance mode"),
    131062: ("Business-scoped user ID recipients not supported", "This message (e.g. an authentication template) cannot be sent to a business-scoped user ID; it needs the customer's phone number."),
    132000: ("Number of parameters does not match the expected number of params", "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template."),
    132001: ("Template does not exist", "The template does not exist in the specified language or the template has not been approved."),
    132005: ("Template Hydrated Text Too Long", "Translated text is too long."),
    132007: ("Template Format Character Policy Violated", "Template content violates a WhatsApp policy."),
    132012: ("Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly."),
    132015: ("Template is Paused", "Template is paused due to low quality so it cannot be sent in a template message."),
    132016: ("Template is Disabled", "Template has been paused too many times due to low quality and is now permanently disabled."),
    133004: ("Server Temporarily Unavailable", "Server is temporarily unavailable."),
    133010: ("Phone number Not Registered", "The phone number is not registered on the WhatsApp Business Platform."),
}  # fmt: skip

RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131057, 133004})
# Retryable, but not before this many seconds: the limit is per customer (131056, ~6 s between
# messages to one user) or a daily engagement cap (131049).
RETRY_NOT_BEFORE = {131056: 6.0, 131049: 24 * 3600.0}


def classify(
    http_status: int, body: dict[str, Any] | None, retry_after_header: str | None
) -> SendError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    title = _title(error) or f"HTTP {http_status}"
    retry_after = _retry_after(retry_after_header)
    if code in RETRY_NOT_BEFORE:
        floor = RETRY_NOT_BEFORE[code]
        retryable, retry_after = True, max(retry_after or 0.0, floor)
    elif code is not None:
        retryable = code in RETRYABLE_CODES or error.get("is_transient") is True
    else:
        retryable = http_status == 429 or http_status >= 500
    details = (
        {"http_status": http_status, "error": error} if error else {"http_status": http_status}
    )
    return SendError(code, title, retryable=retryable, retry_after=retry_after, details=details)


def classify_transport(exc: httpx.TransportError) -> SendError:
    """The request did not complete. After a read timeout the message may still have been sent;
    the Cloud API has no idempotency key, so that ambiguity is recorded for whoever retries."""
    maybe_sent = isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.RemoteProtocolError)
    title = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return SendError(None, title, retryable=True, details={"maybe_sent": maybe_sent})


def _title(error: dict[str, Any]) -> str | None:
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    # The short title first: it is what the inbox shows next to the code; details are long prose.
    for candidate in (error.get("title"), error.get("message"), details):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _retry_after(header: str | None) -> float | None:
    """Seconds, or an HTTP date; anything unreadable is ignored rather than trusted."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(header) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None
