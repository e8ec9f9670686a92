"""Which Cloud API failures are retried: decided by Graph error code, then by HTTP status."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from backend.channels.whatsapp.errors import classify, classify_transport
from backend.db.types import utcnow


def graph(code: int, message: str = "msg", details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "Axyz"}  # fmt: skip
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


@pytest.mark.parametrize(
    ("http_status", "code", "retryable", "retry_after"),
    [
        (400, 130429, True, None),  # throughput limit
        (400, 131000, True, None),
        (500, 131000, True, None),
        (503, 131016, True, None),
        (400, 131057, True, None),
        (400, 4, True, None),
        (400, 80007, True, None),
        (500, 2, True, None),
        (500, 1, True, None),
        (400, 131056, True, 6.0),  # pair rate limit: not before 6 s
        (400, 131049, True, 86400.0),  # ecosystem engagement: tomorrow
        (400, 131047, False, None),  # 24-hour window closed
        (400, 131026, False, None),
        (400, 100, False, None),
        (401, 190, False, None),
        (400, 131051, False, None),
        (400, 131052, False, None),
        (400, 131053, False, None),
        (400, 131009, False, None),
        (400, 132000, False, None),
        (404, 132001, False, None),
        (400, 132015, False, None),
        (400, 368, False, None),
        (400, 131048, False, None),
        (500, 100, False, None),  # the code wins over a 5xx
        (429, 131047, False, None),  # ... and over a 429
        (400, 999999, False, None),  # unknown codes fail visibly
    ],
)
def test_classification_by_graph_code(
    http_status: int, code: int, retryable: bool, retry_after: float | None
) -> None:
    error = classify(http_status, graph(code), None)
    assert (error.code, error.retryable, error.retry_after) == (code, retryable, retry_after)
    assert error.details["http_status"] == http_status
    assert error.details["error"]["code"] == code


@pytest.mark.parametrize(
    ("http_status", "retryable"), [(429, True), (500, True), (502, True), (503, True), (400, False), (404, False)]
)  # fmt: skip
def test_without_a_graph_code_the_http_status_decides(http_status: int, retryable: bool) -> None:
    for body in (None, {}, {"error": "not an object"}, {"error": {"message": "no code"}}):
        error = classify(http_status, body, None)
        assert (error.code, error.retryable) == (None, retryable)


def test_transient_flag_makes_an_unknown_code_retryable() -> None:
    body = graph(12345)
    body["error"]["is_transient"] = True
    assert classify(400, body, None).retryable


def test_retry_after_header_is_honoured() -> None:
    assert classify(429, None, "12").retry_after == 12.0
    assert classify(400, graph(130429), "3.5").retry_after == 3.5
    assert classify(400, graph(131056), "30").retry_after == 30.0  # longer than the floor
    assert classify(400, graph(131056), "1").retry_after == 6.0  # never shorter than it
    when = format_datetime(utcnow() + timedelta(seconds=90), usegmt=True)
    seconds = classify(503, None, when).retry_after
    assert seconds is not None and 80 < seconds <= 90
    assert classify(503, None, "soon").retry_after is None
    assert classify(503, None, "-5").retry_after == 0.0


def test_title_prefers_title_then_message_then_details() -> None:
    assert (
        classify(
            400, graph(131047, "(#131047) Re-engagement message", "More than 24 hours"), None
        ).title
        == "(#131047) Re-engagement message"
    )
    assert (
        classify(
            400, {"error": {"code": 131047, "error_data": {"details": "More than 24 hours"}}}, None
        ).title
        == "More than 24 hours"
    )
    assert (
        classify(400, graph(131047, "(#131047) Re-engagement message"), None).title
        == "(#131047) Re-engagement message"
    )
    assert (
        classify(400, {"error": {"code": 131047, "title": "Re-engagement message"}}, None).title
        == "Re-engagement message"
    )
    assert classify(502, None, None).title == "HTTP 502"


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (httpx.ConnectTimeout("connect timed out"), False),
        (httpx.ConnectError("connection refused"), False),
        (httpx.PoolTimeout("pool"), False),
        (httpx.ReadTimeout("read timed out"), True),
        (httpx.RemoteProtocolError("server disconnected"), True),
    ],
)
def test_transport_errors_are_retryable_without_a_code(
    exc: httpx.TransportError, maybe_sent: bool
) -> None:
    error = classify_transport(exc)
    assert (error.code, error.retryable, error.details["maybe_sent"]) == (None, True, maybe_sent)
    assert type(exc).__name__ in error.title
