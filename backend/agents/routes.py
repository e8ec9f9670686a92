"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import Cookie
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import Body, Parameter
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_200_OK, HTTP_429_TOO_MANY_REQUESTS
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents import account, links, services
from backend.agents.auth import CurrentAgent, new_token_id, require_role
from backend.agents.models import Agent, Presence, Role
from backend.audit import services as audit
from backend.core.allowlists import admin_allowed
from backend.core.context import context_of
from backend.db.types import utcnow
from backend.realtime.events import commit_and_publish


def _source(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class LoginBody(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, max_length=32,
        description="the authenticator app's 6 digits, or a recovery code, when two-factor is on",
    )  # fmt: skip


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK, exclude_from_csrf=True)
    async def login(
        self, request: Request[Any, Any, Any], db_session: AsyncSession,
        data: Annotated[LoginBody, Body()],
    ) -> Response[Any]:  # fmt: skip
        context = context_of(request)
        source = request.client.host if request.client else "unknown"
        try:
            agent = await services.authenticate(
                db_session, context.redis, data.email, data.password,
                context.settings.login_attempts_per_minute,
                source=source, source_limit=context.settings.login_attempts_per_source_per_minute,
            )  # fmt: skip
        except services.TooManyAttempts:
            await audit.record(db_session, "auth.sign_in_throttled", source=source,
                               actor=("anonymous", None, data.email), detail="429")  # fmt: skip
            await db_session.commit()
            return Response(
                {"status_code": 429, "detail": "too many failed sign-ins: try again in a minute"},
                status_code=HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": "60"},
            )  # fmt: skip
        if agent is None:
            await audit.record(db_session, "auth.sign_in_failed", source=source,
                               actor=("anonymous", None, data.email), detail="wrong password")  # fmt: skip
            await db_session.commit()
            raise NotAuthorizedException("invalid email or password")
        if agent.role == Role.admin.value and not admin_allowed(context.settings, source):
            raise PermissionDeniedException("admins may sign in only from ADMIN_ALLOWED_CIDRS")
        assert agent.id is not None
        if await account.has_two_factor(db_session, agent.id):
            if not data.code:
                return Response(
                    {"status_code": 401, "two_factor_required": True,
                     "detail": "enter the code from your authenticator app (or a recovery code)"},
                    status_code=401,
                )  # fmt: skip
            if not await account.second_factor_passes(db_session, agent, data.code):
                await services.count_failed_sign_in(context.redis, data.email, source)
                await audit.record(db_session, "auth.sign_in_failed", source=source,
                                   actor=("agent", agent.id, agent.email), detail="wrong code")  # fmt: skip
                await db_session.commit()
                return Response(
                    {"status_code": 401, "two_factor_required": True,
                     "detail": "that code is not right"}, status_code=401,
                )  # fmt: skip
        await audit.record(db_session, "auth.sign_in", source=source,
                           actor=("agent", agent.id, agent.email))  # fmt: skip
        return await signed_in(request, db_session, agent)

    @post("/logout", status_code=HTTP_200_OK)
    async def logout(
        self, request: Request[CurrentAgent, Token, Any], db_session: AsyncSession
    ) -> Response[dict[str, str]]:
        token = request.auth
        await audit.record(db_session, "auth.sign_out", user=request.user, source=_source(request))
        if token.jti:
            await services.revoke_token(db_session, str(token.jti), token.exp.astimezone(UTC))
        else:
            await db_session.commit()
        response = Response({"status": "signed out"})
        response.delete_cookie(build_cookie_key(request))
        return response

    @get("/me")
    async def me(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession
    ) -> dict[str, Any]:
        agent = await db_session.get(Agent, request.user.id)
        if agent is None:
            raise NotAuthorizedException("not signed in")
        return (await services.view(db_session, agent)).as_dict()


