"""The route table: each feature's ``http.py`` declares its endpoints here.

An endpoint says its method, path, the roles allowed to call it, and its request and
response models. ``make_web_app`` mounts them all behind ``guarded``, which runs, in
this order, before the handler:

1. **CSRF** — a state-changing request (POST, PUT, PATCH, DELETE) must carry an
   ``Origin`` header naming this site: ``web.public_origin``, or the address the
   request was sent to when that is a loopback address (tests, a console opened on
   the server itself). Browsers always send ``Origin`` on such requests and scripts
   on other sites cannot forge it; together with the ``SameSite=Strict`` cookie this
   is the whole CSRF defence (no tokens). Otherwise: 403 ``bad_origin``.
2. **Authentication** — the ``cc_session`` cookie must name a live session, unless
   the endpoint is public. Otherwise: 401 ``unauthenticated``.
3. **Role** — the user's role must be one the endpoint lists. Otherwise: 403. A user
   whose password was chosen for them (agents.yaml, an admin's reset) gets 403
   ``password_change_required`` from every endpoint not marked ``before_password_change``
   (who am I, log out, change my password) until they choose their own.
4. **Body** — JSON parsed into the endpoint's pydantic model. Otherwise: 422 with
   the validation errors.

A service's ``FieldError`` (a value the schema alone cannot judge: a disposition the
queue does not have, a queue that takes no calls) is answered 422 in the same shape.
Each route declares the other statuses it can answer (``errors``: 404, 409, 429,
503...); 401/403/422 follow from its roles, method and body. The OpenAPI document
lists them all, and the role-matrix test checks every answer seen is documented.

Finer checks (a supervisor's teams, an agent's own offers) are the handler's, via
the policy functions of ``callcenter.webkit.principal``; they answer 403 too. A
handler reaches its own feature's service, and nothing else, as ``call.service``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ValidationError

from callcenter.config.models import Config
from callcenter.errors import FieldError
from callcenter.webkit.principal import Principal, may_supervise

log = logging.getLogger(__name__)

PUBLIC = frozenset({"public"})
STAFF = frozenset({"agent", "supervisor", "admin"})
AGENT_CONSOLE = frozenset({"agent", "supervisor"})
SUPERVISION = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})

TEAM_SCOPE = "supervisor: agents of teams they supervise; admin: any agent"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE = "cc_session"

PRINCIPAL = web.AppKey("principal_resolver", Callable[[str | None], Awaitable[Principal | None]])
PUBLIC_ORIGIN = web.AppKey("public_origin", Callable[[], str])
_CALLER: Any = (web.RequestKey("principal", object) if hasattr(web, "RequestKey")
                else "cc_principal")  # aiohttp < 3.12 has no RequestKey


class ApiError(web.HTTPException):
    """An error answered as ``{"error": code, "message": ...}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None, extra: dict | None = None) -> None:
        self.status_code = status
        body = {"error": code, "message": message, **(extra or {})}
        super().__init__(text=json.dumps(body, ensure_ascii=False),
                         content_type="application/json", headers=headers)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "log in first")


def forbidden(message: str = "your role may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def password_change_required() -> ApiError:
    return ApiError(403, "password_change_required",
                    "choose your own password first (POST /api/me/password): the one you "
                    "have was given to you")


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_body", message,
                    extra={"details": [{"loc": [field], "msg": message, "type": "value_error"}]})


def supervised_agent(call: Call, config: Config) -> str:
    """The ``{agent_id}`` of the path, if the caller may act on that agent (403/404)."""
    agent_id = call.param("agent_id")
    if not may_supervise(call.user, agent_id, config):
        raise forbidden(f"{agent_id} is not in a team you supervise")
    if config.agent(agent_id) is None:
        raise not_found(f"no agent {agent_id}")
    return agent_id


