"""The bot's decisions, as pure functions of the flow, the conversation's state and one message.

No database, no network: given where the customer is and what they sent, the engine says what to
send back and whether to hand off or end. The services apply a `Turn` in one transaction. Keeping
the rules here makes every one of them testable directly and keeps the worker job thin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from backend.bots.flow import normalize
from backend.conversations.outbound import Draft

# Built-in phrases; a flow overrides any of them under `messages:`.
PHRASES: dict[str, dict[str, str]] = {
    "misunderstood": {
        "en": "Sorry, I didn't get that.",
        "de": "Entschuldigung, das habe ich nicht verstanden.",
        "es": "Perdona, no te he entendido.",
    },
    "handoff": {
        "en": "Thanks! A person from our {team} team will take it from here.",
        "de": "Danke! Eine Person aus unserem Team {team} übernimmt jetzt.",
        "es": "¡Gracias! Una persona de nuestro equipo {team} te atenderá.",
    },
    "queue": {
        "en": "You're number {position} in the queue. Estimated wait: about {minutes} min.",
        "de": "Du bist Nummer {position} in der Warteschlange. Geschätzte Wartezeit: etwa {minutes} Min.",
        "es": "Eres el número {position} en la cola. Espera estimada: unos {minutes} min.",
    },
    "closed": {
        "en": "Our {team} team is away right now and back {when}. You're in the queue: we'll answer then.",
        "de": "Unser Team {team} ist gerade nicht da und ab {when} zurück. Du bist in der Warteschlange.",
        "es": "Nuestro equipo {team} no está ahora y vuelve {when}. Estás en la cola: te responderemos entonces.",
    },
    "stopped": {
        "en": "Done: you won't get messages from us any more. Send START to opt back in.",
        "de": "Erledigt: Du bekommst keine Nachrichten mehr von uns. Sende START, um sie wieder zu erhalten.",
        "es": "Hecho: no recibirás más mensajes nuestros. Envía START para volver a recibirlos.",
    },
    "started": {
        "en": "Welcome back! You'll get our messages again.",
        "de": "Willkommen zurück! Du bekommst unsere Nachrichten wieder.",
        "es": "¡Bienvenido de nuevo! Volverás a recibir nuestros mensajes.",
    },
    "menu_hint": {
        "en": "Send 'menu' to start over or 'agent' to talk to a person.",
        "de": "Sende 'menü' für den Anfang oder 'mitarbeiter' für eine Person.",
        "es": "Envía 'menú' para empezar de nuevo o 'agente' para hablar con una persona.",
    },
}

# Built-in keywords ("*" = every language); a flow's `keywords:` replaces a kind entirely.
KEYWORDS: dict[str, dict[str, list[str]]] = {
    "handoff": {
        "en": ["agent", "human", "person", "operator"],
        "de": ["mitarbeiter", "mensch", "person", "berater"],
        "es": ["agente", "humano", "persona", "asesor"],
        "fr": ["agent", "humain", "personne", "conseiller"],
        "pt": ["atendente", "humano", "pessoa", "agente"],
        "it": ["operatore", "umano", "persona"],
    },
    "menu": {"*": ["menu", "menü", "menú"]},
}

MISUNDERSTOOD_LIMIT = 2  # misunderstandings in a row before a person takes over
MAX_CHAIN = 25  # nodes entered in one turn; validation forbids message loops, this is a backstop


@dataclass
class State:
    """The mutable part of a conversation's bot state (mirrors `BotState`)."""

    node: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    topic: str | None = None
    misses: int = 0
    language: str = "en"


@dataclass(frozen=True)
class Input:
    """One customer message as the bot sees it: typed text, or the id and title of a tap."""

    text: str | None
    reply_id: str | None = None


@dataclass(frozen=True)
class Handoff:
    team: str | None
    priority: int
    topic: str | None
    note: str | None
    reason: str


