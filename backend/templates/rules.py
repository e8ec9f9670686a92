"""Meta's rules for templates, as pure functions: what a new template must look like, which
parameters a template needs, and whether a send supplies them.

The same checks serve two sides. Switchboard runs them before it talks to Meta, so an obvious
mistake is a 422 with the reason instead of a rejection hours later or a 132000 on a customer's
send; the sandbox runs them as Meta, answering with Meta's codes. The limits are the Cloud API's
documented ones (header and footer 60 characters, body 1,024, button text 25, at most 10 buttons
of which 2 URL buttons and 1 phone button, one variable in a text header, examples for every
variable, variables neither adjacent nor at the very start or end of the body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Z]{2,4})?$")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
NAMED_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT", "GIF")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "MPM", "CATALOG")
HEADER_MAX, BODY_MAX, FOOTER_MAX, BUTTON_TEXT_MAX, URL_MAX, PHONE_MAX = 60, 1024, 60, 25, 2000, 20
MAX_BUTTONS, MAX_URL_BUTTONS, MAX_PHONE_BUTTONS = 10, 2, 1


class TemplateRuleError(Exception):
    """A template that Meta would refuse; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SendMismatch(Exception):
    """A send whose parameters do not fit the template, with the Cloud API's error code."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Parameter:
    """One value a send must supply: `{{1}}` of the body, a header image, a URL suffix…"""

    component: str  # header | body | button
    name: str  # "1", "2"… or a named parameter; the media kind for a media header
    type: str  # text | image | video | document | location
    index: int | None = None  # the button's position
    example: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "component": self.component, "name": self.name, "type": self.type,
            "index": self.index, "example": self.example,
        }  # fmt: skip


def _upper(value: Any) -> str:
    return value.upper() if isinstance(value, str) else ""


def _by_type(components: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for component in components:
        if isinstance(component, dict) and _upper(component.get("type")) == kind:
            return component
    return None


def variables(text: Any) -> list[str]:
    return VARIABLE.findall(text) if isinstance(text, str) else []


def _examples(component: dict[str, Any], positional: str, named: str) -> dict[str, str]:
    """Example values by variable name, from Meta's positional or named example shapes."""
    example = component.get("example")
    if not isinstance(example, dict):
        return {}
    found: dict[str, str] = {}
    values = example.get(positional)
    if isinstance(values, list) and values and isinstance(values[0], list):
        values = values[0]  # body_text is a list of lists
    if isinstance(values, list):
        found.update({str(i): str(v) for i, v in enumerate(values, start=1)})
    for item in example.get(named) or []:
        if isinstance(item, dict) and isinstance(item.get("param_name"), str):
            found[item["param_name"]] = str(item.get("example", ""))
    return found


def parameters_of(components: list[dict[str, Any]]) -> list[Parameter]:
    """What each component of a (synced or new) template needs at send time, in send order."""
    needed: list[Parameter] = []
    header = _by_type(components, "HEADER")
    if header is not None:
        header_format = _upper(header.get("format")) or "TEXT"
        if header_format in MEDIA_FORMATS:
            kind = "image" if header_format == "GIF" else header_format.lower()
            needed.append(Parameter("header", kind, kind))
        elif header_format == "TEXT":
            examples = _examples(header, "header_text", "header_text_named_params")
            for name in variables(header.get("text")):
                needed.append(Parameter("header", name, "text", example=examples.get(name)))
    body = _by_type(components, "BODY")
    if body is not None:
        examples = _examples(body, "body_text", "body_text_named_params")
        for name in variables(body.get("text")):
            needed.append(Parameter("body", name, "text", example=examples.get(name)))
    buttons = _by_type(components, "BUTTONS")
    for index, button in enumerate((buttons or {}).get("buttons") or []):
        if isinstance(button, dict) and _upper(button.get("type")) == "URL":
            example = button.get("example")
            shown = example[0] if isinstance(example, list) and example else None
            for name in variables(button.get("url")):
                needed.append(Parameter("button", name, "text", index=index, example=shown))
    return needed


# --- authoring ---------------------------------------------------------------------------------


