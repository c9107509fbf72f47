"""The consoles: one aiohttp application for agents, supervisors and admins.

``make_consoles_app(deps)`` mounts every feature's route table (``deps.web.apis``,
added by the features' plugins) behind one guard (``callcenter.webkit``), the
WebSocket hub at ``/api/ws`` (who sees what: the features' audiences), the
OpenAPI document, and the static pages: ``/`` (index), ``/agent``, ``/wallboard``,
``/admin`` and ``/static/``. It closes every WebSocket on shutdown; the engine's
parts are started and stopped by the composition root.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from callcenter.auth.services import AuthService
from callcenter.features import Dependencies
from callcenter.webkit.endpoints import PRINCIPAL, PUBLIC_ORIGIN, ApiError, Endpoint, mount
from callcenter.webkit.openapi import build_openapi

from . import vendor
from .hub import Hub

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html", "/agent": "agent.html", "/wallboard": "wallboard.html",
         "/admin": "admin.html", "/reports": "reports.html"}

VENDOR = vendor.NODE_MODULES
VENDORED = {"echarts.js": "echarts/dist/echarts.esm.min.mjs"}
"""Browser libraries from npm (``make setup`` installs them; never committed, no CDN),
served as ``/vendor/<name>``; JsSIP (``/vendor/jssip.js``, the browser phone) is wrapped
as an ES module by ``vendor.py``."""
ENDPOINTS = web.AppKey("endpoints", list[Endpoint])
HUB = web.AppKey("hub", Hub)


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


def make_consoles_app(deps: Dependencies) -> web.Application:
    app = web.Application(middlewares=[security_headers, errors], client_max_size=1024 ** 2)
    auth = deps.need(AuthService)
    app[PRINCIPAL] = auth.principal
    app[PUBLIC_ORIGIN] = lambda: deps.config().callcenter.web.public_origin
    endpoints = mount(app, deps.web.apis)
    app.router.add_routes(deps.web.routes)
    app[ENDPOINTS] = endpoints
    document = json.dumps(build_openapi(endpoints), ensure_ascii=False)
    hub = app[HUB] = Hub(bus=deps.bus, parts=deps.web, clock=deps.clock,
                         principal=auth.principal)
    deps.web.watchers = hub.watchers
    deps.web.sockets["console"] = lambda: len(hub.connections)

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/json")

    app.router.add_get("/api/ws", hub.handle, allow_head=False)
    app.router.add_get("/api/openapi.json", openapi, allow_head=False)
    for path, page in PAGES.items():
        app.router.add_get(path, _page(STATIC / page), allow_head=False)
    app.router.add_static("/static", STATIC, append_version=False)
    app.router.add_get("/vendor/{name}", _vendor, allow_head=False)

    async def start(_app: web.Application) -> None:
        await hub.start()

    async def shutdown(_app: web.Application) -> None:
        await hub.close_all()
        for close in deps.web.closers:
            await close()

    app.on_startup.append(start)
    app.on_shutdown.append(shutdown)
    return app


async def _vendor(request: web.Request) -> web.StreamResponse:
    if request.match_info["name"] == "jssip.js":
        try:
            text = vendor.jssip()
        except (vendor.Missing, OSError) as exc:
            log.error("web.vendor_missing", extra={"file": str(exc), "fix": "make setup"})
            raise web.HTTPNotFound(text="jssip is not installed: run make setup") from None
        return web.Response(text=text, content_type="text/javascript", charset="utf-8",
                            headers={"Cache-Control": "max-age=86400"})
    inside = VENDORED.get(request.match_info["name"])
    if inside is None:
        raise web.HTTPNotFound()
    path = VENDOR / inside
    if not path.is_file():
        log.error("web.vendor_missing", extra={"file": inside, "fix": "make setup"})
        raise web.HTTPNotFound(text=f"{inside} is not installed: run make setup")
    return web.FileResponse(path, headers={"Content-Type": "text/javascript; charset=utf-8",
                                           "Cache-Control": "max-age=86400"})


def _page(path: Path) -> Any:
    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    page.__name__ = f"page_{path.stem}"
    return page
