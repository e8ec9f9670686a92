"""Bot flows written in YAML: parsed with line numbers, validated against WhatsApp's limits.

A flow lives in version control as YAML, so a mistake must be reported the way a compiler would:
`line 12: list 'topic' has 11 rows; WhatsApp allows at most 10`. PyYAML's composer keeps a mark on
every node; the loader below keeps those marks on the mappings and lists it builds, so the
validator can name the line of any key or item. Everything WhatsApp would refuse at send time
(a 4th button, a 21-character title) is refused here, at load time, instead.

The output is a plain JSON-able definition (stored with the flow version) in which every text is
a `{language: text}` mapping; the engine never sees YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

NODE_TYPES = ("message", "buttons", "list", "collect", "handoff", "end")
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON = 10, 24, 72, 20
BODY_INTERACTIVE, BODY_TEXT = 1024, 4096
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
BUILT_IN_PHRASES = (
    "misunderstood",
    "handoff",
    "queue",
    "closed",
    "stopped",
    "started",
    "menu_hint",
)

_COMMON = {"type", "text"}
_ALLOWED = {
    "message": _COMMON | {"next"},
    "buttons": _COMMON | {"buttons", "routes", "footer"},
    "list": _COMMON | {"rows", "button", "section", "routes", "footer"},
    "collect": _COMMON | {"field", "pattern", "retry", "next", "routes"},
    "handoff": _COMMON | {"team", "priority", "note", "topic"},
    "end": _COMMON,
}
_TOP = {"name", "default_language", "languages", "start", "fallback_team", "keywords", "messages",
        "nodes"}  # fmt: skip


class MarkedDict(dict[Any, Any]):
    line: int = 0
    lines: dict[Any, int]


class MarkedList(list[Any]):
    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers and refuses duplicate keys (a silent override in YAML)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise FlowError([(line, f"duplicate key '{key}'")])
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class FlowError(Exception):
    """The flow is refused; `str()` is `line N: reason` for each problem, in line order."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = sorted(problems)
        super().__init__("; ".join(f"line {line}: {reason}" for line, reason in self.problems))