@dataclass
class _Check:
    problems: list[str] = field(default_factory=list)

    def require(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def text(self, value: Any, limit: int, what: str) -> bool:
        if not self.require(isinstance(value, str) and value.strip() != "", f"{what} is required"):
            return False
        return self.require(len(value) <= limit, f"{what} is longer than {limit} characters")


def validate_new_template(body: dict[str, Any]) -> None:
    """Raises TemplateRuleError with every reason Meta would refuse this create body for."""
    check = _Check()
    name = body.get("name")
    check.require(
        isinstance(name, str) and bool(NAME_PATTERN.match(name)),
        "name must be 1-512 lowercase letters, digits and underscores",
    )
    language = body.get("language")
    check.require(
        isinstance(language, str) and bool(LANGUAGE_PATTERN.match(language)),
        "language must be a WhatsApp language code such as en, en_US or pt_BR",
    )
    category = body.get("category")
    check.require(category in CATEGORIES, f"category must be one of {', '.join(CATEGORIES)}")
    given = body.get("components")
    if not isinstance(given, list) or not all(isinstance(c, dict) for c in given):
        raise TemplateRuleError([*check.problems, "components must be a list of objects"])
    components: list[dict[str, Any]] = given
    kinds = [_upper(c.get("type")) for c in components]
    for kind in ("HEADER", "BODY", "FOOTER", "BUTTONS"):
        check.require(kinds.count(kind) <= 1, f"at most one {kind} component")
    unknown = sorted({k for k in kinds if k not in ("HEADER", "BODY", "FOOTER", "BUTTONS")})
    check.require(not unknown, f"unknown component type {', '.join(unknown) or '(missing)'}")
    check.require("BODY" in kinds, "a BODY component is required")
    named = body.get("parameter_format") == "NAMED"
    if category != "AUTHENTICATION":  # Meta writes authentication bodies itself
        for component in components:
            kind = _upper(component.get("type"))
            if kind == "HEADER":
                _check_header(check, component, named)
            elif kind == "BODY":
                _check_body(check, component, named)
            elif kind == "FOOTER":
                if check.text(component.get("text"), FOOTER_MAX, "FOOTER text"):
                    check.require(not variables(component["text"]), "FOOTER cannot have variables")
            elif kind == "BUTTONS":
                _check_buttons(check, component)
    if check.problems:
        raise TemplateRuleError(check.problems)


def _check_variables(
    check: _Check, names: list[str], examples: dict[str, str], what: str, named: bool
) -> None:
    if not names:
        return
    if named:
        check.require(
            all(NAMED_VARIABLE.match(n) for n in names),
            f"{what}: named variables are lowercase letters, digits and underscores",
        )
    else:
        check.require(
            all(n.isdigit() for n in names),
            f"{what}: variables are {{{{1}}}}, {{{{2}}}}… (or set parameter_format NAMED)",
        )
        numbers = sorted({int(n) for n in names if n.isdigit()})
        check.require(
            numbers == list(range(1, len(numbers) + 1)),
            f"{what}: variables must be numbered 1, 2, 3… without gaps",
        )
    missing = [n for n in dict.fromkeys(names) if not examples.get(n)]
    check.require(
        not missing, f"{what}: an example is required for {{{{{'}}, {{'.join(missing)}}}}}"
    )


def _check_header(check: _Check, header: dict[str, Any], named: bool) -> None:
    header_format = _upper(header.get("format"))
    if not check.require(header_format in HEADER_FORMATS, "HEADER format must be one of "
                         + ", ".join(HEADER_FORMATS)):  # fmt: skip
        return
    if header_format == "TEXT":
        if not check.text(header.get("text"), HEADER_MAX, "HEADER text"):
            return
        names = variables(header["text"])
        check.require(len(names) <= 1, "HEADER text can have at most one variable")
        examples = _examples(header, "header_text", "header_text_named_params")
        _check_variables(check, names, examples, "HEADER", named)
    elif header_format in MEDIA_FORMATS:
        example = header.get("example")
        handles = example.get("header_handle") if isinstance(example, dict) else None
        check.require(
            isinstance(handles, list) and bool(handles),
            f"a {header_format} HEADER needs example.header_handle (an uploaded sample)",
        )


def _check_body(check: _Check, body: dict[str, Any], named: bool) -> None:
    if not check.text(body.get("text"), BODY_MAX, "BODY text"):
        return
    text = body["text"]
    names = variables(text)
    _check_variables(check, names, _examples(body, "body_text", "body_text_named_params"),
                     "BODY", named)  # fmt: skip
    stripped = text.strip()
    if names:
        check.require(
            not VARIABLE.match(stripped)
            and not re.search(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}$", stripped),
            "BODY cannot start or end with a variable",
        )
        check.require(
            not re.search(r"\}\}\s*\{\{", text),
            "BODY has variables next to each other: put text between them",
        )


def _check_buttons(check: _Check, component: dict[str, Any]) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 0 < len(buttons) <= MAX_BUTTONS:
        check.problems.append(f"BUTTONS needs 1-{MAX_BUTTONS} buttons")
        return
    kinds = [_upper(b.get("type")) if isinstance(b, dict) else "" for b in buttons]
    check.require(kinds.count("URL") <= MAX_URL_BUTTONS, f"at most {MAX_URL_BUTTONS} URL buttons")
    check.require(
        kinds.count("PHONE_NUMBER") <= MAX_PHONE_BUTTONS, "at most one PHONE_NUMBER button"
    )
    for position, (kind, button) in enumerate(zip(kinds, buttons, strict=True), start=1):
        what = f"button {position}"
        if not check.require(kind in BUTTON_TYPES, f"{what}: type must be one of "
                             + ", ".join(BUTTON_TYPES)):  # fmt: skip
            continue
        if kind in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
            check.text(button.get("text"), BUTTON_TEXT_MAX, f"{what} text")
        if kind == "URL":
            url = button.get("url")
            if check.text(url, URL_MAX, f"{what} url"):
                check.require(
                    url.startswith(("https://", "http://")), f"{what}: url must be http(s)"
                )
                names = variables(url)
                check.require(
                    len(names) <= 1 and (not names or url.rstrip().endswith("}}")),
                    f"{what}: a URL can have one variable, at its end",
                )
                example = button.get("example")
                check.require(
                    not names or (isinstance(example, list) and bool(example)),
                    f"{what}: an example is required for the URL's variable",
                )
        elif kind == "PHONE_NUMBER":
            phone = button.get("phone_number")
            check.require(
                isinstance(phone, str) and 0 < len(phone) <= PHONE_MAX,
                f"{what}: phone_number is required (at most {PHONE_MAX} characters)",
            )


# --- sending -----------------------------------------------------------------------------------


TEXT_PARAMETER_TYPES = ("text", "currency", "date_time")
OPTIONAL_BUTTON_PARAMETERS = ("QUICK_REPLY", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM")


def _shown(parameter: dict[str, Any]) -> str | None:
    """The text a parameter puts into the message, or None when it has none."""
    kind = parameter.get("type")
    if kind == "text":
        return parameter.get("text") if isinstance(parameter.get("text"), str) else None
    if kind in ("currency", "date_time"):
        value = parameter.get(kind)
        fallback = value.get("fallback_value") if isinstance(value, dict) else None
        return fallback if isinstance(fallback, str) else None
    return None


def _fill(text: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def _text_values(
    parameters: list[Any], expected: list[Parameter], what: str, named: bool
) -> dict[str, str]:
    if len(parameters) != len(expected):
        raise SendMismatch(
            132000,
            f"{what} needs {len(expected)} parameter(s), got {len(parameters)}",
        )
    values: dict[str, str] = {}
    for position, (given, wanted) in enumerate(zip(parameters, expected, strict=True), start=1):
        if not isinstance(given, dict) or given.get("type") not in TEXT_PARAMETER_TYPES:
            raise SendMismatch(132012, f"{what} parameter {position} must be text")
        shown = _shown(given)
        if shown is None or not shown.strip():
            raise SendMismatch(132012, f"{what} parameter {position} is empty")
        if re.search(r"[\n\t]| {5,}", shown):
            raise SendMismatch(
                132012, f"{what} parameter {position} cannot contain new lines, tabs or 5+ spaces"
            )
        key = wanted.name
        if named:
            given_name = given.get("parameter_name")
            key = given_name if isinstance(given_name, str) else ""
            if key not in {p.name for p in expected}:
                raise SendMismatch(132000, f"{what} has no parameter named {key or '(missing)'}")
        values[key] = shown
    return values


@dataclass(frozen=True)
class Rendered:
    """A send that fits its template, and the text the customer will read."""

    text: str
    header: str | None


def check_send(components: list[dict[str, Any]], parameter_format: str, given: Any) -> Rendered:
    """Raises SendMismatch (Meta's code and a reason) unless `given` (the send's `components`)
    supplies exactly what the template's `components` need."""
    if given is None:
        given = []
    if not isinstance(given, list) or not all(isinstance(c, dict) for c in given):
        raise SendMismatch(100, "template components must be a list of objects")
    named = parameter_format == "NAMED"
    needed = parameters_of(components)
    supplied: dict[tuple[str, int | None], list[Any]] = {}
    for component in given:
        kind = str(component.get("type", "")).lower()
        index = None
        if kind == "button":
            try:
                index = int(str(component.get("index")))
            except (TypeError, ValueError):
                raise SendMismatch(100, "a button component needs its index") from None
        params = component.get("parameters")
        supplied[(kind, index)] = params if isinstance(params, list) else []
    expected_keys = {(p.component, p.index) for p in needed}
    for (kind, index), params in supplied.items():
        if (kind, index) in expected_keys or not params:
            continue
        if kind == "button" and _button_kind(components, index) in OPTIONAL_BUTTON_PARAMETERS:
            continue  # a quick reply's payload, a coupon code, an OTP: optional extras
        where = f"button {index}" if kind == "button" else f"the template's {kind}"
        raise SendMismatch(132000, f"{where} takes no parameters")
    values: dict[str, dict[str, str]] = {"header": {}, "body": {}}
    header_needs = [p for p in needed if p.component == "header"]
    if header_needs and header_needs[0].type != "text":
        _media_header(supplied.get(("header", None)), header_needs[0].type)
    elif header_needs:
        values["header"] = _text_values(supplied.get(("header", None), []), header_needs,
                                        "the header", named)  # fmt: skip
    body_needs = [p for p in needed if p.component == "body"]
    values["body"] = _text_values(supplied.get(("body", None), []), body_needs, "the body", named)
    for index in sorted({p.index for p in needed if p.component == "button"}, key=lambda i: i or 0):
        button_needs = [p for p in needed if p.component == "button" and p.index == index]
        _text_values(supplied.get(("button", index), []), button_needs, f"button {index}", False)
    return _render(components, values)


def _button_kind(components: list[dict[str, Any]], index: int | None) -> str | None:
    buttons = (_by_type(components, "BUTTONS") or {}).get("buttons") or []
    if index is None or not 0 <= index < len(buttons) or not isinstance(buttons[index], dict):
        return None
    return _upper(buttons[index].get("type"))


def _media_header(parameters: list[Any] | None, kind: str) -> None:
    if not parameters or len(parameters) != 1:
        raise SendMismatch(132000, f"the template's header needs one {kind}")
    media = parameters[0].get(kind) if isinstance(parameters[0], dict) else None
    if parameters[0].get("type") != kind or not isinstance(media, dict):
        raise SendMismatch(132012, f"the header parameter must be an {kind}")
    if not any(isinstance(media.get(key), str) and media[key] for key in ("id", "link")):
        raise SendMismatch(132012, f"the header {kind} needs an id or a link")


def _render(components: list[dict[str, Any]], values: dict[str, dict[str, str]]) -> Rendered:
    header = _by_type(components, "HEADER")
    header_text = None
    if header is not None and (_upper(header.get("format")) or "TEXT") == "TEXT":
        header_text = _fill(str(header.get("text") or ""), values["header"]) or None
    body = _by_type(components, "BODY")
    body_text = _fill(str((body or {}).get("text") or ""), values["body"])
    if len(body_text) > BODY_MAX:
        raise SendMismatch(132005, f"the filled body is longer than {BODY_MAX} characters")
    footer = _by_type(components, "FOOTER")
    parts = [header_text, body_text, (footer or {}).get("text")]
    return Rendered("\n\n".join(str(p) for p in parts if p), header_text)


def render_example(components: list[dict[str, Any]]) -> str:
    """The template's text with its example values, for previews where nothing is filled yet."""
    examples = {p.name: p.example or f"{{{{{p.name}}}}}" for p in parameters_of(components)}
    parts = []
    for kind in ("HEADER", "BODY", "FOOTER"):
        component = _by_type(components, kind)
        if component is not None and isinstance(component.get("text"), str):
            parts.append(_fill(component["text"], examples))
    return "\n\n".join(parts)
