"""``make_web_app(deps)``: the aiohttp application of the consoles.

It mounts every feature's route table (``auth``, ``agents``, ``customers``,
``wallboard``, ``admin``) behind the guard of ``callcenter.web.endpoints``, the
WebSocket hub at ``/api/ws``, the OpenAPI document, and the static pages:
``/`` (index), ``/agent``, ``/wallboard``, ``/admin`` and ``/static/``.

The app starts the wallboard notifier on startup and closes every WebSocket on
shutdown; the engine parts in ``deps`` are started and stopped by their owner.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from callcenter.admin import http as admin_http
from callcenter.admin.services import AdminService
from callcenter.agents import http as agents_http
from callcenter.agents.notifier import OfferNotifier
from callcenter.auth import http as auth_http
from callcenter.auth.services import AuthService
from callcenter.config.models import Config
from callcenter.customers import http as customers_http
from callcenter.customers.services import CustomerService
from callcenter.wallboard import http as wallboard_http
from callcenter.wallboard.notifier import WallboardNotifier
from callcenter.wallboard.services import WallboardService

from .deps import WebDeps
from .endpoints import PRINCIPAL, PUBLIC_ORIGIN, SERVICES, Api, ApiError, Endpoint, mount
from .hub import Hub
from .openapi import build_openapi

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
APIS: tuple[Api, ...] = (auth_http.api, agents_http.api, customers_http.api,
                         wallboard_http.api, admin_http.api)
PAGES = {"/": "index.html", "/agent": "agent.html", "/wallboard": "wallboard.html",
         "/admin": "admin.html"}

ENDPOINTS = web.AppKey("endpoints", list[Endpoint])
NOTIFIER = web.AppKey("wallboard_notifier", WallboardNotifier)


@dataclass
class Services:
    """The feature services one app shares; handlers reach them as ``call.services``."""

    deps: WebDeps
    auth: AuthService
    customers: CustomerService
    wallboard: WallboardService
    admin: AdminService
    offers: OfferNotifier
    hub: Hub = field(init=False)

    def config(self) -> Config:
        return self.deps.config_store.config

    def public_origin(self) -> str:
        return self.config().callcenter.web.public_origin

    def current_tasks(self, agent_id: str) -> list[str]:
        """Tasks offered to, connected to or wrapping up with this agent now."""
        view = self.deps.engine.agent(agent_id)
        if view is None:
            return []
        tasks = [o.task_id for o in (self.deps.agents.offer(i) for i in view.offers) if o]
        return [*tasks, *view.connected, *view.wrapping]


def build_services(deps: WebDeps) -> Services:
    def config() -> Config:
        return deps.config_store.config

    customers = CustomerService(deps.store, config, deps.clock)
    services = Services(
        deps=deps,
        auth=AuthService(store=deps.store, config=config, clock=deps.clock,
                         session_ttl=deps.session_ttl),
        customers=customers,
        wallboard=WallboardService(engine=deps.engine, stats=deps.stats, store=deps.store,
                                   routing=deps.routing, agents=deps.agents, config=config,
                                   clock=deps.clock),
        admin=AdminService(config_store=deps.config_store, store=deps.store, bus=deps.bus,
                           clock=deps.clock),
        offers=OfferNotifier(bus=deps.bus, agents=deps.agents, screen_pop=customers.screen_pop,
                             clock=deps.clock, config=config),
    )
    services.hub = Hub(bus=deps.bus, services=services)
    return services


# ---------------------------------------------------------------------------- middlewares


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """JSON errors under /api; a crash is logged and answered 500 without details."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or isinstance(exc, ApiError) or \
                exc.status < 400:
            raise
        raise ApiError(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason) from None
    except Exception:
        log.exception("web.handler_failed", extra={"path": request.path,
                                                   "method": request.method})
        if request.path.startswith("/api/"):
            raise ApiError(500, "internal", "something went wrong; it has been logged") \
                from None
        raise


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _harden(request, exc)
        raise
    _harden(request, response)
    return response


def _harden(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a WebSocket
        return
    host = request.host
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


# ---------------------------------------------------------------------------- the app


def make_web_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers, errors], client_max_size=1024 ** 2)
    services = build_services(deps)
    app[SERVICES] = services
    app[PRINCIPAL] = services.auth.principal
    app[PUBLIC_ORIGIN] = services.public_origin
    endpoints = mount(app, APIS)
    app[ENDPOINTS] = endpoints
    document = json.dumps(build_openapi(endpoints), ensure_ascii=False)

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/json")

    app.router.add_get("/api/ws", services.hub.handle, allow_head=False)
    app.router.add_get("/api/openapi.json", openapi, allow_head=False)
    for path, page in PAGES.items():
        app.router.add_get(path, _page(STATIC / page), allow_head=False)
    app.router.add_static("/static", STATIC, append_version=False)

    notifier = WallboardNotifier(service=services.wallboard, bus=deps.bus,
                                 interval=deps.snapshot_interval, watching=services.hub.watchers)
    app[NOTIFIER] = notifier

    async def start(_app: web.Application) -> None:
        await notifier.start()

    async def shutdown(_app: web.Application) -> None:
        await services.hub.close_all()

    async def cleanup(_app: web.Application) -> None:
        await notifier.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return app


def _page(path: Path) -> Any:
    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    page.__name__ = f"page_{path.stem}"
    return page
