"""An agent's own account security: their sessions (listed, ended one by one or everywhere) and
an optional TOTP second factor with one-time recovery codes, which a role can be made to need.

TOTP comes from pyotp (RFC 6238, the well-kept reference for Python): a code is accepted one
step either side of now, and never twice (the last used step is kept).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import pyotp
from litestar import Request, Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from backend.agents.auth import CurrentAgent
from backend.agents.models import Agent
from backend.agents.passwords import verify_password
from backend.agents.security_models import AgentSession, RecoveryCode, TwoFactor
from backend.agents.services import end_sessions, revoke_token
from backend.audit import services as audit
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish

ISSUER = "Switchboard"
RECOVERY_CODES = 10
_STEP = 30


# ------------------------------------------------------------------ sessions


async def record_session(
    session: AsyncSession, agent: Agent, jti: str, expires_at: datetime,
    source: str | None, user_agent: str | None,
) -> None:  # fmt: skip
    assert agent.id is not None
    session.add(AgentSession(
        jti=jti, agent_id=agent.id, epoch=agent.session_epoch, source=(source or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None, expires_at=expires_at,
    ))  # fmt: skip


async def live_sessions(session: AsyncSession, agent: Agent) -> list[AgentSession]:
    rows = await session.execute(
        select(AgentSession).where(
            col(AgentSession.agent_id) == agent.id, col(AgentSession.ended_at).is_(None),
            col(AgentSession.epoch) == agent.session_epoch,
            col(AgentSession.expires_at) > utcnow(),
        ).order_by(col(AgentSession.created_at).desc())
    )  # fmt: skip
    return list(rows.scalars())


async def end_session(session: AsyncSession, agent: Agent, jti: str) -> None:
    found = await session.get(AgentSession, jti)
    if found is None or found.agent_id != agent.id or found.ended_at is not None:
        raise NotFoundException("no such session")
    found.ended_at = utcnow()
    await revoke_token(session, jti, found.expires_at)  # commits


async def end_every_session(session: AsyncSession, agent: Agent) -> None:
    """Every session and socket of the agent, this one included (the epoch moves on)."""
    await session.execute(
        update(AgentSession)
        .where(col(AgentSession.agent_id) == agent.id, col(AgentSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )
    await end_sessions(session, agent)


# ------------------------------------------------------------------ two factors


class TwoFactorError(Exception):
    pass


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").lower().encode()).hexdigest()


async def two_factor_of(session: AsyncSession, agent_id: int) -> TwoFactor | None:
    return await session.get(TwoFactor, agent_id)


async def has_two_factor(session: AsyncSession, agent_id: int) -> bool:
    found = await two_factor_of(session, agent_id)
    return found is not None and found.enabled_at is not None


async def start_setup(session: AsyncSession, agent: Agent) -> dict[str, str]:
    """A new seed, pending until `enable` sees a code made from it."""
    assert agent.id is not None
    found = await two_factor_of(session, agent.id)
    if found is not None and found.enabled_at is not None:
        raise TwoFactorError("two-factor sign-in is on already: turn it off first")
    secret = pyotp.random_base32()
    if found is None:
        session.add(TwoFactor(agent_id=agent.id, secret=secret))
    else:
        found.secret, found.last_counter = secret, None
    uri = pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_url": uri}


def _matching_counter(secret: str, code: str, last: int | None) -> int | None:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp, now = pyotp.TOTP(secret), int(utcnow().timestamp()) // _STEP
    for counter in (now - 1, now, now + 1):
        if (last is None or counter > last) and secrets.compare_digest(
            totp.at(counter * _STEP), code
        ):
            return counter
    return None


async def enable(session: AsyncSession, agent: Agent, code: str) -> list[str]:
    """Turns it on once a code proves the app has the seed; returns the recovery codes (shown
    this once, kept only as hashes)."""
    assert agent.id is not None
    found = await two_factor_of(session, agent.id)
    if found is None or found.enabled_at is not None:
        raise TwoFactorError("start the setup first")
    counter = _matching_counter(found.secret, code, found.last_counter)
    if counter is None:
        raise TwoFactorError("that code is not right: check the time on your phone")
    found.enabled_at, found.last_counter = utcnow(), counter
    return await _new_recovery_codes(session, agent.id)


async def _new_recovery_codes(session: AsyncSession, agent_id: int) -> list[str]:
    await session.execute(
        RecoveryCode.__table__.delete().where(col(RecoveryCode.agent_id) == agent_id)  # type: ignore[attr-defined]
    )
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(agent_id=agent_id, code_hash=_hash_code(code)))
    return codes


async def disable(session: AsyncSession, agent: Agent, password: str) -> None:
    assert agent.id is not None
    if not verify_password(agent.password_hash, password):
        raise TwoFactorError("the password is not right")
    found = await two_factor_of(session, agent.id)
    if found is not None:
        await session.delete(found)
    await session.execute(
        RecoveryCode.__table__.delete().where(col(RecoveryCode.agent_id) == agent.id)  # type: ignore[attr-defined]
    )


async def second_factor_passes(session: AsyncSession, agent: Agent, code: str) -> bool:
    """A TOTP code (each step once) or an unused recovery code (used up by this)."""
    assert agent.id is not None
    found = await two_factor_of(session, agent.id)
    if found is None or found.enabled_at is None:
        return True
    counter = _matching_counter(found.secret, code, found.last_counter)
    if counter is not None:
        found.last_counter = counter
        return True
    recovery = (
        await session.execute(
            select(RecoveryCode).where(
                col(RecoveryCode.agent_id) == agent.id,
                col(RecoveryCode.code_hash) == _hash_code(code),
                col(RecoveryCode.used_at).is_(None),
            )
        )
    ).scalar_one_or_none()
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    return True


async def two_factor_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """With TWO_FACTOR_REQUIRED_ROLES, an agent of such a role without a second factor may only
    set one up (and sign out) until they have."""
    required = context_of(connection).settings.two_factor_required_roles
    user = connection.scope.get("user")
    if not required or not isinstance(user, CurrentAgent) or user.role not in required:
        return
    if handler.opt.get("two_factor_setup") or connection.url.path.startswith("/api/v1/auth/"):
        return
    async with context_of(connection).sessions() as session:
        if await has_two_factor(session, user.id):
            return
    raise PermissionDeniedException(
        "two-factor sign-in is required for your role: set it up under /api/v1/me/two-factor"
    )


# ------------------------------------------------------------------ routes

AgentRequest = Request[CurrentAgent, Token, Any]
_SETUP = {"two_factor_setup": True}


class CodeBody(BaseModel):
    code: str = Field(min_length=1, max_length=32)


class PasswordBody(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


async def _me(session: AsyncSession, request: AgentRequest) -> Agent:
    agent = await session.get(Agent, request.user.id)
    if agent is None:
        raise NotFoundException("no such agent")
    return agent


def _refused(error: TwoFactorError) -> Response[dict[str, Any]]:
    return Response({"status_code": 422, "detail": str(error)}, status_code=422)


@get("/api/v1/me/sessions", tags=["auth"], opt=_SETUP)
async def my_sessions(request: AgentRequest, db_session: AsyncSession) -> dict[str, Any]:
    agent = await _me(db_session, request)
    current = str(request.auth.jti or "")
    return {"items": [
        {"id": s.jti, "created_at": s.created_at.isoformat(), "expires_at": s.expires_at.isoformat(),
         "source": s.source, "user_agent": s.user_agent, "current": s.jti == current}
        for s in await live_sessions(db_session, agent)
    ]}  # fmt: skip


@delete("/api/v1/me/sessions/{session_id:str}", tags=["auth"], status_code=HTTP_200_OK, opt=_SETUP)
async def end_my_session(
    request: AgentRequest, db_session: AsyncSession, session_id: str
) -> dict[str, str]:
    await end_session(db_session, await _me(db_session, request), session_id)
    return {"status": "signed out"}


@post("/api/v1/me/sessions/end-all", tags=["auth"], status_code=HTTP_200_OK, opt=_SETUP)
async def end_all_my_sessions(request: AgentRequest, db_session: AsyncSession) -> Response[Any]:
    """Sign out everywhere: every session and socket of the caller, this one too."""
    await end_every_session(db_session, await _me(db_session, request))
    await audit.record(db_session, "auth.signed_out_everywhere", user=request.user)
    await commit_and_publish(db_session, context_of(request).redis)
    response = Response({"status": "signed out everywhere"})
    response.delete_cookie(request.app.state.jwt_auth.key)
    return response


@get("/api/v1/me/two-factor", tags=["auth"], opt=_SETUP)
async def my_two_factor(request: AgentRequest, db_session: AsyncSession) -> dict[str, Any]:
    agent = await _me(db_session, request)
    assert agent.id is not None
    left = await db_session.execute(
        select(RecoveryCode).where(
            col(RecoveryCode.agent_id) == agent.id, col(RecoveryCode.used_at).is_(None)
        )
    )
    return {
        "enabled": await has_two_factor(db_session, agent.id),
        "required": agent.role in context_of(request).settings.two_factor_required_roles,
        "recovery_codes_left": len(list(left.scalars())),
    }


@post("/api/v1/me/two-factor/setup", tags=["auth"], status_code=HTTP_200_OK, opt=_SETUP)
async def setup_two_factor(request: AgentRequest, db_session: AsyncSession) -> Response[Any]:
    try:
        found = await start_setup(db_session, await _me(db_session, request))
    except TwoFactorError as error:
        return _refused(error)
    await db_session.commit()
    return Response(found)


@post("/api/v1/me/two-factor/enable", tags=["auth"], status_code=HTTP_200_OK, opt=_SETUP)
async def enable_two_factor(
    request: AgentRequest, db_session: AsyncSession, data: CodeBody
) -> Response[Any]:
    try:
        codes = await enable(db_session, await _me(db_session, request), data.code)
    except TwoFactorError as error:
        return _refused(error)
    await audit.record(db_session, "auth.two_factor_enabled", user=request.user)
    await db_session.commit()
    return Response({"enabled": True, "recovery_codes": codes})


@post("/api/v1/me/two-factor/disable", tags=["auth"], status_code=HTTP_200_OK)
async def disable_two_factor(
    request: AgentRequest, db_session: AsyncSession, data: PasswordBody
) -> Response[Any]:
    try:
        await disable(db_session, await _me(db_session, request), data.password)
    except TwoFactorError as error:
        return _refused(error)
    await audit.record(db_session, "auth.two_factor_disabled", user=request.user)
    await db_session.commit()
    return Response({"enabled": False})


ACCOUNT_HANDLERS: list[Any] = [
    my_sessions, end_my_session, end_all_my_sessions, my_two_factor, setup_two_factor,
    enable_two_factor, disable_two_factor,
]  # fmt: skip
