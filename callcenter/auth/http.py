"""Login, logout, who am I, change my password."""

from __future__ import annotations

from aiohttp import web

from callcenter.webkit.endpoints import (
    COOKIE,
    PUBLIC,
    STAFF,
    Api,
    ApiError,
    Call,
    invalid,
)
from callcenter.webkit.principal import Principal

from .schemas import Done, LoginRequest, Me, PasswordChange, PasswordReset
from .services import AuthService, LoginError, RateLimited, WeakPassword

api = Api("auth", "Console accounts and sessions (cookie `cc_session`).")

CONSOLES = {"agent": ["agent"], "supervisor": ["agent", "wallboard", "reports"],
            "admin": ["wallboard", "reports", "admin"]}


def me(principal: Principal) -> Me:
    return Me(**principal.as_dict(), consoles=CONSOLES.get(principal.role, []))


def set_session_cookie(call: Call, response: web.StreamResponse, token: str) -> None:
    auth: AuthService = call.service
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                        secure=auth.secure_cookies, path="/", max_age=int(auth.session_max_age))


@api.route("POST", "/api/auth/login", roles=PUBLIC, body=LoginRequest, response=Me,
           summary="Log in; sets the session cookie. 429 with Retry-After when throttled.",
           errors={401, 429})
async def login(call: Call) -> web.Response:
    body: LoginRequest = call.body
    address = call.request.remote or "unknown"
    try:
        token, principal = await call.service.login(body.username, body.password, address)
    except RateLimited as exc:
        raise ApiError(429, "too_many_attempts", str(exc),
                       headers={"Retry-After": str(int(exc.retry_after + 0.999))}) from None
    except LoginError as exc:
        raise ApiError(401, "bad_credentials", str(exc)) from None
    previous = call.request.cookies.get(COOKIE)
    if previous:  # a new login replaces the browser's old session
        await call.service.logout(previous)
    response = web.json_response(me(principal).model_dump())
    set_session_cookie(call, response, token)
    return response


@api.route("POST", "/api/auth/logout", roles=STAFF, response=Done,
           summary="End this session (and close its WebSockets); clears the cookie.",
           before_password_change=True)
async def logout(call: Call) -> web.Response:
    token = call.request.cookies.get(COOKIE, "")
    await call.service.logout(token)
    response = web.json_response(Done().model_dump())
    response.del_cookie(COOKIE, path="/")
    return response


@api.route("GET", "/api/me", roles=STAFF, response=Me, summary="Who is logged in.",
           before_password_change=True)
async def whoami(call: Call) -> Me:
    return me(call.user)


@api.route("POST", "/api/me/password", roles=STAFF, body=PasswordChange, response=Me,
           summary="Change my password (at least 10 characters, not a common one); every "
                   "other session of mine ends.", before_password_change=True)
async def change_password(call: Call) -> web.Response:
    body: PasswordChange = call.body
    try:
        token = await call.service.change_password(call.user, body.current_password,
                                                   body.new_password)
    except LoginError as exc:
        raise invalid("current_password", str(exc)) from None
    except WeakPassword as exc:
        raise invalid("new_password", f"the new password {exc}") from None
    principal = await call.service.principal(token)
    response = web.json_response(me(principal).model_dump())
    set_session_cookie(call, response, token)
    return response


@api.route("POST", "/api/auth/users/{username}/password-reset", roles={"admin"},
           response=PasswordReset, errors={404, 409},
           summary="Give a user a one-time password (shown once); their sessions end and "
                   "it only lets them choose their own.")
async def reset_password(call: Call) -> PasswordReset:
    username = call.request.match_info["username"]
    try:
        password = await call.service.reset_password(call.user, username)
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except PermissionError as exc:
        raise ApiError(409, "own_account", str(exc)) from None
    return PasswordReset(username=username, temporary_password=password)
