"""X-Hub-Signature-256 over the raw bytes, as Meta computes it."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from backend.channels.whatsapp.signature import sign, verify

SECRET = "app-secret-\u00e9"
# Meta escapes non-ASCII in webhook bodies: "ä" arrives as the six bytes \u00e4.
RAW = b'{"object":"whatsapp_business_account","entry":[{"text":{"body":"Gr\\u00fc\\u00dfe, J\\u00e4ger \\ud83d\\ude00"}}]}'


def expected(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_sign_is_hmac_sha256_of_the_raw_bytes() -> None:
    assert sign(RAW, SECRET) == expected(RAW, SECRET)
    assert verify(RAW, expected(RAW, SECRET), SECRET)


def test_reserializing_the_json_breaks_the_signature() -> None:
    """Why the webhook must verify `request.body()`, never a re-dumped parsed object."""
    reserialized = json.dumps(json.loads(RAW), ensure_ascii=False, separators=(",", ":")).encode()
    assert "Grüße, Jäger" in reserialized.decode()
    assert not verify(reserialized, sign(RAW, SECRET), SECRET)
    assert not verify(json.dumps(json.loads(RAW)).encode(), sign(RAW, SECRET), SECRET)


def test_tampered_body_and_wrong_secret_fail() -> None:
    header = sign(RAW, SECRET)
    assert not verify(RAW.replace(b"J", b"K"), header, SECRET)
    assert not verify(RAW, header, "another-secret")
    assert not verify(RAW, header, "")


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=" + hashlib.sha1(RAW).hexdigest(),  # noqa: S324 - a wrong header
     expected(RAW, SECRET).removeprefix("sha256="), "sha256=zz", "sha256=" + "0" * 64,
     expected(RAW, SECRET)[:-2], expected(RAW, SECRET) + "00", "sha256=\u00e4\u00e4"],
)  # fmt: skip
def test_missing_or_malformed_headers_fail(header: str | None) -> None:
    assert not verify(RAW, header, SECRET)


def test_header_case_and_surrounding_space_are_tolerated() -> None:
    header = expected(RAW, SECRET)
    assert verify(RAW, f" {header.upper()} ", SECRET)
