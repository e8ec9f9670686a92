"""CSV cells that a spreadsheet cannot run: a customer named `=HYPERLINK(...)` or `@SUM(...)`
would be a formula when a lead opens the export in Excel or LibreOffice (CSV injection).

Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, as
OWASP recommends; numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
