"""The chat feature's routes: the consoles' chat API, and the widget's (public) ones.

Staff routes (``api``) call ``ChatDesk``: an agent acts on the chats they hold, a
supervisor reads and joins those of teams they supervise. Visitor routes
(``widget_api``) call ``WebWidget``; they are public, and each one after the pre-chat
form needs the conversation's token (``Authorization: Bearer <token>``). The widget's
files are public pages like the consoles'; ``/chat/widget`` may only be framed by
``chat.web.allowed_origins`` (and the console's own origin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from pydantic import BaseModel

from callcenter.webkit.endpoints import (
    AGENT_CONSOLE,
    PUBLIC,
    STAFF,
    Api,
    ApiError,
    Call,
)

from .files import FileRefused, check_upload, file_response, read_limited
from .schemas import (
    CallbackQueued,
    ChatMerge,
    ChatRead,
    ChatSend,
    ChatTransfer,
    ChatTyping,
    ConversationDetail,
    ConversationSummary,
    Merged,
    Rated,
    Rating,
    StaffMessage,
    TranscriptMailed,
    VisitorEnded,
    VisitorMessage,
    WidgetConfig,
    WidgetStart,
    WidgetStarted,
)
from .services import ChatError, Throttled

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"widget-app.js": "text/javascript", "widget.css": "text/css"}

api = Api("chat", "Chats in the consoles: an agent's conversations, supervisors reading "
                  "and joining them.")
widget_api = Api("widget", "The web chat widget (public; a conversation's token after the "
                           "pre-chat form).")


async def _run(call: Call, action: Callable[[Any], Awaitable[Any]],
               model: type[BaseModel] | None = None) -> Any:
    try:
        result = await action(call.service)
    except Throttled as exc:
        raise ApiError(429, "throttled", str(exc),
                       headers={"Retry-After": str(exc.retry_after)}) from None
    except ChatError as exc:
        raise ApiError(exc.status, type(exc).__name__.lower(), str(exc)) from None
    except FileRefused as exc:
        raise ApiError(exc.status, "file_refused", exc.reason) from None
    if model is None or result is None:
        return result
    if isinstance(result, list):
        return [model.model_validate(item) for item in result]
    return model.model_validate(result)


def _conversation(call: Call) -> str:
    return call.param("conversation_id")


def _token(call: Call) -> str | None:
    header = call.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _int(call: Call, name: str) -> int:
    try:
        return int(call.param(name))
    except ValueError:
        raise ApiError(404, "not_found", f"no such {name.removesuffix('_id')}") from None


# ---------------------------------------------------------------------------- staff

_404 = {404}
_ACT = {404, 409}


@api.route("GET", "/api/chat/conversations", roles=AGENT_CONSOLE, response=ConversationDetail,
           list_response=True, summary="My chats: connected, and ended ones in wrap-up "
                                       "(messages, screen-pop, canned replies).")
async def my_conversations(call: Call) -> list[ConversationDetail]:
    return await _run(call, lambda s: s.mine(call.user), ConversationDetail)


@api.route("GET", "/api/chat/conversations/{conversation_id}", roles=STAFF,
           response=ConversationDetail, errors=_404,
           scope="agent: chats they hold; supervisor: chats of teams they supervise (or "
                 "queued in queues they watch), which they then follow live; admin: any",
           summary="One open chat with its messages.")
async def conversation(call: Call) -> ConversationDetail:
    return await _run(call, lambda s: s.read_conversation(call.user, _conversation(call)),
                      ConversationDetail)


@api.route("POST", "/api/chat/conversations/{conversation_id}/messages", roles=AGENT_CONSOLE,
           body=ChatSend, response=StaffMessage, errors=_ACT,
           scope="the agent holding the chat, or a supervisor who joined it",
           summary="Send a message to the customer (stored, then delivered).")
async def send(call: Call) -> StaffMessage:
    body: ChatSend = call.body
    return await _run(call, lambda s: s.send(call.user, _conversation(call), body.text,
                                             body.client_id), StaffMessage)


@api.route("POST", "/api/chat/conversations/{conversation_id}/files", roles=AGENT_CONSOLE,
           response=StaffMessage, errors={404, 409, 413, 415, 422},
           scope="the agent holding the chat, or a supervisor who joined it",
           summary="Send an image or file: the raw bytes as the body, its type as "
                   "Content-Type, its name in X-File-Name (percent-encoded).")
async def send_file(call: Call) -> StaffMessage:
    async def act(service: Any) -> Any:
        uploads = service.uploads()

        async def read() -> Any:
            data = await read_limited(call.request, uploads.max_bytes)
            return check_upload(unquote(call.request.headers.get("X-File-Name", "")),
                                call.request.content_type, data, allowed=uploads.types,
                                max_bytes=uploads.max_bytes)

        return await service.send_file(call.user, _conversation(call), read)

    return await _run(call, act, StaffMessage)


@api.route("POST", "/api/chat/conversations/{conversation_id}/typing", roles=AGENT_CONSOLE,
           body=ChatTyping, status=204, errors=_404, scope="as for sending",
           summary="Show (or stop showing) that I am typing.")
async def typing(call: Call) -> None:
    body: ChatTyping = call.body
    await _run(call, lambda s: s.typing(call.user, _conversation(call), body.on))


@api.route("POST", "/api/chat/conversations/{conversation_id}/read", roles=AGENT_CONSOLE,
           body=ChatRead, status=204, errors=_404, scope="as for sending",
           summary="I have read the customer's messages up to this id.")
async def read(call: Call) -> None:
    body: ChatRead = call.body
    await _run(call, lambda s: s.mark_read(call.user, _conversation(call), body.upto))


@api.route("POST", "/api/chat/conversations/{conversation_id}/end", roles=AGENT_CONSOLE,
           response=ConversationSummary, errors=_ACT, scope="the agent holding the chat",
           summary="End the chat; the wrap-up form (disposition, notes) follows.")
async def end(call: Call) -> ConversationSummary:
    return await _run(call, lambda s: s.end(call.user, _conversation(call)),
                      ConversationSummary)


@api.route("POST", "/api/chat/conversations/{conversation_id}/transfer", roles=AGENT_CONSOLE,
           body=ChatTransfer, response=ConversationSummary, errors=_ACT,
           scope="the agent holding the chat",
           summary="Hand the chat to another queue and/or a named agent.")
async def transfer(call: Call) -> ConversationSummary:
    body: ChatTransfer = call.body
    return await _run(call, lambda s: s.transfer(call.user, _conversation(call),
                                                 queue=body.queue, agent_id=body.agent_id),
                      ConversationSummary)


@api.route("POST", "/api/chat/conversations/{conversation_id}/join", roles={"supervisor"},
           response=ConversationSummary, errors=_ACT,
           scope="a chat of an agent of a team they supervise",
           summary="Join a live chat: my messages reach the customer too.")
async def join(call: Call) -> ConversationSummary:
    return await _run(call, lambda s: s.join(call.user, _conversation(call)),
                      ConversationSummary)


@api.route("POST", "/api/chat/conversations/{conversation_id}/callback", roles=AGENT_CONSOLE,
           response=CallbackQueued, errors={404, 409, 503}, scope="as for sending",
           summary="Call the customer back through the chat's queue (their phone must be "
                   "known): for when the chat channel cannot reach them.")
async def callback(call: Call) -> CallbackQueued:
    return await _run(call, lambda s: s.request_callback(call.user, _conversation(call)),
                      CallbackQueued)


@api.route("POST", "/api/chat/conversations/{conversation_id}/merge", roles=AGENT_CONSOLE,
           body=ChatMerge, response=Merged, errors=_ACT,
           scope="as for sending; only a customer the chat's visitor named (suggestions)",
           summary="The visitor is this known customer: merge their records (undoable).")
async def merge(call: Call) -> Merged:
    body: ChatMerge = call.body
    return await _run(call, lambda s: s.merge(call.user, _conversation(call),
                                              body.customer_id), Merged)


@api.route("POST", "/api/chat/merges/{merge_id}/undo", roles=STAFF, response=Merged,
           errors=_ACT, scope="a merge they made; supervisor: one an agent of their teams "
           "made; admin: any",
           summary="Split two customers merged by mistake.")
async def undo_merge(call: Call) -> Merged:
    merge_id = _int(call, "merge_id")
    return await _run(call, lambda s: s.undo_merge(call.user, merge_id), Merged)


@api.route("GET", "/api/chat/files/{file_id}", roles=STAFF, errors=_404,
           scope="a file of a chat the user may read",
           summary="An image or file of a chat (images inline, others as a download).")
async def staff_file(call: Call) -> web.Response:
    file_id = _int(call, "file_id")
    file = await _run(call, lambda s: s.file_for_staff(call.user, file_id))
    return file_response(file.name, file.content_type, file.data or b"")


# ---------------------------------------------------------------------------- visitors


def _asset(path: Path, content_type: str) -> web.Response:
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        headers={"Cache-Control": "no-cache"})


@widget_api.route("GET", "/chat/widget.js", roles=PUBLIC, errors=_404,
                  summary="The one script tag a site adds: it opens the widget in a frame.")
async def loader(call: Call) -> web.Response:
    await _run(call, lambda s: s.ready())
    response = _asset(STATIC / "widget.js", "text/javascript")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@widget_api.route("GET", "/chat/widget", roles=PUBLIC, errors=_404,
                  summary="The widget's page (framed only by the allowed origins).")
async def page(call: Call) -> web.Response:
    await _run(call, lambda s: s.ready())
    response = _asset(STATIC / "widget.html", "text/html")
    response.headers["Content-Security-Policy"] = call.service.page_policy(call.request)
    return response


@widget_api.route("GET", "/chat/static/{name}", roles=PUBLIC, errors=_404,
                  summary="The widget page's script and style.")
async def asset(call: Call) -> web.Response:
    name = call.param("name")
    if name not in ASSETS:
        raise ApiError(404, "not_found", "no such file")
    return _asset(STATIC / name, ASSETS[name])


@widget_api.route("GET", "/api/widget/config", roles=PUBLIC, response=WidgetConfig,
                  errors=_404, summary="The pre-chat form's topics and the upload limits.")
async def widget_config(call: Call) -> WidgetConfig:
    return await _run(call, lambda s: s.public_config(), WidgetConfig)


@widget_api.route("POST", "/api/widget/conversations", roles=PUBLIC, body=WidgetStart,
                  response=WidgetStarted, status=201, errors={404, 429},
                  summary="Start a chat from the pre-chat form (limited per address).")
async def start(call: Call) -> WidgetStarted:
    body: WidgetStart = call.body
    return await _run(call, lambda s: s.start(body, call.request.remote or "?"),
                      WidgetStarted)


@widget_api.route("GET", "/api/widget/ws", roles=PUBLIC, errors={403, 404}, status=101,
                  summary="The visitor's live socket (the first frame authenticates).")
async def visitor_socket(call: Call) -> web.StreamResponse:
    return await _run(call, lambda s: s.socket(call.request))


@widget_api.route("POST", "/api/widget/conversations/{conversation_id}/files", roles=PUBLIC,
                  response=VisitorMessage, status=201,
                  errors={404, 409, 413, 415, 422, 429},
                  scope="the conversation's token",
                  summary="Send an image or file (raw body, Content-Type, X-File-Name).")
async def visitor_upload(call: Call) -> VisitorMessage:
    request = call.request
    return await _run(call, lambda s: s.upload(
        _conversation(call), _token(call), unquote(request.headers.get("X-File-Name", "")),
        request.content_type, lambda limit: read_limited(request, limit),
        request.headers.get("X-Client-Id")), VisitorMessage)


@widget_api.route("GET", "/api/widget/conversations/{conversation_id}/files/{file_id}",
                  roles=PUBLIC, errors=_404, scope="the conversation's token",
                  summary="A file of the conversation.")
async def visitor_file(call: Call) -> web.Response:
    file_id = _int(call, "file_id")
    file = await _run(call, lambda s: s.file(_conversation(call), _token(call), file_id))
    return file_response(file.name, file.content_type, file.data or b"")


@widget_api.route("GET", "/api/widget/conversations/{conversation_id}/transcript",
                  roles=PUBLIC, errors=_404, scope="the conversation's token",
                  summary="The conversation as a text file, for the visitor to keep.")
async def transcript(call: Call) -> web.Response:
    text = await _run(call, lambda s: s.transcript(_conversation(call), _token(call)))
    return web.Response(text=text, content_type="text/plain", charset="utf-8", headers={
        "Content-Disposition": 'attachment; filename="chat-transcript.txt"'})


@widget_api.route("POST", "/api/widget/conversations/{conversation_id}/transcript/email",
                  roles=PUBLIC, response=TranscriptMailed, errors={404, 409, 429, 503},
                  scope="the conversation's token; only to the address the customer gave",
                  summary="E-mail the transcript to the visitor (chat.web.transcript_email).")
async def mail_transcript(call: Call) -> TranscriptMailed:
    return await _run(call, lambda s: s.mail_transcript(_conversation(call), _token(call)),
                      TranscriptMailed)


@widget_api.route("POST", "/api/widget/conversations/{conversation_id}/rating", roles=PUBLIC,
                  body=Rating, response=Rated, errors=_ACT, scope="the conversation's token",
                  summary="Rate the chat, 1 to 5 (once).")
async def rate(call: Call) -> Rated:
    body: Rating = call.body
    return await _run(call, lambda s: s.rate(_conversation(call), _token(call), body.score,
                                             body.comment), Rated)


@widget_api.route("POST", "/api/widget/conversations/{conversation_id}/end", roles=PUBLIC,
                  response=VisitorEnded, errors=_404, scope="the conversation's token",
                  summary="The visitor ends the chat.")
async def visitor_end(call: Call) -> VisitorEnded:
    return await _run(call, lambda s: s.end(_conversation(call), _token(call)), VisitorEnded)


__all__ = ["api", "widget_api"]
