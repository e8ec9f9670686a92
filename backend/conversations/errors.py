"""The one error conversation services raise: routes turn it into its HTTP answer (app.py)."""

from __future__ import annotations


class RoutingError(Exception):
    """The action is refused; `status` is the HTTP answer (403, 404, 409, 422)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