@dataclass
class ParsedFlow:
    definition: dict[str, Any]
    # team names the flow hands off to, with their lines: checked against the database by the caller
    team_refs: list[tuple[str, int]] = field(default_factory=list)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []
        self.languages: list[str] = ["en"]
        self.default = "en"

    def fail(self, line: int, reason: str) -> None:
        self.problems.append((line, reason))

    def line_of(self, parent: Any, key: Any) -> int:
        if isinstance(parent, MarkedDict):
            return parent.lines.get(key, parent.line)
        if isinstance(parent, MarkedList) and isinstance(key, int) and key < len(parent.lines):
            return parent.lines[key]
        return getattr(parent, "line", 1)

    def text(
        self, parent: MarkedDict, key: str, what: str, limit: int, *, required: bool = True
    ) -> dict[str, str] | None:
        """A text in one language (a string) or several (`{en: ..., de: ...}`)."""
        line = self.line_of(parent, key)
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(parent.line, f"{what} needs '{key}'")
            return None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            texts = {self.default: str(value)}
        elif isinstance(value, MarkedDict):
            texts = {}
            for language, text in value.items():
                if language not in self.languages:
                    self.fail(value.lines[language], f"{what}: language '{language}' is not in"
                              f" languages {self.languages}")  # fmt: skip
                elif not isinstance(text, str | int | float) or isinstance(text, bool):
                    self.fail(
                        value.lines[language], f"{what}: the {language} text must be a string"
                    )
                else:
                    texts[language] = str(text)
            if self.default not in texts and texts:
                self.fail(line, f"{what} has no text in the default language '{self.default}'")
        else:
            self.fail(line, f"{what}: '{key}' must be a string or a mapping of language to string")
            return None
        for language, text in texts.items():
            if not text.strip():
                self.fail(line, f"{what}: the {language} text is empty")
            elif len(text) > limit:
                self.fail(line, f"{what}: the {language} text '{text[:30]}' is {len(text)}"
                          f" characters; WhatsApp allows at most {limit}")  # fmt: skip
        return texts

    def words(self, value: Any, line: int, what: str) -> dict[str, list[str]]:
        """Keywords: a list (every language) or `{language: [words]}`."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return {"*": [self.word(w, line, what) for w in value]}
        if isinstance(value, MarkedDict):
            result: dict[str, list[str]] = {}
            for language, words in value.items():
                if language not in self.languages:
                    self.fail(value.lines[language], f"{what}: language '{language}' is not in"
                              f" languages {self.languages}")  # fmt: skip
                    continue
                listed = [words] if isinstance(words, str) else words
                if not isinstance(listed, list):
                    self.fail(value.lines[language], f"{what}: give a list of words")
                    continue
                result[language] = [self.word(w, value.lines[language], what) for w in listed]
            return result
        self.fail(line, f"{what}: give a list of words or a mapping of language to words")
        return {}

    def word(self, value: Any, line: int, what: str) -> str:
        if not isinstance(value, str | int) or not str(value).strip():
            self.fail(line, f"{what}: keywords must be non-empty strings")
            return ""
        return normalize(str(value))

    def pattern(self, value: Any, line: int, what: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.fail(line, f"{what}: pattern must be a non-empty string")
            return None
        try:
            re.compile(value)
        except re.error as error:
            self.fail(
                line, f"{what}: pattern '{value}' is not a valid regular expression ({error})"
            )
            return None
        return value


def normalize(text: str) -> str:
    """How keywords are compared: case- and space-insensitive."""
    return " ".join(text.casefold().split())


def parse_flow(source: str) -> ParsedFlow:
    """YAML text → validated definition, or FlowError naming each bad line."""
    try:
        document = yaml.load(source, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except FlowError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise FlowError([(line, f"YAML syntax: {error.problem or error.context}")]) from None
    except yaml.YAMLError as error:
        raise FlowError([(1, f"YAML: {error}")]) from None
    if not isinstance(document, MarkedDict):
        raise FlowError([(1, "a flow is a mapping with at least 'start' and 'nodes'")])
    return _validate(document)


def _validate(doc: MarkedDict) -> ParsedFlow:
    check = _Checker()
    for key in doc:
        if key not in _TOP:
            check.fail(doc.lines[key], f"unknown key '{key}' (expected one of {sorted(_TOP)})")
    languages = doc.get("languages", ["en"])
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(lang, str) and LANGUAGE.match(lang) for lang in languages)
    ):
        check.fail(
            check.line_of(doc, "languages"), "languages must be a list of codes like en, de, pt-BR"
        )
        languages = ["en"]
    check.languages = list(languages)
    default = doc.get("default_language", check.languages[0])
    if default not in check.languages:
        check.fail(check.line_of(doc, "default_language"),
                   f"default_language '{default}' is not in languages {check.languages}")  # fmt: skip
        default = check.languages[0]
    check.default = default

    nodes_raw = doc.get("nodes")
    if not isinstance(nodes_raw, MarkedDict) or not nodes_raw:
        check.fail(check.line_of(doc, "nodes"), "'nodes' must be a mapping of node names to nodes")
        raise FlowError(check.problems)
    node_ids = set(nodes_raw)
    team_refs: list[tuple[str, int]] = []

    def target(parent: MarkedDict, key: str, what: str, *, required: bool) -> str | None:
        value = parent.get(key)
        if value is None:
            if required:
                check.fail(parent.line, f"{what} needs '{key}'")
            return None
        if not isinstance(value, str) or value not in node_ids:
            check.fail(check.line_of(parent, key), f"{what}: '{key}' names no node: '{value}'")
            return None
        return value

    def routes(node: MarkedDict, what: str) -> list[dict[str, Any]]:
        raw = node.get("routes")
        if raw is None:
            return []
        if not isinstance(raw, MarkedList):
            check.fail(check.line_of(node, "routes"), f"{what}: routes must be a list")
            return []
        result = []
        for index, route in enumerate(raw):
            line = raw.lines[index]
            if not isinstance(route, MarkedDict):
                check.fail(
                    line, f"{what}: each route is a mapping with keywords or pattern, and next"
                )
                continue
            extra = set(route) - {"keywords", "pattern", "next"}
            if extra:
                check.fail(line, f"{what}: unknown route key '{sorted(extra)[0]}'")
            if ("keywords" in route) == ("pattern" in route):
                check.fail(line, f"{what}: a route needs either keywords or a pattern")
                continue
            entry: dict[str, Any] = {"next": target(route, "next", f"{what} route", required=True)}
            if "keywords" in route:
                entry["keywords"] = check.words(route["keywords"], line, f"{what} route")
            else:
                entry["pattern"] = check.pattern(route["pattern"], line, f"{what} route")
            result.append(entry)
        return result

    def option(
        raw: Any, line: int, what: str, title_limit: int, ids: set[str], *, row: bool
    ) -> dict[str, Any] | None:
        if not isinstance(raw, MarkedDict):
            check.fail(line, f"{what}: each option is a mapping with id, title and next")
            return None
        allowed = {"id", "title", "next", "set_language"} | ({"description"} if row else set())
        for key in raw:
            if key not in allowed:
                check.fail(raw.lines[key], f"{what}: unknown key '{key}'")
        option_id = raw.get("id")
        if not isinstance(option_id, str) or not IDENTIFIER.match(option_id):
            check.fail(
                check.line_of(raw, "id"),
                f"{what}: id must be a short name (letters, digits, - and _)",
            )
            return None
        if option_id in ids:
            check.fail(check.line_of(raw, "id"), f"{what}: the id '{option_id}' is used twice")
        ids.add(option_id)
        label = f"{what} '{option_id}'"
        entry: dict[str, Any] = {
            "id": option_id, "title": check.text(raw, "title", f"{label} title", title_limit),
            "next": target(raw, "next", label, required="set_language" not in raw),
        }  # fmt: skip
        if row and "description" in raw:
            entry["description"] = check.text(
                raw, "description", f"{label} description", ROW_DESCRIPTION
            )
        if "set_language" in raw:
            if raw["set_language"] not in check.languages:
                check.fail(raw.lines["set_language"], f"{label}: set_language '{raw['set_language']}'"
                           f" is not in languages {check.languages}")  # fmt: skip
            entry["set_language"] = raw["set_language"]
        return entry

    nodes: dict[str, dict[str, Any]] = {}
    for node_id, raw in nodes_raw.items():
        line = nodes_raw.lines[node_id]
        what = f"node '{node_id}'"
        if not isinstance(node_id, str) or not IDENTIFIER.match(node_id):
            check.fail(
                line, f"node name '{node_id}' must be a short name (letters, digits, - and _)"
            )
            continue
        if not isinstance(raw, MarkedDict):
            check.fail(line, f"{what} must be a mapping with a 'type'")
            continue
        kind = raw.get("type")
        if kind not in NODE_TYPES:
            check.fail(check.line_of(raw, "type"), f"{what}: type must be one of {', '.join(NODE_TYPES)}"
                       f" (got '{kind}')")  # fmt: skip
            continue
        for key in raw:
            if key not in _ALLOWED[kind]:
                check.fail(raw.lines[key], f"{what}: unknown key '{key}' for a {kind} node")
        node: dict[str, Any] = {"type": kind}
        interactive = kind in ("buttons", "list")
        node["text"] = check.text(
            raw, "text", what, BODY_INTERACTIVE if interactive else BODY_TEXT,
            required=kind in ("message", "buttons", "list", "collect"),
        )  # fmt: skip
        if "footer" in raw:
            node["footer"] = check.text(raw, "footer", f"{what} footer", 60)
        if kind == "message":
            node["next"] = target(raw, "next", what, required=False)
        elif kind == "buttons":
            buttons = raw.get("buttons")
            if not isinstance(buttons, MarkedList) or not buttons:
                check.fail(
                    check.line_of(raw, "buttons"), f"{what}: buttons must be a list of 1 to 3"
                )
                buttons = MarkedList()
                buttons.lines = []
            elif len(buttons) > MAX_BUTTONS:
                check.fail(check.line_of(raw, "buttons"), f"{what} has {len(buttons)} buttons; WhatsApp allows at most"
                           f" {MAX_BUTTONS} (use a list for more)")  # fmt: skip
            ids: set[str] = set()
            node["buttons"] = [
                o for i, b in enumerate(buttons)
                if (o := option(b, buttons.lines[i], f"{what} button", BUTTON_TITLE, ids, row=False))
            ]  # fmt: skip
            node["routes"] = routes(raw, what)
        elif kind == "list":
            rows = raw.get("rows")
            if not isinstance(rows, MarkedList) or not rows:
                check.fail(check.line_of(raw, "rows"), f"{what}: rows must be a list of 1 to 10")
                rows = MarkedList()
                rows.lines = []
            elif len(rows) > MAX_ROWS:
                check.fail(
                    check.line_of(raw, "rows"),
                    f"list {what} has {len(rows)} rows; WhatsApp allows at most {MAX_ROWS}",
                )
            ids = set()
            node["rows"] = [
                o for i, r in enumerate(rows)
                if (o := option(r, rows.lines[i], f"{what} row", ROW_TITLE, ids, row=True))
            ]  # fmt: skip
            node["button"] = check.text(
                raw, "button", f"{what} button", LIST_BUTTON, required=False
            ) or {check.default: "Choose"}
            if "section" in raw:
                node["section"] = check.text(raw, "section", f"{what} section", ROW_TITLE)
            node["routes"] = routes(raw, what)
        elif kind == "collect":
            field_name = raw.get("field")
            if not isinstance(field_name, str) or not IDENTIFIER.match(field_name):
                check.fail(check.line_of(raw, "field"), f"{what}: field must be a short name")
            node["field"] = field_name
            node["pattern"] = (
                check.pattern(raw["pattern"], raw.lines["pattern"], what)
                if "pattern" in raw
                else None
            )
            node["retry"] = check.text(raw, "retry", f"{what} retry", BODY_TEXT, required=False)
            node["next"] = target(raw, "next", what, required=True)
            node["routes"] = routes(raw, what)
        elif kind == "handoff":
            team = raw.get("team")
            if team is not None:
                if not isinstance(team, str) or not team.strip():
                    check.fail(raw.lines["team"], f"{what}: team must be a team's name")
                else:
                    team_refs.append((team, raw.lines["team"]))
            node["team"] = team
            priority = raw.get("priority", 0)
            if (
                not isinstance(priority, int)
                or isinstance(priority, bool)
                or not 0 <= priority <= 10
            ):
                check.fail(
                    check.line_of(raw, "priority"), f"{what}: priority must be a whole number 0-10"
                )
                priority = 0
            node["priority"] = priority
            for key in ("note", "topic"):
                value = raw.get(key)
                if value is not None and not isinstance(value, str):
                    check.fail(raw.lines[key], f"{what}: {key} must be a string")
                    value = None
                node[key] = value
        nodes[node_id] = node

    start = doc.get("start")
    if start is None:
        check.fail(doc.line, "the flow needs 'start': the first node's name")
    elif start not in node_ids:
        check.fail(doc.lines["start"], f"start: no node named '{start}'")
    fallback = doc.get("fallback_team")
    if fallback is not None:
        if isinstance(fallback, str) and fallback.strip():
            team_refs.append((fallback, doc.lines["fallback_team"]))
        else:
            check.fail(doc.lines["fallback_team"], "fallback_team must be a team's name")
    keywords: dict[str, dict[str, list[str]]] = {}
    raw_keywords = doc.get("keywords") or MarkedDict()
    if not isinstance(raw_keywords, MarkedDict):
        check.fail(check.line_of(doc, "keywords"), "keywords must be a mapping (handoff, menu)")
    else:
        for kind_name, words in raw_keywords.items():
            if kind_name not in ("handoff", "menu"):
                check.fail(raw_keywords.lines[kind_name], f"keywords: unknown kind '{kind_name}'"
                           " (handoff or menu)")  # fmt: skip
                continue
            keywords[kind_name] = check.words(
                words, raw_keywords.lines[kind_name], f"keywords.{kind_name}"
            )
    messages: dict[str, dict[str, str]] = {}
    raw_messages = doc.get("messages") or MarkedDict()
    if isinstance(raw_messages, MarkedDict):
        for name in raw_messages:
            if name not in BUILT_IN_PHRASES:
                check.fail(raw_messages.lines[name], f"messages: unknown phrase '{name}'"
                           f" (one of {', '.join(BUILT_IN_PHRASES)})")  # fmt: skip
            elif (
                texts := check.text(raw_messages, name, f"messages.{name}", BODY_TEXT)
            ) is not None:
                messages[name] = texts
    else:
        check.fail(check.line_of(doc, "messages"), "messages must be a mapping of phrase to text")
    _check_loops(check, nodes, nodes_raw)
    if check.problems:
        raise FlowError(check.problems)
    name = doc.get("name")
    definition = {
        "name": str(name) if name is not None else "", "languages": check.languages,
        "default_language": check.default, "start": start, "fallback_team": fallback,
        "keywords": keywords, "messages": messages, "nodes": nodes,
    }  # fmt: skip
    return ParsedFlow(definition, team_refs)


def _check_loops(check: _Checker, nodes: dict[str, dict[str, Any]], raw: MarkedDict) -> None:
    """Message nodes chain without waiting for the customer; a cycle of them would never stop."""
    for node_id, node in nodes.items():
        seen = {node_id}
        current = node
        while current.get("type") == "message" and current.get("next"):
            following = current["next"]
            if following in seen:
                check.fail(raw.lines[node_id], f"node '{node_id}': message nodes loop back to"
                           f" '{following}' without waiting for the customer")  # fmt: skip
                break
            seen.add(following)
            current = nodes.get(following, {})


def flow_graph(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Each node of a validated definition with what leads out of it, for the editor's diagram:
    `edges` are `{"to", "label"}` in the order the flow lists them — a button's or a row's title,
    a route's keywords or pattern, a collect's answer, a message's plain `next` (no label) — one
    per target, labels joined when several lead to the same node. `detail` says where a handoff
    goes. Texts are in the flow's default language, as the author wrote them first."""
    language = definition.get("default_language") or "en"
    nodes: dict[str, dict[str, Any]] = definition.get("nodes") or {}

    def says(texts: Any) -> str:
        if isinstance(texts, dict):
            return str(texts.get(language) or next(iter(texts.values()), ""))
        return "" if texts is None else str(texts)

    out = []
    for node_id, node in nodes.items():
        kind = node.get("type")
        labelled: dict[str, list[str]] = {}

        def lead(to: Any, label: str, into: dict[str, list[str]] = labelled) -> None:
            if isinstance(to, str) and to in nodes:
                into.setdefault(to, [])
                if label and label not in into[to]:
                    into[to].append(label)

        for option in (node.get("buttons") or []) + (node.get("rows") or []):
            lead(option.get("next"), says(option.get("title")))
        for route in node.get("routes") or []:
            if "keywords" in route:
                words: list[str] = route["keywords"].get(language) or next(
                    iter(route["keywords"].values()), []
                )
                lead(route.get("next"), "says " + ", ".join(words))
            else:
                lead(route.get("next"), f"matches {route.get('pattern')}")
        if kind == "collect":
            lead(node.get("next"), "answered")
        elif kind == "message":
            lead(node.get("next"), "")
        detail = ""
        if kind == "handoff":
            detail = f"to {node.get('team') or definition.get('fallback_team') or 'the queue'}"
        elif kind == "collect":
            detail = f"asks {node.get('field')}"
        edges = [{"to": to, "label": " · ".join(labels)} for to, labels in labelled.items()]
        out.append({
            "id": node_id, "kind": kind, "start": node_id == definition.get("start"),
            "detail": detail, "next": sorted(labelled), "edges": edges,
        })  # fmt: skip
    return out