async def signed_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, agent: Agent,
    status_code: int = HTTP_200_OK,
) -> Response[Any]:  # fmt: skip
    """A new session for the agent: the token (under their current session epoch) and its cookie."""
    auth = request.app.state.jwt_auth
    assert agent.id is not None
    jti = new_token_id()
    token = auth.create_token(
        identifier=str(agent.id), token_unique_jwt_id=jti,
        token_extras={"epoch": agent.session_epoch},
    )  # fmt: skip
    await account.record_session(
        db_session, agent, jti, utcnow() + auth.default_token_expiration,
        request.client.host if request.client else None, request.headers.get("user-agent"),
    )  # fmt: skip
    await db_session.commit()
    body = {"token": token, "agent": (await services.view(db_session, agent)).as_dict()}
    cookie = Cookie(
        key=auth.key, value=token, path="/", httponly=True, samesite=auth.samesite,
        secure=auth.secure, max_age=int(auth.default_token_expiration.total_seconds()),
    )  # fmt: skip
    return Response(body, cookies=[cookie], status_code=status_code)


def build_cookie_key(request: Request[Any, Any, Any]) -> str:
    key: str = request.app.state.jwt_auth.key
    return key


def agent_error(error: services.AgentError) -> ClientException:
    """The service's reason as Litestar's error shape, with the field in `extra` the way
    Litestar reports validation errors, so the admin console shows both beside their field."""
    extra = [{"key": error.field, "message": str(error)}] if error.field else None
    detail = f"{error.field}: {error}" if error.field else str(error)
    return ClientException(detail, status_code=error.status, extra=extra)


class NewAgentBody(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=120)
    role: Role = Role.agent
    teams: list[str] | None = Field(
        default=None, description="team names; omitted: WHATSAPP_DEFAULT_TEAM (the default queue)"
    )
    capacity: int = Field(default=5, ge=1, le=100)


class AgentPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    role: Role | None = None
    teams: list[str] | None = None
    capacity: int | None = Field(default=None, ge=1, le=100)
    active: bool | None = None