@dataclass
class Turn:
    """What the bot does in answer to one message."""

    says: list[Draft] = field(default_factory=list)
    handoff: Handoff | None = None
    end: bool = False
    language_chosen: str | None = None


class Engine:
    def __init__(self, definition: dict[str, Any]) -> None:
        self.flow = definition
        self.nodes: dict[str, dict[str, Any]] = definition["nodes"]
        self.default: str = definition.get("default_language", "en")
        self.languages: list[str] = definition.get("languages", [self.default])

    # ---------------------------------------------------------------- texts
    def localized(self, texts: dict[str, str] | None, language: str) -> str:
        if not texts:
            return ""
        return texts.get(language) or texts.get(self.default) or next(iter(texts.values()))

    def phrase(self, name: str, language: str, **values: Any) -> str:
        return phrase(name, language, self.flow.get("messages"), self.default, **values)

    def keywords(self, kind: str, language: str) -> set[str]:
        custom = self.flow.get("keywords", {}).get(kind)
        table = custom or KEYWORDS[kind]
        words = set(table.get("*", [])) | set(table.get(language, []))
        words |= set(table.get(self.default if custom else "en", []))  # always understood too
        return {normalize(w) for w in words}

    # ---------------------------------------------------------------- turns
    def start(self, state: State) -> Turn:
        """A fresh start (new conversation or `menu`): what was collected is forgotten."""
        state.node, state.fields, state.topic, state.misses = None, {}, None, 0
        turn = Turn()
        self._enter(state, self.flow["start"], turn)
        return turn

    def answer(self, state: State, message: Input) -> Turn:
        text = normalize(message.text or "")
        if message.reply_id is None and text in self.keywords("menu", state.language):
            return self.start(state)
        if message.reply_id is None and _mentions(text, self.keywords("handoff", state.language)):
            return self._handoff(state, "asked for a person")
        node_id = state.node
        if node_id is None or node_id not in self.nodes:
            return self.start(state)
        node = self.nodes[node_id]
        turn = Turn()
        chosen = self._option(node_id, node, message)
        if chosen is not None:
            state.misses = 0
            option = chosen[1]
            if option.get("set_language"):
                state.language = turn.language_chosen = option["set_language"]
            if option.get("next") is None:
                self._enter(state, chosen[0], turn)  # e.g. a language switch: ask again, translated
            else:
                state.topic = self.localized(option["title"], self.default)
                self._enter(state, option["next"], turn)
            return turn
        for route in node.get("routes", []):
            if _route_matches(route, text, message.text or ""):
                state.misses = 0
                self._enter(state, route["next"], turn)
                return turn
        if node["type"] == "collect" and message.reply_id is None and message.text:
            value = message.text.strip()
            pattern = node.get("pattern")
            if pattern is None or re.fullmatch(pattern, value):
                state.misses = 0
                state.fields[node["field"]] = value
                self._enter(state, node["next"], turn)
                return turn
        return self._miss(state, node_id, node)

    # ---------------------------------------------------------------- internals
    def _miss(self, state: State, node_id: str, node: dict[str, Any]) -> Turn:
        state.misses += 1
        if state.misses >= MISUNDERSTOOD_LIMIT:
            return self._handoff(state, f"the bot did not understand {state.misses} times in a row")
        turn = Turn()
        if node["type"] == "collect" and node.get("retry"):
            turn.says.append(_text(self.localized(node["retry"], state.language)))
            return turn
        turn.says.append(_text(self.phrase("misunderstood", state.language)))
        self._enter(state, node_id, turn)
        return turn

    def _handoff(self, state: State, reason: str) -> Turn:
        state.node = None
        return Turn(handoff=Handoff(self.flow.get("fallback_team"), 0, state.topic, None, reason))

    def _option(
        self, node_id: str, node: dict[str, Any], message: Input
    ) -> tuple[str, dict[str, Any]] | None:
        """The tapped (or typed) option; a tap on an older menu still counts."""
        if message.reply_id:
            owner, _, option_id = message.reply_id.partition(":")
            owner_node = self.nodes.get(owner)
            if owner_node is not None:
                for option in owner_node.get("buttons", []) + owner_node.get("rows", []):
                    if option["id"] == option_id:
                        return owner, option
        typed = normalize(message.text or "")
        if not typed:
            return None
        for option in node.get("buttons", []) + node.get("rows", []):
            titles = {normalize(t) for t in option["title"].values()}
            if typed in titles or typed == normalize(option["id"]):
                return node_id, option
        return None

    def _enter(self, state: State, node_id: str, turn: Turn) -> None:
        for _ in range(MAX_CHAIN):
            node = self.nodes[node_id]
            kind = node["type"]
            language = state.language
            if kind == "message":
                turn.says.append(_text(self.localized(node["text"], language)))
                if node.get("next") is None:
                    state.node = None
                    return
                node_id = node["next"]
                continue
            if kind in ("buttons", "list", "collect"):
                turn.says.append(self._prompt(node_id, node, language))
                state.node = node_id
                return
            state.node = None
            if node.get("text"):
                turn.says.append(_text(self.localized(node["text"], language)))
            if kind == "handoff":
                turn.handoff = Handoff(
                    node.get("team") or self.flow.get("fallback_team"), node.get("priority", 0),
                    node.get("topic") or state.topic, node.get("note"), "the flow handed off",
                )  # fmt: skip
            else:
                turn.end = True
            return

    def _prompt(self, node_id: str, node: dict[str, Any], language: str) -> Draft:
        body = self.localized(node["text"], language)
        if node["type"] == "collect":
            return _text(body)
        interactive: dict[str, Any] = {"type": "button" if node["type"] == "buttons" else "list",
                                       "body": {"text": body}}  # fmt: skip
        if node.get("footer"):
            interactive["footer"] = {"text": self.localized(node["footer"], language)}
        if node["type"] == "buttons":
            interactive["action"] = {"buttons": [
                {"type": "reply", "reply": {"id": f"{node_id}:{b['id']}",
                                            "title": self.localized(b["title"], language)}}
                for b in node["buttons"]
            ]}  # fmt: skip
        else:
            rows = []
            for row in node["rows"]:
                item = {
                    "id": f"{node_id}:{row['id']}",
                    "title": self.localized(row["title"], language),
                }
                if row.get("description"):
                    item["description"] = self.localized(row["description"], language)
                rows.append(item)
            section: dict[str, Any] = {"rows": rows}
            if node.get("section"):
                section["title"] = self.localized(node["section"], language)
            interactive["action"] = {"button": self.localized(node["button"], language),
                                     "sections": [section]}  # fmt: skip
        return Draft("interactive", interactive, body)


def phrase(
    name: str, language: str, overrides: dict[str, dict[str, str]] | None = None,
    default: str = "en", **values: Any,
) -> str:  # fmt: skip
    """A built-in phrase in the customer's language (a flow's own wording first)."""
    own = (overrides or {}).get(name) or {}
    text = own.get(language) or PHRASES[name].get(language) or own.get(default)
    text = text or PHRASES[name]["en"]
    return text.format(**values) if values else text


def text_draft(body: str) -> Draft:
    return _text(body)


def _text(body: str) -> Draft:
    return Draft("text", {"body": body, "preview_url": False}, body)


def _mentions(text: str, words: set[str]) -> bool:
    """A keyword as a whole word (or phrase) of the message: "can I talk to a human?" counts."""
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in words if word)


def _route_matches(route: dict[str, Any], normalized: str, raw: str) -> bool:
    if "pattern" in route:
        return re.fullmatch(route["pattern"], raw.strip()) is not None
    words = set(route["keywords"].get("*", []))
    for listed in route["keywords"].values():
        words |= set(listed)
    return _mentions(normalized, words)
