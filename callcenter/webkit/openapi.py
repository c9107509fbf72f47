"""The OpenAPI 3.1 document, generated from the route table and its pydantic models.

Every operation carries ``x-roles`` (the roles allowed, or ``["public"]``) and, where
a finer rule applies, ``x-scope`` (e.g. a supervisor's teams).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .endpoints import PUBLIC, STAFF, Endpoint

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"

_ERROR = {"type": "object", "properties": {
    "error": {"type": "string"}, "message": {"type": "string"},
    "details": {"type": "array", "items": {"type": "object", "properties": {
        "loc": {"type": "array"}, "msg": {"type": "string"}}}}}}

DESCRIPTION = """\
REST API of the contact-center consoles. Log in with `POST /api/auth/login`; the
session is the `cc_session` cookie (HttpOnly, SameSite=Strict, Secure on https).

**Roles.** Each operation lists the roles allowed in `x-roles`; `x-scope` states a
finer rule (a supervisor acts on agents of the teams they supervise; an agent on
their own offers, contacts and customers). Each operation lists every status it can
answer: 401 not logged in, 403 not allowed, 404 no such thing, 409 not possible now,
422 an invalid value (`details[].loc` names the field), 429 too many attempts.

**CSRF.** POST, PUT, PATCH and DELETE need an `Origin` header equal to the public
origin (`web.public_origin`) or, on a loopback address, the address requested.

**Live events.** `GET /api/ws` upgrades to a WebSocket (same cookie and Origin
rules) carrying bus events as JSON: `agent.offer`, `agent.offer_withdrawn`,
`agent.state`, `agent.ringing`, `agent.connected`, `agent.wrapup`,
`interaction.summary`, `wallboard.snapshot`, `config.changed`.
"""


def _path_params(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(path)]


def build_openapi(endpoints: Iterable[Endpoint], *, title: str = "Contact center consoles",
                  version: str = "1") -> dict[str, Any]:
    endpoints = list(endpoints)
    inputs = {e.body for e in endpoints if e.body is not None}
    outputs = {e.response for e in endpoints if e.response is not None}
    keys: list[tuple[type[BaseModel], str]] = [(m, "validation") for m in inputs]
    keys += [(m, "serialization") for m in outputs]
    mapping, definitions = models_json_schema(keys, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "operationId": e.handler.__name__, "summary": e.summary, "tags": [e.tag],
            "x-roles": sorted(e.roles),
            "responses": {},
        }
        if e.scope:
            op["x-scope"] = e.scope
        if not e.public:
            op["security"] = [{"session": []}]
        params = _path_params(e.path)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": mapping[(e.body, "validation")]}}}
        ok: dict[str, Any] = {"description": "OK"}
        if e.response is not None:
            schema = mapping[(e.response, "serialization")]
            if e.list_response:
                schema = {"type": "array", "items": schema}
            ok["content"] = {"application/json": {"schema": schema}}
        op["responses"][str(e.status)] = ok
        for code, text in e.answers().items():
            op["responses"][str(code)] = {"description": text, "content": {
                "application/json": {"schema": _ERROR}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    paths["/api/ws"] = {"get": {
        "operationId": "websocket", "tags": ["live"], "x-roles": sorted(STAFF),
        "security": [{"session": []}],
        "summary": "WebSocket of live events for this user (see the description).",
        "responses": {"101": {"description": "Switching protocols"},
                      "401": {"description": "Not logged in"},
                      "403": {"description": "Origin is not this site"}}}}
    paths["/api/phone/ws"] = {"get": {
        "operationId": "phone_websocket", "tags": ["live"], "x-roles": ["agent", "supervisor"],
        "security": [{"session": []}],
        "summary": "The browser phone's SIP over WebSocket (subprotocol sip), relayed to "
                   "Asterisk.",
        "responses": {"101": {"description": "Switching protocols"},
                      "401": {"description": "Not logged in"},
                      "403": {"description": "Origin is not this site, or no browser phone"},
                      "503": {"description": "Asterisk's WebSocket does not answer"}}}}
    paths["/api/openapi.json"] = {"get": {
        "operationId": "openapi", "tags": ["docs"], "x-roles": sorted(PUBLIC),
        "summary": "This document.", "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                            "name": "cc_session"}},
        },
    }
