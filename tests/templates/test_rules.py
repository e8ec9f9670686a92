"""Meta's template rules as we check them before Meta does: authoring and send parameters."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backend.templates.rules import (
    SendMismatch,
    TemplateRuleError,
    check_send,
    parameters_of,
    validate_new_template,
)

ORDER = {
    "name": "order_confirmation", "language": "en_US", "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-1"]}},
        {"type": "BODY", "text": "Thanks {{1}}! Your order {{2}} ships today.",
         "example": {"body_text": [["Mark", "860198"]]}},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "URL", "text": "Track", "url": "https://shop.test/track/{{1}}", "example": ["860198"]},
            {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "16467043595"},
        ]},
    ],
}  # fmt: skip


def broken(change: Any) -> dict[str, Any]:
    body = copy.deepcopy(ORDER)
    change(body)
    return body


def test_a_template_with_every_component_kind_passes() -> None:
    validate_new_template(ORDER)
    media = {"name": "receipt", "language": "de", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::YXBw"]}},
        {"type": "BODY", "text": "Hier ist deine Rechnung, {{1}}.", "example": {"body_text": [["Mia"]]}},
    ]}  # fmt: skip
    validate_new_template(media)
    named = {"name": "named_one", "language": "es", "category": "MARKETING", "parameter_format": "NAMED",
             "components": [{"type": "BODY", "text": "Hola {{first_name}}, gracias.",
                             "example": {"body_text_named_params": [
                                 {"param_name": "first_name", "example": "Ana"}]}}]}  # fmt: skip
    validate_new_template(named)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.update(name="Order Confirmation"), "name must be"),
        (lambda b: b.update(language="english"), "language must be"),
        (lambda b: b.update(category="PROMO"), "category must be"),
        (lambda b: b["components"].pop(1), "BODY component is required"),
        (lambda b: b["components"][0].update(text="x" * 61), "HEADER text is longer than 60"),
        (lambda b: b["components"][0].update(text="{{1}} and {{2}}"), "at most one variable"),
        (lambda b: b["components"][1].update(text="y" * 1025), "BODY text is longer than 1024"),
        (lambda b: b["components"][1].pop("example"), "an example is required"),
        (lambda b: b["components"][1].update(text="Hi {{1}}, order {{3}} ok"), "without gaps"),
        (lambda b: b["components"][1].update(text="{{1}}, order {{2}} ok"), "start or end"),
        (lambda b: b["components"][1].update(text="Hi {{1}}{{2}} ok"), "next to each other"),
        (lambda b: b["components"][2].update(text="Bye {{1}}"), "FOOTER cannot have variables"),
        (
            lambda b: b["components"][3]["buttons"].extend(
                [{"type": "QUICK_REPLY", "text": "q"}] * 8
            ),
            "1-10 buttons",
        ),
        (lambda b: b["components"][3]["buttons"][0].update(text="z" * 26), "longer than 25"),
        (lambda b: b["components"][3]["buttons"][1].pop("example"), "URL's variable"),
        (
            lambda b: b["components"][3]["buttons"].append(
                {"type": "PHONE_NUMBER", "text": "Other", "phone_number": "1"}
            ),
            "one PHONE_NUMBER",
        ),
        (
            lambda b: b["components"].insert(0, {"type": "HEADER", "format": "IMAGE"}),
            "header_handle",
        ),
    ],
)
def test_what_meta_would_reject_is_refused_with_the_reason(change: Any, reason: str) -> None:
    with pytest.raises(TemplateRuleError) as refused:
        validate_new_template(broken(change))
    assert reason in str(refused.value)


def test_parameters_name_what_each_component_needs() -> None:
    needed = [
        (p.component, p.name, p.type, p.index, p.example)
        for p in parameters_of(ORDER["components"])
    ]
    assert needed == [
        ("header", "1", "text", None, "A-1"), ("body", "1", "text", None, "Mark"),
        ("body", "2", "text", None, "860198"), ("button", "1", "text", 1, "860198"),
    ]  # fmt: skip


def text(*values: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value} for value in values]


GOOD = [
    {"type": "header", "parameters": text("A-9")},
    {"type": "body", "parameters": text("Ana", "123")},
    {"type": "button", "sub_type": "url", "index": "1", "parameters": text("123")},
]


def test_a_send_that_fits_renders_what_the_customer_reads() -> None:
    rendered = check_send(ORDER["components"], "POSITIONAL", GOOD)
    assert (
        rendered.text
        == "Order A-9\n\nThanks Ana! Your order 123 ships today.\n\nReply STOP to opt out"
    )


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ([], 132000),
        ([GOOD[0], {"type": "body", "parameters": text("Ana")}, GOOD[2]], 132000),
        ([GOOD[0], {"type": "body", "parameters": text("Ana", "1", "2")}, GOOD[2]], 132000),
        ([GOOD[0], {"type": "body", "parameters": text("Ana", "")}, GOOD[2]], 132012),
        ([GOOD[0], {"type": "body", "parameters": text("Ana", "a\nb")}, GOOD[2]], 132012),
        ([GOOD[0], GOOD[1]], 132000),
        ([GOOD[0], {"type": "body", "parameters": text("x" * 1100, "1")}, GOOD[2]], 132005),
    ],
)
def test_a_send_that_does_not_fit_is_refused_with_metas_code(given: Any, code: int) -> None:
    with pytest.raises(SendMismatch) as refused:
        check_send(ORDER["components"], "POSITIONAL", given)
    assert refused.value.code == code


def test_a_media_header_must_be_present_and_named_parameters_must_match() -> None:
    components = [{"type": "HEADER", "format": "IMAGE"},
                  {"type": "BODY", "text": "Hi {{first_name}}, see above."}]  # fmt: skip
    with pytest.raises(SendMismatch) as refused:
        check_send(components, "NAMED", [{"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}])  # fmt: skip
    assert refused.value.code == 132000 and "image" in refused.value.detail
    header = {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x.test/a.png"}}],
    }
    wrong_name = {
        "type": "body",
        "parameters": [{"type": "text", "parameter_name": "name", "text": "A"}],
    }
    with pytest.raises(SendMismatch):
        check_send(components, "NAMED", [header, wrong_name])
    right = {
        "type": "body",
        "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}],
    }
    assert check_send(components, "NAMED", [header, right]).text == "Hi Ana, see above."
