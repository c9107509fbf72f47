"""The agent console API: my device, my state, my offers, my wrap-ups; and a
supervisor's correction of a wrap-up's disposition.

Every agent endpoint acts on the caller's own agent (``agent_id`` of their account);
none takes another agent's id, so an agent never reaches another agent's data. Handlers
call ``AgentConsole`` (``call.service``) only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from callcenter.webkit.endpoints import (
    AGENT_CONSOLE,
    PUBLIC,
    SUPERVISION,
    Api,
    Call,
    conflict,
    forbidden,
    not_found,
)
from callcenter.webkit.principal import customer_queues

from .console import AgentConsole, NoAgentProfile
from .schemas import (
    AgentStatus,
    Console,
    DeviceLogin,
    DispositionCorrection,
    DispositionRecord,
    Offer,
    ProvisioningLink,
    StateRequest,
    Wrapup,
    WrapupExtension,
    WrapupRequest,
)
from .services import AgentError, NotYours

api = Api("agent", "The agent console: device, presence, offers (screen-pop), wrap-up.")


async def _run(call: Call, action: Callable[[AgentConsole], Awaitable[Any]],
               model: type[BaseModel] = AgentStatus) -> Any:
    """Answer with ``model``: 403 without an agent profile or for another agent's
    offer or contact, 404 for an unknown one, 409 when the engine refuses."""
    try:
        result = await action(call.service)
    except (NoAgentProfile, NotYours) as exc:
        raise forbidden(str(exc)) from None
    except LookupError as exc:
        raise not_found(str(exc)) from None
    except AgentError as exc:
        raise conflict(str(exc)) from None
    if isinstance(result, list):
        return [model.model_validate(item) for item in result]
    return model.model_validate(result)


def _me(call: Call) -> str | None:
    return call.user.agent_id


@api.route("GET", "/api/agent/console", roles=AGENT_CONSOLE, response=Console,
           summary="My profile, state, and softphone settings (what to type into the app).")
async def console(call: Call) -> Console:
    return await _run(call, lambda s: s.console(_me(call)), Console)


@api.route("POST", "/api/agent/login", roles=AGENT_CONSOLE, body=DeviceLogin,
           response=AgentStatus, summary="Sign in to my phone (device) and the queues.",
           errors={409})
async def agent_login(call: Call) -> AgentStatus:
    body: DeviceLogin = call.body
    return await _run(call, lambda s: s.login(_me(call), body.device, body.ready))


@api.route("POST", "/api/agent/logout", roles=AGENT_CONSOLE, response=AgentStatus,
           summary="Sign out of the queues (work in hand runs to its end).",
           errors={409})
async def agent_logout(call: Call) -> AgentStatus:
    return await _run(call, lambda s: s.logout(_me(call)))


@api.route("POST", "/api/agent/state", roles=AGENT_CONSOLE, body=StateRequest,
           response=AgentStatus, summary="Go ready, or not ready with a reason.",
           errors={409})
async def set_state(call: Call) -> AgentStatus:
    body: StateRequest = call.body
    return await _run(call, lambda s: s.set_state(_me(call), body.state, body.reason))


@api.route("GET", "/api/agent/offers", roles=AGENT_CONSOLE, response=Offer, list_response=True,
           summary="Offers waiting for me, each with its screen-pop (after a page reload).")
async def offers(call: Call) -> list[Offer]:
    return await _run(call, lambda s: s.offers(_me(call)), Offer)


@api.route("POST", "/api/agent/offers/{offer_id}/accept", roles=AGENT_CONSOLE,
           response=AgentStatus, scope="only an offer made to me; chats only (answer the "
           "phone for a call)", summary="Accept a chat offer.",
           errors={409})
async def accept(call: Call) -> AgentStatus:
    offer_id = call.param("offer_id")
    return await _run(call, lambda s: s.answer_offer(_me(call), offer_id, accept=True))


@api.route("POST", "/api/agent/offers/{offer_id}/reject", roles=AGENT_CONSOLE,
           response=AgentStatus, scope="only an offer made to me",
           summary="Decline an offer; it goes back to its place in the queue.",
           errors={409})
async def reject(call: Call) -> AgentStatus:
    offer_id = call.param("offer_id")
    return await _run(call, lambda s: s.answer_offer(_me(call), offer_id, accept=False))


@api.route("GET", "/api/agent/wrapups", roles=AGENT_CONSOLE, response=Wrapup,
           list_response=True, summary="My contacts waiting for a disposition and notes.")
async def wrapups(call: Call) -> list[Wrapup]:
    return await _run(call, lambda s: s.wrapups(_me(call)), Wrapup)


@api.route("POST", "/api/agent/wrapups/{task_id}", roles=AGENT_CONSOLE, body=WrapupRequest,
           response=AgentStatus, scope="only a contact I handled",
           summary="Finish wrap-up: store the disposition and notes, end after-call work. "
                   "Given once, while the wrap-up runs (or a required disposition is "
                   "owed); 409 otherwise: corrections are a supervisor's.",
           errors={404, 409})
async def finish_wrapup(call: Call) -> AgentStatus:
    body: WrapupRequest = call.body
    task_id = call.param("task_id")
    return await _run(call, lambda s: s.finish_wrapup(_me(call), task_id, body.disposition,
                                                      body.notes))


@api.route("POST", "/api/agent/wrapups/{task_id}/extend", roles=AGENT_CONSOLE,
           body=WrapupExtension, response=Wrapup, scope="only a wrap-up of mine running",
           summary="More time for a wrap-up that ends on its timer (409 for one that lasts "
                   "until its form is sent).",
           errors={404, 409})
async def extend_wrapup(call: Call) -> Wrapup:
    body: WrapupExtension = call.body
    task_id = call.param("task_id")
    return await _run(call, lambda s: s.extend_wrapup(_me(call), task_id, body.seconds), Wrapup)


@api.route("PATCH", "/api/interactions/{task_id}/disposition", roles=SUPERVISION,
           body=DispositionCorrection, response=DispositionRecord,
           scope="supervisor: a contact of a queue they watch; admin: any",
           summary="Correct a contact's disposition and notes after its wrap-up; the "
                   "history keeps what was replaced, by whom and why (DISPOSITION_EDIT).",
           errors={404, 409})
async def correct_disposition(call: Call) -> DispositionRecord:
    body: DispositionCorrection = call.body
    task_id = call.param("task_id")

    def correct(console: AgentConsole) -> Awaitable[dict[str, Any]]:
        return console.agents.correct_disposition(
            call.user.username, customer_queues(call.user, console.config()), task_id,
            body.disposition, (body.notes or "").strip() or None, body.reason.strip())

    return await _run(call, correct, DispositionRecord)


@api.route("POST", "/api/agent/softphone/provisioning", roles=AGENT_CONSOLE,
           response=ProvisioningLink, errors={409},
           summary="A one-time link (10 minutes) Linphone fetches my SIP account from.")
async def provisioning_link(call: Call) -> ProvisioningLink:
    return await _run(call, lambda s: _now(s.provisioning_link(_me(call))), ProvisioningLink)


@api.route("GET", "/provisioning/linphone/{token}.xml", roles=PUBLIC, errors={404},
           summary="Linphone's remote provisioning: the account of the agent whose one-time "
                   "link this is (the token is the credential; it works once).")
async def provisioning_xml(call: Call) -> web.Response:
    console: AgentConsole = call.service
    text = console.provisioning_xml(call.param("token"))
    if text is None:
        raise not_found("this provisioning link is unknown, used or expired")
    return web.Response(text=text, content_type="application/xml",
                        headers={"Cache-Control": "no-store"})


async def _now(value: Any) -> Any:
    return value
