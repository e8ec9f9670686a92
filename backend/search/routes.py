"""`GET /api/v1/search?q=`: messages (with a highlighted excerpt) and contacts the caller may see."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.auth import CurrentAgent
from backend.search.services import search


@get("/api/v1/search", tags=["search"])
async def search_route(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
    q: str = Parameter(min_length=1, max_length=200),
    limit: int = Parameter(default=20, ge=1, le=100),
) -> dict[str, Any]:  # fmt: skip
    """`excerpt` is plain text; `highlights` are the [start, end) offsets of the matches in it."""
    return await search(db_session, request.user, q, limit)
