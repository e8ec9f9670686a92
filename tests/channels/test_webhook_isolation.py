"""One odd item never costs its neighbours: the parser keeps every readable message of a batch.

Each case the replay of real bodies reproduced as a 500 is here, then a property test throws
arbitrary values into real fixture messages (and arbitrary bytes at the parser): the only error is
`WebhookError`, the good messages always come out intact, and every record can be stored.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.channels import safe_json
from backend.channels.base import WebhookBatch, WebhookError
from backend.channels.whatsapp.webhook import parse_webhook
from tests.channels.test_webhook_parsing import CASES

GOOD = 9


def _good(n: int) -> dict[str, Any]:
    return {"from": f"4915100000{n:03d}", "id": f"wamid.good.{n}", "timestamp": "1700000000",
            "type": "text", "text": {"body": f"good message {n}"}}  # fmt: skip


def _body(odd: list[Any], contacts: Any = None) -> dict[str, Any]:
    """Nine good text messages with the odd ones among them, in one change."""
    messages: list[Any] = [_good(n) for n in range(GOOD)]
    for index, item in enumerate(odd):
        messages.insert(1 + 2 * index, item)
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "sandbox"},
        "contacts": contacts if contacts is not None else
        [{"profile": {"name": f"Good {n}"}, "wa_id": f"4915100000{n:03d}"} for n in range(GOOD)],
        "messages": messages,
    }  # fmt: skip
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "waba", "changes": [{"field": "messages", "value": value}]}]}  # fmt: skip


def _raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def assert_storable(batch: WebhookBatch) -> None:
    """What storage needs: strings that encode to UTF-8 without NUL, JSON payloads, short ids."""
    for message in batch.messages:
        for text in (message.text, message.wa_id, message.user_id, message.contact_name,
                     message.username, message.provider_message_id, message.reply_to_provider_id):  # fmt: skip
            assert text is None or isinstance(text, str)
            if text is not None:
                text.encode("utf-8")
                assert "\x00" not in text
        assert len(message.provider_message_id) <= 128 and len(message.type) <= 24
        encoded = json.dumps(message.payload, allow_nan=False)
        encoded.encode("utf-8")
        assert "\\u0000" not in encoded
        assert message.wa_id or message.user_id
    for status in batch.statuses:
        assert len(status.status) <= 16 and len(status.provider_message_id) <= 128
    for item in batch.rejected:
        json.dumps(item.raw, allow_nan=False).encode("utf-8")


def assert_good_ones_survive(batch: WebhookBatch) -> None:
    found = {m.provider_message_id: m for m in batch.messages}
    for n in range(GOOD):
        message = found[f"wamid.good.{n}"]
        assert (message.type, message.text, message.wa_id) == ("text", f"good message {n}", f"4915100000{n:03d}")  # fmt: skip
        assert message.unreadable is None
    assert_storable(batch)


def _odd(**fields: Any) -> dict[str, Any]:
    return {"from": "4915199999999", "id": "wamid.odd", "timestamp": "1700000001", **fields}


@pytest.mark.parametrize(
    ("odd", "reason"),
    [
        (_odd(type="interactive", interactive={"type": "button_reply", "button_reply": {"id": "b1", "title": {"x": 1}}}), "title"),
        (_odd(type="interactive", interactive={"type": "nfm_reply", "nfm_reply": {"body": ["Sent"], "name": "flow"}}), "body"),
        (_odd(type="contacts", contacts=[{"name": {"formatted_name": "A"}, "phones": 5}]), "phones"),
        (_odd(type="order", order={"catalog_id": "c", "product_items": 3}), "product_items"),
        (_odd(type="text", text={"body": 42}), "body"),
        (_odd(type="location", location={"latitude": {"deg": 1}, "longitude": 2}), "latitude"),
        (_odd(type="image", image={"id": "m1", "caption": ["c"]}), "caption"),
    ],
)  # fmt: skip
def test_a_wrong_typed_field_makes_one_unsupported_message_and_keeps_the_rest(
    odd: dict[str, Any], reason: str
) -> None:
    batch = parse_webhook(_raw(_body([odd])))
    assert_good_ones_survive(batch)
    (kept,) = [m for m in batch.messages if m.provider_message_id == "wamid.odd"]
    assert (kept.type, kept.text, kept.wa_id) == ("unsupported", None, "4915199999999")
    assert kept.unreadable is not None and reason in kept.unreadable
    assert kept.payload["raw"] == odd  # the raw object, as it came
    assert kept.payload["original_type"] == odd["type"]
    assert batch.unreadable == 1


def test_contacts_that_are_a_number_keep_the_batch() -> None:
    batch = parse_webhook(_raw(_body([_odd(type="contacts", contacts=7)], contacts=3)))
    assert {m.provider_message_id for m in batch.messages} >= {
        f"wamid.good.{n}" for n in range(GOOD)
    }
    (odd,) = [m for m in batch.messages if m.provider_message_id == "wamid.odd"]
    assert odd.type == "unsupported" and odd.payload["raw"]["contacts"] == 7
    assert odd.unreadable == "contacts is missing or not an object"
    assert all(m.contact_name is None for m in batch.messages)


def test_a_lone_surrogate_and_nul_become_replacement_characters() -> None:
    raw = _raw(_body([_odd(type="text", text={"body": "PLACEHOLDER"})]))
    raw = raw.replace(b"PLACEHOLDER", b"half \\ud800 a pair \\ud83d\\ude00 nul \\u0000 end")
    batch = parse_webhook(raw)
    assert_good_ones_survive(batch)
    (odd,) = [m for m in batch.messages if m.provider_message_id == "wamid.odd"]
    assert odd.type == "text" and odd.text == "half \ufffd a pair 😀 nul \ufffd end"


def test_invalid_utf8_bytes_inside_a_string_cost_nothing_else() -> None:
    raw = _raw(_body([_odd(type="text", text={"body": "PLACEHOLDER"})])).replace(
        b"PLACEHOLDER", b"a\xff\xfeb"
    )
    (odd,) = [m for m in parse_webhook(raw).messages if m.provider_message_id == "wamid.odd"]
    assert odd.text == "a\ufffd\ufffdb"


@pytest.mark.parametrize("depth", [60, 5_000, 200_000])
def test_very_deep_nesting_is_cut_off_not_a_crash(depth: int) -> None:
    deep = '{"a":' * depth + "1" + "}" * depth
    raw = _raw(_body([_odd(type="text", text={"body": "PLACEHOLDER"})])).replace(
        b'"PLACEHOLDER"', deep.encode()
    )
    batch = parse_webhook(raw)
    assert_good_ones_survive(batch)
    (odd,) = [m for m in batch.messages if m.provider_message_id == "wamid.odd"]
    assert odd.type == "unsupported" and "body" in (odd.unreadable or "")
    assert safe_json.TOO_DEEP in json.dumps(odd.payload)


def test_a_body_that_is_only_deep_nesting_is_a_400_not_a_crash() -> None:
    with pytest.raises(WebhookError):
        parse_webhook(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(WebhookError, match="invalid JSON"):
        parse_webhook(b"[" * 100_000)


def test_numbers_json_cannot_carry_again_are_kept_as_text() -> None:
    raw = _raw(_body([_odd(type="text", text={"body": "x", "n": 0})])).replace(
        b'"n": 0', b'"n": ' + b"9" * 5000 + b', "f": 1e999, "g": NaN'
    )
    (odd,) = [m for m in parse_webhook(raw).messages if m.provider_message_id == "wamid.odd"]
    assert (
        odd.payload["n"] == "9" * 5000 and odd.payload["f"] == "1e999" and odd.payload["g"] == "NaN"
    )


def test_envelope_gaps_keep_the_message_under_its_customer() -> None:
    without_id = {k: v for k, v in _odd(type="text", text={"body": "no id"}).items() if k != "id"}
    without_type = {k: v for k, v in _odd(text={"body": "no type"}).items() if k != "id"} | {
        "id": "wamid.t"
    }
    bad_time = _odd(type="text", text={"body": "late"}, timestamp="yesterday") | {"id": "wamid.ts"}
    batch = parse_webhook(_raw(_body([without_id, without_type, bad_time])))
    assert_good_ones_survive(batch)
    by_text = {m.text: m for m in batch.messages}
    assert by_text["no id"].provider_message_id.startswith("unreadable.")
    # The same body again yields the same id: Meta's retry of it is a duplicate.
    again = {m.text: m for m in parse_webhook(_raw(_body([without_id]))).messages}
    assert again["no id"].provider_message_id == by_text["no id"].provider_message_id
    (untyped,) = [m for m in batch.messages if m.provider_message_id == "wamid.t"]
    assert untyped.type == "unsupported" and untyped.payload["raw"] == without_type
    assert by_text["late"].type == "text"  # the time it was received stands in


def test_items_naming_no_customer_are_rejected_and_kept() -> None:
    nobody = {"id": "wamid.nobody", "type": "text", "text": {"body": "who?"}}
    body = _body([nobody, "not an object", 17])
    value = body["entry"][0]["changes"][0]["value"]
    value["statuses"] = [
        {"id": "wamid.s", "status": "read", "timestamp": "1"},
        {"status": "sent"},
        [],
    ]
    body["entry"].append({"id": "broken"})
    body["entry"][0]["changes"].append({"field": "messages", "value": {"messages": [_good(99)]}})
    batch = parse_webhook(_raw(body))
    assert_good_ones_survive(batch)
    assert [(r.kind, r.raw) for r in batch.rejected] == [
        ("message", nobody), ("message", "not an object"), ("message", 17),
        ("status", {"status": "sent"}), ("status", []),
        ("change", {"messages": [_good(99)]}), ("entry", {"id": "broken"}),
    ]  # fmt: skip
    assert [s.provider_message_id for s in batch.statuses] == ["wamid.s"]
    assert batch.unreadable == 7


def test_statuses_with_odd_fields_keep_what_can_be_read() -> None:
    body = copy.deepcopy(CASES["message_status/failed"])
    status = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["errors"] = [{"code": "131026", "title": {"x": 1}}]
    status["recipient_id"] = 5
    (update,) = parse_webhook(_raw(body)).statuses
    assert (update.status, update.error_code, update.error_title, update.recipient_id) == (
        "failed",
        None,
        None,
        None,
    )


# --- property tests --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
FIXTURE_MESSAGES = [
    body["entry"][0]["changes"][0]["value"]["messages"][0]
    for name, body in sorted(CASES.items())
    if "messages" in body["entry"][0]["changes"][0]["value"]
]
KEYS = st.sampled_from(["id", "from", "from_user_id", "type", "timestamp", "context", "referral",
                        "text", "interactive", "button", "image", "contacts", "order", "location",
                        "reaction", "system", "errors", "body", "title", "button_reply",
                        "list_reply", "nfm_reply", "phones", "product_items", "name", "caption"])  # fmt: skip


@st.composite
def mutated_message(draw: st.DrawFn) -> Any:
    """A real fixture message with fields (at any depth) replaced by arbitrary values."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    message = copy.deepcopy(draw(st.sampled_from(FIXTURE_MESSAGES)))
    for _ in range(draw(st.integers(1, 4))):
        node = message
        while isinstance(node, dict) and node and draw(st.booleans()):
            child = node[draw(st.sampled_from(sorted(node)))]
            if not isinstance(child, dict):
                break
            node = child
        if isinstance(node, dict):
            node[draw(KEYS)] = draw(json_values)
    return message


