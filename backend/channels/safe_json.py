"""JSON from the outside world, decoded into values that can always be stored and sent on.

A webhook body is written by someone else. Python's decoder accepts things our storage and our
encoders cannot carry — lone surrogates (`"\\ud800"`), NUL characters (PostgreSQL refuses both),
`NaN`/`1e999` (not JSON once re-encoded), integers of thousands of digits — and it raises
`RecursionError` on very deep nesting. Any of these inside one message used to cost the whole batch
a 500. Here they are made harmless instead, so the parser can keep every readable message and store
the odd one as it came (as near as can be kept):

- strings: lone surrogates and NUL become U+FFFD; invalid UTF-8 bytes too;
- numbers that do not fit become their literal text;
- containers nested deeper than `MAX_DEPTH` are replaced by a short marker string. Bodies too deep
  for Python's recursive decoder are read by ijson's iterative parser (yajl, no recursion), which
  never builds the deep part at all.

Only a body that is not JSON at all raises `NotJSON`.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

import ijson

MAX_DEPTH = 48
TOO_DEEP = f"[nested deeper than {MAX_DEPTH} levels: not kept]"
MAX_INT_DIGITS = 30
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class NotJSON(ValueError):
    """The bytes are not a JSON document; the message says why."""


def _int(literal: str) -> int | str:
    return int(literal) if len(literal) <= MAX_INT_DIGITS else literal


def _float(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal


def _constant(literal: str) -> str:
    return literal  # NaN, Infinity, -Infinity: kept as the text they were


def decode(raw: bytes) -> Any:
    """The document in `raw`, every string storable and no container deeper than MAX_DEPTH."""
    text = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(
            text, strict=False, parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except RecursionError:
        return _decode_iteratively(text)
    except ValueError as error:
        raise NotJSON(str(error)) from None
    return clean(value)


def clean(value: Any) -> Any:
    """A copy with every string made storable and every container below MAX_DEPTH cut off.

    Iterative, so that no input is deep enough to exhaust the stack.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        node, parent, key, depth = stack.pop()
        if isinstance(node, dict | list) and depth >= MAX_DEPTH:
            parent[key] = TOO_DEEP
        elif isinstance(node, dict):
            copy: dict[str, Any] = {}
            parent[key] = copy
            for name, item in node.items():
                name = _UNSTORABLE.sub("\ufffd", name)
                copy[name] = None
                stack.append((item, copy, name, depth + 1))
        elif isinstance(node, list):
            items: list[Any] = [None] * len(node)
            parent[key] = items
            stack.extend((item, items, index, depth + 1) for index, item in enumerate(node))
        elif isinstance(node, str):
            parent[key] = _UNSTORABLE.sub("\ufffd", node)
        else:
            parent[key] = node
    return root[0]


def _decode_iteratively(text: str) -> Any:
    """Builds the document from parser events with an explicit stack, skipping what is too deep."""
    root: list[Any] = []
    containers: list[Any] = [root]
    pending_key: list[str | None] = [None]
    skipped_depth = 0  # > 0 while inside a container that is too deep to keep

    def put(value: Any) -> None:
        target = containers[-1]
        if isinstance(target, dict):
            target[pending_key[-1]] = value
        else:
            target.append(value)

    try:
        for event, value in ijson.basic_parse(io.BytesIO(text.encode()), use_float=True):
            if skipped_depth:
                if event in ("start_map", "start_array"):
                    skipped_depth += 1
                elif event in ("end_map", "end_array"):
                    skipped_depth -= 1
                continue
            if event in ("start_map", "start_array"):
                if len(containers) > MAX_DEPTH:
                    put(TOO_DEEP)
                    skipped_depth = 1
                    continue
                container: Any = {} if event == "start_map" else []
                put(container)
                containers.append(container)
                pending_key.append(None)
            elif event in ("end_map", "end_array"):
                containers.pop()
                pending_key.pop()
            elif event == "map_key":
                pending_key[-1] = value
            else:
                put(value)
    except ijson.JSONError as error:
        raise NotJSON(str(error).splitlines()[0]) from None
    if len(root) != 1:
        raise NotJSON("not one JSON document")
    return clean(root[0])
