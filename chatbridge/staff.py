"""The staff's side of chats: what an agent does with the chats they hold, and what a
supervisor reads and joins. The one service the consoles' chat routes call.

Who may do what: an agent acts on conversations they hold; a supervisor reads the
conversations of agents in teams they supervise (or, while queued, of queues their
teams watch) and may join them; an admin reads any. A customer merge is undone by who
made it, a supervisor of their team, or an admin. A message is stored first, then
delivered: to the widget's sockets, or through the channel's API (``AccountChannel``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.config.models import Uploads
from callcenter.errors import FieldError
from callcenter.storage import Message, mask_identity
from callcenter.storage.chats import ChatFile, NewMessage
from callcenter.webkit.principal import Principal, may_supervise, visible_queue_ids

from .conversation import Conversation
from .files import Upload
from .notifier import staff_message
from .services import (
    Callbacks,
    ChatService,
    Conflict,
    Gone,
    NotAllowed,
    Unavailable,
    visitor_message,
)

__all__ = ["ChatDesk"]

log = logging.getLogger("chatbridge")


class ChatDesk:
    def __init__(self, chat: ChatService, voice: Callable[[], Callbacks | None]) -> None:
        self.chat = chat
        self._voice = voice

    def uploads(self) -> Uploads:
        """What files may be sent (the widget's limits hold for agents too)."""
        return self.chat.config().callcenter.chat.web.uploads

    # ------------------------------------------------------------------ staff: reading

    def _for_staff(self, user: Principal, conversation_id: str, *,
                   act: bool = False) -> Conversation:
        """The conversation if this user may read it (``act``: also write to it)."""
        conv = self.chat.convs.get(conversation_id) or self.chat.convs.of_task(conversation_id)
        if conv is None:
            raise Gone("no such open conversation")
        if user.agent_id is not None and conv.agent_id == user.agent_id:
            return conv
        if act and user.username in conv.joined and self.may_read(user, conv.agent_id,
                                                                  conv.queue):
            return conv  # joined, and the chat is still their team's
        if user.role in ("supervisor", "admin") and not act and self.may_read(
                user, conv.agent_id, conv.queue):
            return conv
        raise NotAllowed("this conversation is not yours" if user.role == "agent"
                         else "this conversation is not in a team you supervise")

    def may_read(self, user: Principal, agent_id: str | None, queue: str) -> bool:
        """Whether a chat held by ``agent_id`` (None: nobody yet) in ``queue`` is one of
        this supervisor's (admins: every chat)."""
        if user.role not in ("supervisor", "admin"):
            return False
        config = self.chat.config()
        if user.role == "admin":
            return True
        if agent_id is not None:
            return may_supervise(user, agent_id, config)
        return queue in visible_queue_ids(user, config)

    async def mine(self, user: Principal) -> list[dict[str, Any]]:
        """The agent's conversations: connected, and ended ones still in wrap-up."""
        if user.agent_id is None:
            return []
        return [await self.detail(c) for c in self.chat.convs.for_agent(user.agent_id)]

    async def read_conversation(self, user: Principal, conversation_id: str) -> dict[str, Any]:
        conv = self._for_staff(user, conversation_id)
        if conv.agent_id is not None and conv.agent_id == user.agent_id:
            return await self.detail(conv)  # their own chat
        self.chat.notifier.watch(user.username, conv.id)
        return await self.detail(conv, viewer=user)

    async def detail(self, conv: Conversation, *, limit: int = 200,
                     viewer: Principal | None = None) -> dict[str, Any]:
        """``viewer``: someone other than the agent holding it (a supervisor), whose own
        rights then cut the screen-pop's history (``CustomerService.screen_pop``)."""
        messages = await self.chat.store.last_conversation_messages(conv.id, limit)
        files = await self.chat.store.files_of_messages(m.id for m in messages
                                                   if m.content_type != "text")
        config = self.chat.config()
        queue = config.queues.get(conv.queue)
        pop = (await self.chat.customers.screen_pop(conv.task_id, viewer) if conv.task_id
               else {"customer": None, "interaction": {"id": None}, "history": []})
        return {**self.chat.summary(conv),
                "messages": [staff_message(m, files.get(m.id), self.chat.agent_name)
                             for m in messages],
                "pop": pop,
                "canned": [{"zh": r.zh, "en": r.en} for r in queue.canned_replies] if queue
                else [],
                "callback_possible": await self._callback_number(conv) is not None,
                "suggestions": await self.suggestions(conv),
                "transfer": {"queues": [{"id": qid, "name": self.chat.customers.queue_name(qid)}
                                        for qid, q in config.queues.items() if q.chat],
                             "agents": [{"id": a.id, "name": a.name} for a in config.agents
                                        if a.takes_chat and a.id != conv.agent_id]}}

    # ------------------------------------------------------------------ staff: acting

    async def send(self, user: Principal, conversation_id: str, text: str,
                   client_id: str) -> dict[str, Any]:
        conv = self._for_staff(user, conversation_id, act=True)
        self._sendable(conv)
        limit = self.chat.config().callcenter.chat.web.limits.max_message_chars
        text = text.strip()
        if not text:
            raise FieldError("text", "the message is empty")
        if len(text) > max(limit, 2000):
            raise FieldError("text", f"at most {max(limit, 2000)} characters")
        m = await self.chat.convs.writer.write(NewMessage(
            conv.id, conv.task_id, conv.customer_id, "out", user.agent_id or user.username,
            text, "agent", f"{conv.id}:{client_id}", "text", self.chat.clock(),
            "sent" if conv.medium in self.chat.visitors else "pending"))
        out = staff_message(m, None, self.chat.agent_name)
        if not m.duplicate:
            self.chat.notifier.message(conv, out)
            await self._deliver(conv, m, None)
        return out

    async def send_file(self, user: Principal, conversation_id: str,
                        read: Callable[[], Awaitable[Upload]]) -> dict[str, Any]:
        """Send an image or file; ``read`` reads (and checks) it once access is granted."""
        conv = self._for_staff(user, conversation_id, act=True)
        self._sendable(conv)
        upload = await read()
        sender = self.chat.senders.get(conv.medium)
        if sender is not None and not upload.image:
            raise FieldError("file", "this channel takes images only")
        m = await self.chat.convs.writer.write(NewMessage(
            conv.id, conv.task_id, conv.customer_id, "out", user.agent_id or user.username,
            upload.name, "agent", f"{conv.id}:file-{uuid.uuid4().hex}",
            "image" if upload.image else "file", self.chat.clock(),
            "sent" if conv.medium in self.chat.visitors else "pending"))
        file = await self.chat.store.add_chat_file(conv.id, name=upload.name,
                                              content_type=upload.content_type,
                                              data=upload.data, sha256=upload.sha256,
                                              message_id=m.id)
        out = staff_message(m, file, self.chat.agent_name)
        self.chat.notifier.message(conv, out)
        await self._deliver(conv, m, file, upload)
        return out

    def _sendable(self, conv: Conversation) -> None:
        if conv.status != "active":
            raise Conflict("the conversation is not live (it ended or left this agent)")

    async def _deliver(self, conv: Conversation, m: Message, file: ChatFile | None,
                       upload: Upload | None = None) -> None:
        live = self.chat.visitors.get(conv.medium)
        if live is not None:
            await live.message(conv, visitor_message(m, file, self.chat.agent_name(m.sender)))
            return
        sender = self.chat.senders.get(conv.medium)
        if sender is not None:
            sender.queue_send(conv, m, upload)

    async def typing(self, user: Principal, conversation_id: str, on: bool) -> None:
        conv = self._for_staff(user, conversation_id, act=True)
        await self.chat.tell(conv, {"t": "typing", "on": on})
        self.chat.notifier.typing(conv, user.agent_id or user.username, on,
                                  user.display_name or user.username)

    async def mark_read(self, user: Principal, conversation_id: str, upto: int) -> None:
        conv = self._for_staff(user, conversation_id, act=True)
        if upto > conv.agent_read:
            conv.agent_read = upto
            conv.dirty = True
            await self.chat.tell(conv, {"t": "read", "upto": upto})

    async def end(self, user: Principal, conversation_id: str) -> dict[str, Any]:
        """The agent ends the chat; the wrap-up form (disposition, notes) follows."""
        conv = self._for_staff(user, conversation_id, act=True)
        if conv.agent_id != user.agent_id:
            raise NotAllowed("only the agent holding the chat ends it")
        self._sendable(conv)
        assert conv.task_id is not None and conv.agent_id is not None
        self.chat.routing.end(conv.task_id, "agent")
        self.chat.offers.wrapup(conv.agent_id, conv.task_id, conv.queue)
        await self.chat.ended(conv, "agent")
        return self.chat.summary(conv)

    async def transfer(self, user: Principal, conversation_id: str, *, queue: str | None,
                       agent_id: str | None) -> dict[str, Any]:
        conv = self._for_staff(user, conversation_id, act=True)
        if conv.agent_id != user.agent_id:
            raise NotAllowed("only the agent holding the chat transfers it")
        self._sendable(conv)
        config = self.chat.config()
        if queue is not None and (queue not in config.queues or not config.queues[queue].chat):
            raise FieldError("queue", f"{queue} is not a queue that takes chats")
        if agent_id is not None and (config.agent(agent_id) is None or agent_id == conv.agent_id):
            raise FieldError("agent_id", f"{agent_id} is not another agent")
        if queue is None and agent_id is None:
            raise FieldError("queue", "give a queue, an agent, or both")
        assert conv.task_id is not None and conv.agent_id is not None
        why = self.chat.routing.transfer(conv.task_id, queue=queue, agent_id=agent_id)
        if why is not None:
            raise Conflict(why)
        old = conv.agent_id
        self.chat.routing.finish_wrapup(old, conv.task_id)
        await self.chat.convs.save(conv, status="queued", agent_id=None, queue=queue or conv.queue)
        log.info("chat.transferred", extra={"conversation": conv.id, "queue": conv.queue,
                                            "to_agent": agent_id})
        self.chat.notifier.conversation(conv, self.chat.summary(conv), agent_id=old)
        await self.chat.tell(conv, {"t": "status", "status": "queued", "reason": "transferred"})
        return self.chat.summary(conv)

    async def join(self, user: Principal, conversation_id: str) -> dict[str, Any]:
        """A supervisor takes part: their messages reach the customer too."""
        conv = self._for_staff(user, conversation_id)
        if user.role != "supervisor" or not self.may_read(user, conv.agent_id, conv.queue):
            raise NotAllowed("only a supervisor of this agent's team may join")
        self._sendable(conv)
        if user.username not in conv.joined:
            conv.joined = (*conv.joined, user.username)
        self.chat.notifier.watch(user.username, conv.id)
        self.chat.notifier.conversation(conv, self.chat.summary(conv))
        await self.chat.tell(conv, {"t": "status", "status": conv.status,
                                "joined": user.display_name or user.username})
        return self.chat.summary(conv)

    # ------------------------------------------------------------------ callbacks

    async def _callback_number(self, conv: Conversation) -> str | None:
        if conv.customer_id is None:
            return None
        customer = await self.chat.store.get_customer(conv.customer_id)
        phones = [i.value for i in (customer.identities if customer else ())
                  if i.kind == "phone"]
        return phones[-1] if phones else None

    async def request_callback(self, user: Principal, conversation_id: str) -> dict[str, Any]:
        """Call the customer back through the queue (the chat channel cannot reach them)."""
        conv = self._for_staff(user, conversation_id, act=True)
        voice = self._voice()
        if voice is None:
            raise Unavailable("no telephone system is connected")
        number = await self._callback_number(conv)
        if number is None:
            raise Conflict("the customer's phone number is not known")
        queue = self.chat.config().queues.get(conv.queue)
        if queue is None or not queue.voice:
            raise Conflict(f"queue {conv.queue} takes no calls")
        try:
            task_id = await voice.request_callback(number, conv.queue,
                                                   customer_id=conv.customer_id, origin=conv.id)
        except ValueError as exc:  # VoiceError: the queue refused it
            raise Conflict(str(exc)) from None
        log.info("chat.callback_requested", extra={"conversation": conv.id, "task": task_id})
        return {"task_id": task_id, "queue": conv.queue,
                "number": mask_identity("phone", number)}

    # ------------------------------------------------------------------ identity

    async def suggestions(self, conv: Conversation) -> list[dict[str, Any]]:
        """Customers owning a phone or e-mail the visitor gave: perhaps the same person."""
        rec = await self.chat.store.get_conversation(conv.id)
        out, seen = [], set()
        for kind, value in rec.claims if rec else []:
            owner = await self.chat.store.find_customer(kind, value)
            if owner is None or owner.id == conv.customer_id or owner.id in seen:
                continue
            seen.add(owner.id)
            out.append({"customer": self.chat.customers.customer_card(owner),
                        "because": {"kind": kind, "masked": mask_identity(kind, value)}})
        return out

    async def merge(self, user: Principal, conversation_id: str,
                    customer_id: int) -> dict[str, Any]:
        """Merge the chat's customer into a suggested one (undo: ``undo_merge``)."""
        conv = self._for_staff(user, conversation_id, act=True)
        if customer_id not in {s["customer"]["id"] for s in await self.suggestions(conv)}:
            raise FieldError("customer_id", "not a customer this chat may be merged with")
        assert conv.customer_id is not None
        merge = await self.chat.store.merge_customers_journaled(customer_id, conv.customer_id,
                                                           actor=user.username)
        conv.customer_id = merge.survivor_id
        log.info("chat.customers_merged", extra={"merge": merge.id, "actor": user.username})
        self.chat.notifier.conversation(conv, self.chat.summary(conv))
        return {"merge_id": merge.id, "customer_id": merge.survivor_id,
                "merged_id": merge.merged_id}

    async def undo_merge(self, user: Principal, merge_id: int) -> dict[str, Any]:
        merge = await self.chat.store.get_merge(merge_id)
        if merge is None:
            raise Gone("no such merge")
        if not await self._may_undo(user, merge.actor):
            raise NotAllowed("only who merged, a supervisor of their team or an admin "
                             "undoes a merge")
        try:
            survivor, merged = await self.chat.store.undo_merge(merge_id, actor=user.username)
        except ValueError as exc:
            raise Conflict(str(exc)) from None
        for conv in self.chat.convs:
            rec = await self.chat.store.get_conversation(conv.id)
            if rec is not None and rec.customer_id != conv.customer_id:
                conv.customer_id = rec.customer_id
                self.chat.notifier.conversation(conv, self.chat.summary(conv))
        log.info("chat.merge_undone", extra={"merge": merge_id, "actor": user.username})
        return {"merge_id": merge_id, "customer_id": survivor.id, "merged_id": merged.id}

    async def _may_undo(self, user: Principal, actor: str) -> bool:
        """Who merged, an admin, or a supervisor of the team of the agent who merged (a
        merge one supervisor made is theirs and the admins' only)."""
        if user.username == actor or user.role == "admin":
            return True
        if user.role != "supervisor":
            return False
        account = await self.chat.store.get_user(actor)
        return (account is not None and account.agent_id is not None
                and account.role == "agent"
                and may_supervise(user, account.agent_id, self.chat.config()))

    # ------------------------------------------------------------------ files

    async def file_for_staff(self, user: Principal, file_id: int) -> ChatFile:
        file = await self.chat.store.get_chat_file(file_id)
        if file is None:
            raise Gone("no such file")
        conv = self.chat.convs.get(file.conversation_id)
        if conv is not None:
            self._for_staff(user, conv.id)
            return file
        # An ended chat: its agent, or a supervisor of that agent's team (of the queue,
        # if nobody took it), as for an open one; not every supervisor.
        rec = await self.chat.store.get_conversation(file.conversation_id)
        if rec is not None and user.agent_id is not None and rec.agent_id == user.agent_id:
            return file
        if rec is not None and user.role in ("supervisor", "admin") and self.may_read(
                user, rec.agent_id, rec.queue):
            return file
        raise NotAllowed("this file is not from one of your chats")
