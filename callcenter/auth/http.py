"""Login, logout, who am I, change my password."""

from __future__ import annotations

from aiohttp import web

from callcenter.web.endpoints import (
    COOKIE,
    PUBLIC,
    STAFF,
    Api,
    ApiError,
    Call,
)

from .schemas import Done, LoginRequest, Me, PasswordChange
from .services import LoginError, Principal, RateLimited

api = Api("auth", "Console accounts and sessions (cookie `cc_session`).")

CONSOLES = {"agent": ["agent"], "supervisor": ["agent", "wallboard"],
            "admin": ["wallboard", "admin"]}


def me(principal: Principal) -> Me:
    return Me(**principal.as_dict(), consoles=CONSOLES.get(principal.role, []))


def set_session_cookie(call: Call, response: web.StreamResponse, token: str) -> None:
    services = call.services
    secure = services.public_origin().startswith("https://")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=secure,
                        path="/", max_age=int(services.deps.session_ttl))


@api.route("POST", "/api/auth/login", roles=PUBLIC, body=LoginRequest, response=Me,
           summary="Log in; sets the session cookie. 429 with Retry-After when throttled.")
async def login(call: Call) -> web.Response:
    body: LoginRequest = call.body
    address = call.request.remote or "unknown"
    try:
        token, principal = await call.services.auth.login(body.username, body.password, address)
    except RateLimited as exc:
        raise ApiError(429, "too_many_attempts", str(exc),
                       headers={"Retry-After": str(int(exc.retry_after + 0.999))}) from None
    except LoginError as exc:
        raise ApiError(401, "bad_credentials", str(exc)) from None
    previous = call.request.cookies.get(COOKIE)
    if previous:  # a new login replaces the browser's old session
        await call.services.auth.logout(previous)
        await call.services.hub.close_session(previous)
    response = web.json_response(me(principal).model_dump())
    set_session_cookie(call, response, token)
    return response


@api.route("POST", "/api/auth/logout", roles=STAFF, response=Done,
           summary="End this session (and close its WebSockets); clears the cookie.")
async def logout(call: Call) -> web.Response:
    token = call.request.cookies.get(COOKIE, "")
    await call.services.auth.logout(token)
    await call.services.hub.close_session(token)
    response = web.json_response(Done().model_dump())
    response.del_cookie(COOKIE, path="/")
    return response


@api.route("GET", "/api/me", roles=STAFF, response=Me, summary="Who is logged in.")
async def whoami(call: Call) -> Me:
    return me(call.user)


@api.route("POST", "/api/me/password", roles=STAFF, body=PasswordChange, response=Done,
           summary="Change my password; every other session of mine ends.")
async def change_password(call: Call) -> web.Response:
    body: PasswordChange = call.body
    auth = call.services.auth
    try:
        await auth.change_password(call.user, body.current_password, body.new_password)
    except LoginError as exc:
        raise ApiError(400, "bad_password", str(exc)) from None
    await call.services.hub.close_user(call.user.username)
    token, _ = await auth.store.create_session(call.user.username, ttl=auth.session_ttl,
                                               now=auth.clock())
    response = web.json_response(Done().model_dump())
    set_session_cookie(call, response, token)
    return response