ESCAPES = st.sampled_from([b"\\ud800", b"\\udfff", b"\\u0000", b"\xff", b"\xed\xa0\x80"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    odd=st.lists(mutated_message(), min_size=1, max_size=4), escape=ESCAPES, contacts=json_values
)
def test_fuzz_odd_messages_never_cost_the_good_ones(
    odd: list[Any], escape: bytes, contacts: Any
) -> None:
    body = _body([*odd, _odd(type="text", text={"body": "ESCAPE"})])
    if not isinstance(contacts, list):
        body["entry"][0]["changes"][0]["value"]["contacts"] = contacts
    batch = parse_webhook(_raw(body).replace(b"ESCAPE", escape))
    found = {m.provider_message_id: m for m in batch.messages}
    for n in range(GOOD):
        assert found[f"wamid.good.{n}"].text == f"good message {n}"
    assert_storable(batch)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values))
def test_fuzz_any_bytes_are_a_batch_or_a_webhook_error(raw: bytes) -> None:
    try:
        batch = parse_webhook(raw)
    except WebhookError:
        return
    assert_storable(batch)


@settings(max_examples=200, deadline=None)
@given(
    body=st.fixed_dictionaries(
        {"object": st.just("whatsapp_business_account"), "entry": json_values}
    )
)
def test_fuzz_any_entries_are_a_batch_or_a_webhook_error(body: dict[str, Any]) -> None:
    try:
        batch = parse_webhook(_raw(body))
    except WebhookError:
        return
    assert_storable(batch)