@dataclass
class Call:
    """What a handler gets: the request, who is calling, the parsed body, and the
    service of the feature that declared the route (its only way into the engine)."""

    request: web.Request
    principal: Principal | None
    body: Any
    service: Any = None

    @property
    def user(self) -> Principal:
        assert self.principal is not None
        return self.principal

    def param(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    roles: frozenset[str]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    list_response: bool = False
    scope: str | None = None
    """Finer rule than the role, e.g. "supervisor: agents of teams they supervise"."""
    status: int = 200
    errors: frozenset[int] = frozenset()
    """Statuses besides those implied by roles, method and body (404, 409, 429...)."""
    before_password_change: bool = False
    """Open to a user who must still change the password they were given."""

    @property
    def public(self) -> bool:
        return self.roles == PUBLIC

    def answers(self) -> dict[int, str]:
        """Every status this endpoint can answer besides success, with what it means."""
        out = {code: ERROR_MEANINGS[code] for code in self.errors}
        if not self.public:
            out[401] = ERROR_MEANINGS[401]
            out[403] = ERROR_MEANINGS[403]
        if self.method not in SAFE_METHODS:
            out[403] = ERROR_MEANINGS[403]
        if self.body is not None or 422 in self.errors:
            out[422] = ERROR_MEANINGS[422]
        return dict(sorted(out.items()))


ERROR_MEANINGS = {
    400: "Bad request (the message says why)",
    401: "Not logged in (or wrong credentials)",
    403: "Role or scope not allowed, an Origin that is not this site, or a password the "
         "user must change first",
    404: "No such thing (the message says which)",
    409: "Not possible now (the message says why)",
    413: "Too large (the message says the limit)",
    415: "Not an accepted kind of file (the message lists the accepted ones)",
    422: "Invalid value: details[].loc names the field",
    429: "Too many attempts: retry after the Retry-After header",
    503: "A part this needs is not connected (the message says which)",
}


@dataclass
class Api:
    """A feature's route table."""

    tag: str
    description: str = ""
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(self, method: str, path: str, *, roles: Iterable[str], summary: str,
              body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              list_response: bool = False, scope: str | None = None, status: int = 200,
              errors: Iterable[int] = (),
              before_password_change: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method.upper(), path, handler, frozenset(roles),
                                           summary, self.tag, body, response, list_response,
                                           scope, status, frozenset(errors),
                                           before_password_change))
            return handler

        return register


# ---------------------------------------------------------------------------- origin


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_allowed(request: web.Request, public_origin: str) -> bool:
    """True when the request's ``Origin`` is this site (see the module docstring)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    origin = origin.rstrip("/")
    if origin == public_origin.rstrip("/"):
        return True
    own = f"{request.scheme}://{request.host}"
    return origin == own and _loopback(urlsplit(own).hostname)


async def current_principal(request: web.Request) -> Principal | None:
    """The session's user (cached on the request)."""
    if _CALLER not in request:
        request[_CALLER] = await request.app[PRINCIPAL](request.cookies.get(COOKIE))
    return request[_CALLER]


async def socket_principal(request: web.Request) -> Principal:
    """Who opens a WebSocket with the session cookie: a live session (401), a page of this
    site (403: another site's page must not open one with the user's cookie), and a
    password of their own (403)."""
    principal = await current_principal(request)
    if principal is None:
        raise ApiError(401, "unauthenticated", "log in first")
    if not origin_allowed(request, request.app[PUBLIC_ORIGIN]()):
        log.warning("web.ws_bad_origin", extra={"origin": request.headers.get("Origin"),
                                                "user": principal.username})
        raise ApiError(403, "bad_origin", "this page is not from this site")
    if principal.must_change_password:
        raise password_change_required()
    return principal


# ---------------------------------------------------------------------------- wrapper


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def guarded(endpoint: Endpoint,
            service: Any = None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method not in SAFE_METHODS and not origin_allowed(
                request, request.app[PUBLIC_ORIGIN]()):
            log.warning("web.bad_origin", extra={"path": request.path,
                                                 "origin": request.headers.get("Origin")})
            raise ApiError(403, "bad_origin",
                           "state-changing requests need an Origin header of this site")
        principal = await current_principal(request)
        if not endpoint.public:
            if principal is None:
                raise unauthenticated()
            if principal.role not in endpoint.roles:
                raise forbidden(f"{endpoint.method} {endpoint.path} is for "
                                f"{', '.join(sorted(endpoint.roles))}")
            if principal.must_change_password and not endpoint.before_password_change:
                raise password_change_required()
        body = None
        if endpoint.body is not None:
            body = await _parse(request, endpoint.body)
        try:
            result = await endpoint.handler(Call(request, principal, body, service))
        except FieldError as exc:
            raise invalid(exc.field, str(exc)) from None
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        return web.json_response(_dump(result), status=endpoint.status,
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    handle.__name__ = endpoint.handler.__name__
    handle.__doc__ = endpoint.handler.__doc__
    return handle


async def _parse(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    content_type = request.content_type
    if content_type.startswith("text/") or content_type in ("application/yaml",
                                                           "application/x-yaml"):
        # A raw upload (curl --data-binary @queues.yaml): the text field of the model.
        try:
            data: Any = {"text": raw.decode("utf-8")}
        except UnicodeDecodeError:
            raise ApiError(422, "invalid_body", "the file is not UTF-8 text") from None
    else:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError(422, "invalid_body", "the body is not JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise ApiError(422, "invalid_body", "the request body is not valid",
                       extra={"details": details}) from None


def mount(app: web.Application, apis: Iterable[tuple[Api, Any]]) -> list[Endpoint]:
    """Add every endpoint of each (route table, its feature's service) to ``app``."""
    out: list[Endpoint] = []
    for api, service in apis:
        for endpoint in api.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, guarded(endpoint, service))
            out.append(endpoint)
    return out
