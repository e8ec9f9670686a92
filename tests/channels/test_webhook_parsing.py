"""Cloud API webhook parsing against real bodies: every case, every type, whole batches, bad input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend.channels.base import InboundMessage, StatusUpdate, WebhookError
from backend.channels.whatsapp.webhook import parse_webhook

FIXTURES = Path(__file__).parent / "fixtures" / "pywa"
CASES = {
    f"{path.stem}/{name}": body
    for path in sorted(FIXTURES.glob("*.json"))
    for name, body in json.loads(path.read_text()).items()
}
# Template status and quality updates are for the business manager, not the inbox: no records.
NO_RECORDS = {"template_status_update/approved", "template_status_update/rejected",
              "template_quality_update/yellow"}  # fmt: skip


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def only_message(case: str) -> Any:
    batch = parse_webhook(raw(CASES[case]))
    assert len(batch.messages) == 1 and not batch.statuses
    return batch.messages[0]


def test_every_fixture_case_is_known() -> None:
    assert len(CASES) == 40


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_fixture_case_parses_or_is_deliberately_empty(case: str) -> None:
    batch = parse_webhook(raw(CASES[case]))
    if case in NO_RECORDS:
        assert not batch.messages and not batch.statuses
        return
    assert len(batch.messages) + len(batch.statuses) == 1
    for record in [*batch.messages, *batch.statuses]:
        assert isinstance(record, InboundMessage | StatusUpdate)
        assert record.timestamp.tzinfo is UTC
        assert record.phone_number_id in batch.phone_number_ids
    for message in batch.messages:
        assert message.provider_message_id.startswith("wamid.")
        json.dumps(message.payload)  # stored as JSON


def test_text() -> None:
    message = only_message("message/text")
    assert (message.type, message.text, message.wa_id) == ("text", "Body Text", "972987654321")
    assert message.contact_name == "Test Name"
    assert message.phone_number_id == "1122334455667"
    assert message.payload == {"body": "Body Text"}
    assert message.timestamp == datetime.fromtimestamp(1697043223, UTC)
    assert message.reply_to_provider_id is None


def test_interactive_button_reply_keeps_the_button_id() -> None:
    message = only_message("callback_button/button")
    assert (message.type, message.text) == ("interactive", "title")
    assert message.payload["id"] == "callback_data"
    assert message.payload["button_reply"] == {"id": "callback_data", "title": "title"}
    assert message.reply_to_provider_id == "wamid.xyzxyz"


def test_interactive_list_reply_keeps_the_row_id_and_description() -> None:
    message = only_message("callback_selection/description")
    assert (message.type, message.text, message.payload["id"]) == (
        "interactive",
        "title",
        "callback_data",
    )
    assert message.payload["list_reply"]["description"] == "description"


def test_template_quick_reply_button() -> None:
    message = only_message("callback_button/quick_reply")
    assert (message.type, message.text) == ("button", "title")
    assert message.payload["payload"] == "callback_data"
    assert message.reply_to_provider_id == "wamid.xyzxyz=="
    assert only_message("callback_button/quick_reply_without_context").reply_to_provider_id is None


@pytest.mark.parametrize(
    ("case", "kind", "text", "kept"),
    [
        ("message/image", "image", None, {"id": "65463453", "mime_type": "image/jpeg", "sha256": "4654+8g="}),
        ("message/media_with_url", "image", None, {"id": "65463453"}),
        ("message/video", "video", "caption", {"id": "765756756", "mime_type": "video/mp4", "caption": "caption"}),
        ("message/document", "document", "caption", {"filename": "filename.pdf", "mime_type": "application/pdf"}),
        ("message/audio", "audio", None, {"voice": False, "mime_type": "audio/ogg; codecs=opus"}),
        ("message/voice", "audio", None, {"voice": True}),
        ("message/static_sticker", "sticker", None, {"animated": False, "mime_type": "image/webp"}),
        ("message/animated_sticker", "sticker", None, {"animated": True}),
    ],
)  # fmt: skip
def test_media(case: str, kind: str, text: str | None, kept: dict[str, Any]) -> None:
    message = only_message(case)
    assert (message.type, message.text) == (kind, text)
    assert kept.items() <= message.payload.items()
    assert "sha256" in message.payload and "id" in message.payload


def test_location_is_readable_and_keeps_coordinates() -> None:
    chosen = only_message("message/chosen_location")
    assert chosen.type == "location"
    assert (
        chosen.text is not None and "Facebook HQ" in chosen.text and "1 Hacker Way" in chosen.text
    )
    assert chosen.payload["latitude"] == 37.4611978 and chosen.payload["longitude"] == -122.2164385
    current = only_message("message/current_location")
    assert current.text is not None and "12.25089" in current.text


def test_reaction_and_its_removal() -> None:
    reaction = only_message("message/reaction")
    assert (reaction.type, reaction.text) == ("reaction", "😮")
    assert reaction.payload["message_id"] == "wamid.yzxyzx="
    for case in ("message/unreaction_empty", "message/unreaction_no_emoji"):
        removed = only_message(case)
        assert (removed.type, removed.text) == ("reaction", None)


def test_reply_context_is_linked_and_kept() -> None:
    message = only_message("message/reply")
    assert message.reply_to_provider_id == "wamid.xyzxyz=="
    assert message.payload["context"] == {"from": "972123456789", "id": "wamid.xyzxyz=="}
    forwarded = only_message("message/forwarded")
    assert forwarded.reply_to_provider_id is None and forwarded.payload["context"]["forwarded"]


def test_unsupported_keeps_the_errors() -> None:
    message = only_message("message/unsupported")
    assert (message.type, message.text) == ("unsupported", None)
    assert message.payload["errors"][0]["code"] == 131051
    assert only_message("message/unsupported_with_type").payload["unsupported"] == {"type": "pool"}


def test_interactive_without_its_object_is_unsupported_with_the_change_errors() -> None:
    message = only_message("message/interactive_message_with_err")
    assert message.type == "unsupported"
    assert message.payload["original_type"] == "interactive"
    assert message.payload["errors"][0]["code"] == 131000
    assert message.reply_to_provider_id == "wamid.gvwegfretge=="


def test_contacts_order_system_and_referral() -> None:
    contacts = only_message("message/contacts")
    assert contacts.type == "contacts" and "Chandler Bing" in (contacts.text or "")
    assert len(contacts.payload["contacts"]) == 3
    order = only_message("message/order")
    assert order.type == "order" and len(order.payload["product_items"]) == 3
    system = only_message("system/phone_number_change")
    assert system.type == "system" and "changed from" in (system.text or "")
    referral = only_message("message/referral")
    assert referral.text == "BODY" and referral.payload["referral"]["source_id"] == "ADID"


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "played"])
def test_statuses(status: str) -> None:
    batch = parse_webhook(raw(CASES[f"message_status/{status}"]))
    (update,) = batch.statuses
    assert (update.status, update.provider_message_id) == (status, "wamid.xyzxyz")
    assert update.recipient_id == "972987654321"
    assert update.error_code is None and update.error_title is None


def test_failed_status_carries_the_error() -> None:
    (update,) = parse_webhook(raw(CASES["message_status/failed"])).statuses
    assert update.status == "failed"
    assert (update.error_code, update.error_title) == (
        130472,
        "User's number is part of an experiment",
    )
    assert update.timestamp == datetime.fromtimestamp(1689380458, UTC)


def test_failed_status_title_falls_back_to_message() -> None:
    body = copy.deepcopy(CASES["message_status/failed"])
    error = body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    del error["title"]
    error["message"] = "Only a message"
    assert parse_webhook(raw(body)).statuses[0].error_title == "Only a message"


def test_a_batch_of_entries_changes_messages_and_statuses_all_comes_out() -> None:
    text = CASES["message/text"]["entry"][0]["changes"][0]["value"]
    status = CASES["message_status/delivered"]["entry"][0]["changes"][0]["value"]
    template = CASES["template_status_update/approved"]["entry"][0]["changes"][0]
    first = copy.deepcopy(text)
    first["contacts"].append({"profile": {"name": "Other"}, "wa_id": "4915000000001"})
    first["messages"] = [
        {**first["messages"][0], "id": "wamid.a"},
        {**first["messages"][0], "id": "wamid.b", "from": "4915000000001", "text": {"body": "two"}},
    ]
    first["statuses"] = [{**status["statuses"][0], "id": "wamid.s1"}]
    second = copy.deepcopy(text)
    second["metadata"] = {"display_phone_number": "15550001111", "phone_number_id": "222"}
    second["messages"][0]["id"] = "wamid.c"
    third = copy.deepcopy(status)
    third["statuses"] = [{**status["statuses"][0], "id": f"wamid.s{n}", "status": s}
                         for n, s in ((2, "read"), (3, "sent"))]  # fmt: skip
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "messages", "value": first}, template]},
            {"id": "2", "changes": [{"field": "messages", "value": second},
                                    {"field": "messages", "value": third}]},
        ],
    }  # fmt: skip
    batch = parse_webhook(raw(body))
    assert [m.provider_message_id for m in batch.messages] == ["wamid.a", "wamid.b", "wamid.c"]
    assert [(m.wa_id, m.contact_name) for m in batch.messages[:2]] == [
        ("972987654321", "Test Name"), ("4915000000001", "Other"),
    ]  # fmt: skip
    assert [(s.provider_message_id, s.status) for s in batch.statuses] == [
        ("wamid.s1", "delivered"), ("wamid.s2", "read"), ("wamid.s3", "sent"),
    ]  # fmt: skip
    assert batch.phone_number_ids == {"1122334455667", "222"}
    assert batch.messages[2].phone_number_id == "222"


def _text_case() -> dict[str, Any]:
    return copy.deepcopy(CASES["message/text"])


def _without(path: tuple[Any, ...]) -> bytes:
    body = _text_case()
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return raw(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (raw(CASES["message/text"])[:-7], "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (raw({**_text_case(), "object": "page"}), "object"),
        (_without(("object",)), "object"),
        (_without(("entry",)), "entry"),
        (raw({**_text_case(), "entry": {}}), "entry"),
        (raw({**_text_case(), "entry": []}), "entry"),
        (_without(("entry", 0, "changes")), "changes"),
        (_without(("entry", 0, "changes", 0, "value")), "value"),
        (_without(("entry", 0, "changes", 0, "value", "metadata")), "phone_number_id"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_webhooks_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookError, match=reason):
        parse_webhook(body)


def test_messages_that_is_not_a_list_is_refused() -> None:
    body = _text_case()
    body["entry"][0]["changes"][0]["value"]["messages"] = {"id": "wamid.x"}
    with pytest.raises(WebhookError, match="messages"):
        parse_webhook(raw(body))


def test_unknown_message_types_are_kept_as_unsupported() -> None:
    body = _text_case()
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "hologram"
    message["hologram"] = {"depth": 3}
    (parsed,) = parse_webhook(raw(body)).messages
    assert parsed.type == "unsupported"
    assert parsed.payload == {"original_type": "hologram", "hologram": {"depth": 3}}


def _change(field: str, value: dict[str, Any]) -> bytes:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
             **value}  # fmt: skip
    return raw({"object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]})  # fmt: skip


def test_state_sync_contacts_are_read_and_odd_ones_set_aside() -> None:
    batch = parse_webhook(_change("smb_app_state_sync", {"state_sync": [
        {"type": "contact", "action": "add", "metadata": {"timestamp": "1750269342"},
         "contact": {"full_name": "Carla Gomez", "first_name": "Carla", "phone_number": "+1 650-555-1234"}},
        {"type": "contact", "action": "remove", "metadata": [],
         "contact": {"first_name": "Dan", "phone_number": "16505550000"}},
        {"type": "contact", "contact": {"full_name": "No action", "phone_number": "1"}},
        {"type": "label", "label": {"name": "VIP"}},
    ]}))  # fmt: skip
    carla, dan = batch.contact_syncs
    assert (carla.wa_id, carla.contact_name, carla.action) == ("16505551234", "Carla Gomez", "add")
    assert carla.timestamp == datetime.fromtimestamp(1750269342, UTC)
    assert (dan.wa_id, dan.contact_name, dan.action) == ("16505550000", "Dan", "remove")
    [rejected] = batch.rejected
    assert rejected.kind == "contact" and "without action" in rejected.reason
    assert batch.phone_number_ids == {"106540352242922"} and batch.messages == []


def test_group_events_messages_and_statuses_are_counted_not_read() -> None:
    events = parse_webhook(_change("group_participants_update", {"groups": [
        {"timestamp": "1750269342", "group_id": "Y2Fw", "type": "group_remove_participants",
         "request_id": "784D", "removed_participants": [{"input": "16505551234", "wa_id": "16505551234"}]},
    ]}))  # fmt: skip
    assert events.group_items == ["group_participants_update"] and events.messages == []
    text = {"from": "16505551234", "id": "wamid.A", "timestamp": "1750269342", "type": "text",
            "text": {"body": "in the group"}}  # fmt: skip
    mixed = parse_webhook(_change("messages", {
        "contacts": [{"profile": {"name": "A"}, "wa_id": "16505551234"}],
        "messages": [{**text, "group_id": "Y2Fw"}, {**text, "id": "wamid.B", "text": {"body": "1:1"}}],
        "statuses": [{"id": "wamid.C", "status": "read", "timestamp": "1750269342",
                      "recipient_id": "16505551234", "group_id": "Y2Fw"}],
    }))  # fmt: skip
    assert [m.text for m in mixed.messages] == ["1:1"] and mixed.statuses == []
    assert mixed.group_items == ["group_message", "group_status"]
