"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.params import Body
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_200_OK, HTTP_429_TOO_MANY_REQUESTS
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents import services
from backend.agents.auth import CurrentAgent, context_of, new_token_id, require_role
from backend.agents.models import Agent, Presence, Role
from backend.realtime.events import commit_and_publish


class LoginBody(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK, exclude_from_csrf=True)
    async def login(
        self, request: Request[Any, Any, Any], db_session: AsyncSession,
        data: Annotated[LoginBody, Body()],
    ) -> Response[Any]:  # fmt: skip
        context = context_of(request)
        try:
            agent = await services.authenticate(
                db_session, context.redis, data.email, data.password,
                context.settings.login_attempts_per_minute,
            )  # fmt: skip
        except services.TooManyAttempts:
            return Response(
                {"status_code": 429, "detail": "too many failed sign-ins: try again in a minute"},
                status_code=HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": "60"},
            )  # fmt: skip
        if agent is None:
            raise NotAuthorizedException("invalid email or password")
        auth = request.app.state.jwt_auth
        assert agent.id is not None
        token = auth.create_token(identifier=str(agent.id), token_unique_jwt_id=new_token_id())
        body = {"token": token, "agent": (await services.view(db_session, agent)).as_dict()}
        cookie = Cookie(
            key=auth.key, value=token, path="/", httponly=True, samesite=auth.samesite,
            secure=auth.secure, max_age=int(auth.default_token_expiration.total_seconds()),
        )  # fmt: skip
        return Response(body, cookies=[cookie])

    @post("/logout", status_code=HTTP_200_OK)
    async def logout(
        self, request: Request[CurrentAgent, Token, Any], db_session: AsyncSession
    ) -> Response[dict[str, str]]:
        token = request.auth
        if token.jti:
            await services.revoke_token(db_session, str(token.jti), token.exp.astimezone(UTC))
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


def build_cookie_key(request: Request[Any, Any, Any]) -> str:
    key: str = request.app.state.jwt_auth.key
    return key


class NewAgentBody(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(min_length=1, max_length=120)
    role: Role = Role.agent
    teams: list[str] = Field(default_factory=list)
    capacity: int = Field(default=5, ge=1, le=100)


class PresenceBody(BaseModel):
    presence: Presence


class AgentsController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/")
    async def list_agents(self, db_session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
        return {"items": [view.as_dict() for view in await services.list_agents(db_session)]}

    @post("/", guards=[require_role(Role.admin)], status_code=201)
    async def create(self, db_session: AsyncSession, data: NewAgentBody) -> dict[str, Any]:
        try:
            agent = await services.create_agent(
                db_session, email=data.email, password=data.password, name=data.name,
                role=data.role.value, teams=data.teams, capacity=data.capacity,
            )  # fmt: skip
        except services.AgentError as error:
            raise ClientException(str(error), status_code=409) from None
        await db_session.commit()
        return (await services.view(db_session, agent)).as_dict()

    @post("/me/presence", status_code=HTTP_200_OK)
    async def set_presence(
        self, request: Request[CurrentAgent, Any, Any], db_session: AsyncSession, data: PresenceBody
    ) -> dict[str, Any]:
        agent = await services.set_presence(db_session, request.user.id, data.presence)
        await commit_and_publish(db_session, context_of(request).redis)
        return (await services.view(db_session, agent)).as_dict()