class PasswordBody(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class OwnPasswordBody(BaseModel):
    current: str = Field(min_length=1, max_length=1024)
    new: str = Field(min_length=1, max_length=1024)


class PresenceBody(BaseModel):
    presence: Presence


class AgentsController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/")
    async def list_agents(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
        include_inactive: bool = False, q: str | None = Parameter(default=None, max_length=120),
    ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        """Everyone signed in may list active agents (to transfer, to mention); leads and admins
        also the deactivated ones."""
        views = await services.list_agents(
            db_session, include_inactive=include_inactive and request.user.is_lead, q=q
        )
        return {"items": [view.as_dict() for view in views]}

    @post("/", guards=[require_role(Role.admin)], status_code=201)
    async def create(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
        data: NewAgentBody,
    ) -> dict[str, Any]:  # fmt: skip
        teams = data.teams
        if teams is None:
            teams = [context_of(request).settings.whatsapp_default_team]
        try:
            agent = await services.create_agent(
                db_session, email=data.email, password=data.password, name=data.name,
                role=data.role.value, teams=teams, capacity=data.capacity, create_teams=False,
            )  # fmt: skip
        except services.AgentError as error:
            raise agent_error(error) from None
        view = (await services.view(db_session, agent)).as_dict()
        await audit.record(db_session, "agent.created", user=request.user, source=_source(request),
                           target_type="agent", target_id=agent.id, after=view)  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return view

    @patch("/{agent_id:int}", guards=[require_role(Role.admin)])
    async def update(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
        agent_id: int, data: AgentPatch,
    ) -> dict[str, Any]:  # fmt: skip
        changes = data.model_dump(exclude_unset=True)
        if changes.get("role") is not None:
            changes["role"] = Role(changes["role"]).value
        for key in ("name", "role", "capacity", "active"):
            if key in changes and changes[key] is None:
                raise agent_error(services.AgentError("must not be null", key))
        existing = await db_session.get(Agent, agent_id)
        before = (await services.view(db_session, existing)).as_dict() if existing else None
        try:
            agent = await services.update_agent(
                db_session, agent_id, changes, by_id=request.user.id
            )
        except services.AgentError as error:
            raise agent_error(error) from None
        after = (await services.view(db_session, agent)).as_dict()
        action = "agent.deactivated" if before and before.get("active") and not after.get("active") else (
            "agent.role_changed" if before and before.get("role") != after.get("role") else "agent.updated"
        )  # fmt: skip
        await audit.record(db_session, action, user=request.user, source=_source(request),
                           target_type="agent", target_id=agent_id, before=before, after=after)  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return after

    @post("/{agent_id:int}/password", guards=[require_role(Role.admin)], status_code=HTTP_200_OK)
    async def reset_password(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession,
        agent_id: int, data: PasswordBody,
    ) -> dict[str, Any]:  # fmt: skip
        """An admin sets a new password: every session of that agent ends."""
        agent = await db_session.get(Agent, agent_id)
        if agent is None:
            raise NotFoundException("no such agent")
        try:
            await services.set_password(db_session, agent, data.password)
        except services.AgentError as error:
            raise agent_error(error) from None
        await audit.record(db_session, "agent.password_reset", user=request.user,
                           source=_source(request), target_type="agent", target_id=agent_id)  # fmt: skip
        await commit_and_publish(db_session, context_of(request).redis)
        return (await services.view(db_session, agent)).as_dict()

    @post("/me/presence", status_code=HTTP_200_OK)
    async def set_presence(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, data: PresenceBody
    ) -> dict[str, Any]:
        agent = await services.set_presence(db_session, request.user.id, data.presence)
        await commit_and_publish(db_session, context_of(request).redis)
        return (await services.view(db_session, agent)).as_dict()


@post("/api/v1/me/password", tags=["agents"], status_code=HTTP_200_OK)
async def change_my_password(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, data: OwnPasswordBody
) -> Response[Any]:
    """The agent's own change (the current password required). Their other sessions end; this
    one goes on with the new token and cookie in the answer."""
    try:
        token = request.auth
        agent = await services.change_own_password(
            db_session, request.user.id, data.current, data.new,
            keep_session=str(token.jti) if isinstance(token, Token) and token.jti else None,
        )  # fmt: skip
    except services.AgentError as error:
        raise agent_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return await signed_in(request, db_session, agent)


class OwnProfileBody(BaseModel):
    name: str = Field(min_length=1, max_length=120)


@patch("/api/v1/me", tags=["agents"])
async def change_my_profile(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, data: OwnProfileBody
) -> dict[str, Any]:
    """An agent renames themselves (only the name: role, teams and capacity are an admin's)."""
    try:
        agent = await services.update_agent(
            db_session, request.user.id, {"name": data.name}, by_id=request.user.id
        )
    except services.AgentError as error:
        raise agent_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return (await services.view(db_session, agent)).as_dict()


@post(
    "/api/v1/agents/{agent_id:int}/password-link", tags=["agents"],
    guards=[require_role(Role.admin)], status_code=HTTP_200_OK,
)  # fmt: skip
async def password_link(
    request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, agent_id: int
) -> dict[str, Any]:
    """A one-time link to give an agent instead of a password (72 hours; used once)."""
    agent = await db_session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise NotFoundException("no such active agent")
    settings = context_of(request).settings
    assert agent.id is not None
    token, expires = links.make_token(settings.signing_key(), agent.id, agent.session_epoch)
    return {"url": f"{settings.public_base_url}/#set-password={token}", "token": token,
            "expires_at": expires.isoformat()}  # fmt: skip


class LinkPasswordBody(BaseModel):
    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=1, max_length=1024)


@post(
    "/api/v1/auth/set-password", tags=["auth"], status_code=HTTP_200_OK,
    exclude_from_auth=True, exclude_from_csrf=True,
)  # fmt: skip
async def set_password_from_link(
    request: Request[Any, Any, Any], db_session: AsyncSession, data: LinkPasswordBody
) -> dict[str, Any]:
    """The link's page: a new password for the agent it names; then they sign in as usual."""
    found = links.read_token(context_of(request).settings.signing_key(), data.token)
    if found is None:
        raise agent_error(
            services.AgentError("this link is not valid or has expired", "token", 410)
        )
    try:
        agent = await services.set_password_by_link(db_session, found[0], found[1], data.password)
    except services.AgentError as error:
        raise agent_error(error) from None
    await commit_and_publish(db_session, context_of(request).redis)
    return {"email": agent.email}
