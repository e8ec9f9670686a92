"""The Graph API's template endpoints: `{base}/{waba_id}/message_templates` (list with paging,
create) and `{base}/{template_id}` (edit), for Meta or the sandbox alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

PAGE_SIZE = 100
MAX_PAGES = 200  # 20,000 templates: far beyond Meta's per-account limit, a guard against loops


class GraphError(Exception):
    """Meta refused, or could not be reached; `code` and `message` are Meta's when it answered."""

    def __init__(self, status: int | None, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _raise_for(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success and isinstance(answer, dict):
        return answer
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        message = str(error.get("error_user_msg") or error.get("message") or "refused")
        details = (error.get("error_data") or {}).get("details") if isinstance(
            error.get("error_data"), dict) else None  # fmt: skip
        if isinstance(details, str) and details and details not in message:
            message = f"{message} ({details})"
        code = error.get("code")
        raise GraphError(response.status_code, code if isinstance(code, int) else None, message)
    raise GraphError(response.status_code, None, f"HTTP {response.status_code} from the Graph API")


class TemplatesApi:
    def __init__(self, client: httpx.AsyncClient, base_url: str, access_token: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"}

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as error:
            raise GraphError(
                None, None, f"the Graph API did not answer ({type(error).__name__})"
            ) from error
        return _raise_for(response)

    async def pages(
        self, waba_id: str, fields: str | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of the account's templates, following `paging.cursors.after` while Meta
        names a `next` page."""
        url = f"{self._base}/{waba_id}/message_templates"
        first: dict[str, Any] = {"limit": PAGE_SIZE, **({"fields": fields} if fields else {})}
        params = first
        for _ in range(MAX_PAGES):
            answer = await self._call("GET", url, params=params)
            data = answer.get("data")
            items = (
                [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
            )
            yield items
            paging = answer.get("paging")
            paging = paging if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not items or not paging.get("next") or not isinstance(after, str) or not after:
                return
            params = {**first, "after": after}

    async def create(self, waba_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Meta answers `{"id", "status", "category"}`."""
        return await self._call("POST", f"{self._base}/{waba_id}/message_templates", json=body)

    async def edit(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Meta answers `{"success": true}`; the edited template goes back to review."""
        return await self._call("POST", f"{self._base}/{template_id}", json=body)
