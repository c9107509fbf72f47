"""What staff consoles receive about chats, and who receives it.

Topics (``agent_id`` is the agent holding the conversation, if any):

* ``chat.message`` ``{conversation_id, task_id, message}`` — a message in either
  direction (``message``: ``staff_message``);
* ``chat.typing`` ``{conversation_id, who, name, on}`` — the visitor (``who``: "visitor")
  or a staff member (``who``: their agent id or username, ``name`` shown) types;
* ``chat.read`` ``{conversation_id, side, upto}`` — ``side`` visitor: they received
  (``got``) or read (``read``) the agent's messages up to message id ``upto``;
* ``chat.delivery`` ``{conversation_id, message_id, status, error}`` — an outbound
  message was sent, or refused by the channel (WeChat's closed window);
* ``chat.conversation`` ``{conversation}`` — its state changed (queued, active, ended,
  transferred, the visitor came or went, WeChat's window closed or opened).

Who: the agent named in ``agent_id``; supervisors and admins reading the conversation
(``watch``, from ``GET /api/chat/conversations/{id}``) get every topic of it. Offers,
withdrawals and wrap-ups of chats are the agents feature's ``agent.*`` topics, published
through its ``OfferNotifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from callcenter.bus import BusEvent, EventBus
from callcenter.storage import Message
from callcenter.storage.chats import ChatFile
from callcenter.webkit.principal import Principal

from .conversation import Conversation

__all__ = ["TOPICS", "ChatNotifier", "file_dict", "staff_message"]

TOPICS = frozenset({"chat.message", "chat.typing", "chat.read", "chat.delivery",
                    "chat.conversation"})
WATCH_LIMIT = 20  # conversations one supervisor follows at once (the last opened)


def file_dict(file: ChatFile | None) -> dict[str, Any] | None:
    if file is None:
        return None
    return {"id": file.id, "name": file.name, "type": file.content_type, "size": file.size}


def staff_message(m: Message, file: ChatFile | None,
                  name: Callable[[str], str | None]) -> dict[str, Any]:
    """A message as the consoles show it (``sender_name``: the agent's name)."""
    return {"id": m.id, "direction": m.direction, "sender": m.sender,
            "sender_name": name(m.sender) if m.direction == "out" else None,
            "body": m.body, "type": m.content_type, "at": m.created_at,
            "status": m.delivery_status, "error": m.last_error, "file": file_dict(file)}


class ChatNotifier:
    def __init__(self, *, bus: EventBus, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.clock = clock
        self._watching: dict[str, OrderedDict[str, None]] = {}
        self.may_watch: Callable[[Principal, str | None, str], bool] = lambda *_a: True
        """Whether a reader may still follow a chat held by this agent in this queue
        (``ChatDesk.may_read``): a chat that moved to another team's agent stops
        reaching the supervisor who opened it."""

    # ------------------------------------------------------------------ audience

    def audience(self, user: Principal, event: BusEvent) -> bool:
        if event.topic not in TOPICS:
            return False
        if user.agent_id is not None and event.agent_id == user.agent_id:
            return True
        watched = self._watching.get(user.username)
        return bool(watched) and event.data.get("conversation_id") in watched \
            and self.may_watch(user, event.agent_id, event.queue or "")

    def watch(self, username: str, conversation_id: str) -> None:
        watched = self._watching.setdefault(username, OrderedDict())
        watched.pop(conversation_id, None)
        watched[conversation_id] = None
        while len(watched) > WATCH_LIMIT:
            watched.popitem(last=False)

    def watched_by(self, conversation_id: str) -> list[str]:
        return [u for u, convs in self._watching.items() if conversation_id in convs]

    # ------------------------------------------------------------------ payloads

    def _publish(self, topic: str, conv: Conversation, data: dict[str, Any]) -> None:
        self.bus.publish(topic, {"conversation_id": conv.id, **data}, at=self.clock(),
                         agent_id=conv.agent_id, queue=conv.queue)

    def message(self, conv: Conversation, message: dict[str, Any]) -> None:
        self._publish("chat.message", conv, {"task_id": conv.task_id, "message": message})

    def typing(self, conv: Conversation, who: str, on: bool, name: str | None = None) -> None:
        self._publish("chat.typing", conv, {"who": who, "name": name, "on": on})

    def read(self, conv: Conversation, kind: str, upto: int) -> None:
        self._publish("chat.read", conv, {"side": "visitor", "kind": kind, "upto": upto})

    def delivery(self, conv: Conversation, message_id: int, status: str,
                 error: str | None = None) -> None:
        self._publish("chat.delivery", conv, {"message_id": message_id, "status": status,
                                              "error": error})

    def conversation(self, conv: Conversation, summary: dict[str, Any],
                     agent_id: str | None = None) -> None:
        """State changed; ``agent_id`` overrides who gets it (the agent it just left)."""
        self.bus.publish("chat.conversation", {"conversation_id": conv.id,
                                               "conversation": summary},
                         at=self.clock(), agent_id=agent_id or conv.agent_id, queue=conv.queue)
