"""The customer on the agent's screen: who they are and what happened before.

``screen_pop(task_id)`` is what an offer carries to the agent's page: the customer
(name, masked identities), the interaction now (queue, channel, masked number, IVR
choices, wait) and their history on every channel, newest first. It is plain JSON so
adapters can put it straight into the ``agent.offer`` bus event. Numbers are masked
here and nowhere is a full phone number, openid or e-mail sent to a browser.

Who sees which customer (``history_for``, every route with a customer id): an admin
any; a supervisor a customer who had an interaction in a queue they watch, and of the
history only those queues' entries (``callcenter.webkit.principal.customer_queues``);
an agent a customer whose interaction was offered or connected to them. Customer ids
are a sequence, so the check is what protects them: an id that does not exist answers
as one that is not the reader's (403), except to admins. Phone numbers written in the
history's free text (notes, summaries, earlier messages) are masked for readers who
may not see numbers (``sees_numbers``), and always in the screen-pop, which travels on
the bus. The current chat's own messages are shown as written: they are what the agent
is answering.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from callcenter.config.models import Config
from callcenter.errors import FieldError
from callcenter.storage import Customer, HistoryEntry, Interaction, Store, mask_identity
from callcenter.storage.masking import mask_numbers_in
from callcenter.webkit.principal import Principal, customer_queues, sees_numbers

log = logging.getLogger(__name__)

HISTORY_LIMIT = 20
_LANGUAGES = {"zh": {"zh": "中文", "en": "Chinese"}, "en": {"zh": "英文", "en": "English"}}
_MENU_OUTCOMES = {"timeout": {"zh": "未按键", "en": "no key"},
                  "invalid": {"zh": "无效按键", "en": "invalid key"}}
MESSAGES_PER_INTERACTION = 3
SCAN_LIMIT = 1000
SEARCH_SCAN = 200  # candidates a search reads before the reader's rights cut them
"""Interactions of one customer read to decide access or to pick a supervisor's queues:
past this, older ones are not seen (an answer of 403 rather than a leak)."""


class CustomerForbidden(Exception):
    """The user may not read this customer; the message says why."""


class CustomerService:
    def __init__(self, store: Store, config: Config | Callable[[], Config],
                 clock: Callable[[], float] = time.time,
                 held_by: Callable[[str], Iterable[str]] = lambda _agent: ()) -> None:
        self.store = store
        self._config = config
        self.clock = clock
        self._held_by = held_by  # the tasks an agent holds now (routing's view)

    @property
    def config(self) -> Config:
        return self._config() if callable(self._config) else self._config

    # ------------------------------------------------------------------ screen-pop

    async def screen_pop(self, task_id: str, viewer: Principal | None = None) -> dict[str, Any]:
        """Everything the agent's card shows for this task (JSON-able).

        ``viewer``: who reads it, when that is known and may differ from the agent it is
        offered to (a supervisor opening a chat of their team): their queues and their
        right to see numbers then apply to the history. Without one (the bus), numbers
        in the history are masked."""
        interaction = await self.store.get_interaction(task_id)
        if interaction is None:
            log.warning("customers.pop_unknown_task", extra={"task": task_id})
            return {"customer": None, "interaction": {"id": task_id}, "history": []}
        customer = (await self.store.get_customer(interaction.customer_id)
                    if interaction.customer_id is not None else None)
        history: list[dict[str, Any]] = []
        if customer is not None:
            history = await self.history(
                customer.id, exclude=task_id,
                queues=customer_queues(viewer, self.config) if viewer is not None
                and viewer.role == "supervisor" else None,
                masked=viewer is None or not sees_numbers(viewer))
        card = self.interaction_card(interaction)
        if interaction.channel != "voice":
            card["last_messages"] = [
                {"direction": m.direction, "body": m.body, "at": m.created_at}
                for m in await self.store.list_messages(task_id, limit=MESSAGES_PER_INTERACTION)]
        return {"customer": self.customer_card(customer), "interaction": card,
                "history": history}

    def customer_card(self, customer: Customer | None, *,
                      masked: bool = True) -> dict[str, Any] | None:
        if customer is None:
            return None
        note = customer.attributes.get("note")
        return {
            "id": customer.id,
            "name": customer.name,
            "vip": bool(customer.attributes.get("vip")),
            "identities": [{"kind": i.kind, "masked": mask_identity(i.kind, i.value)}
                           for i in customer.identities],
            "tags": list(customer.attributes.get("tags") or []),
            "note": (mask_numbers_in(note) if masked else note) if note else None,
        }

    async def change_profile(self, principal: Principal, customer_id: int,
                             change: dict[str, Any]) -> dict[str, Any]:
        """Tags, note and VIP of a customer the user may read; only supervisors and admins
        set VIP. Each change is logged with who made it and which fields (not the text)."""
        await self.check_access(principal, customer_id)
        if change.get("vip") is not None and principal.role == "agent":
            raise CustomerForbidden("only supervisors and admins mark a customer VIP")
        attributes: dict[str, Any] = {}
        if change.get("tags") is not None:
            attributes["tags"] = list(dict.fromkeys(change["tags"]))
        if change.get("note") is not None:
            if not sees_numbers(principal):
                stored = (await self.store.get_customer(customer_id))
                old = (stored.attributes.get("note") or "") if stored else ""
                if mask_numbers_in(old) != old:  # they saw it masked: saving would lose it
                    raise FieldError("note", "the note holds numbers you cannot see: ask a "
                                             "supervisor to change it")
            attributes["note"] = change["note"].strip() or None
        if change.get("vip") is not None:
            attributes["vip"] = change["vip"] or None
        customer = await self.store.update_customer(customer_id, attributes=attributes)
        log.info("customers.profile_changed", extra={"user": principal.username,
                                                     "customer": customer_id,
                                                     "fields": sorted(attributes)})
        return self.customer_card(customer, masked=not sees_numbers(principal)) or {}

    def interaction_card(self, interaction: Interaction) -> dict[str, Any]:
        now = self.clock()
        arrived = interaction.arrived_at
        attributes = interaction.attributes or {}
        return {
            "id": interaction.id,
            "queue": interaction.queue,
            "queue_name": self.queue_name(interaction.queue),
            "channel": interaction.channel,
            "medium": interaction.medium,
            "caller_masked": interaction.caller_masked,
            "ivr_choices": [self.ivr_choice(c) for c in interaction.ivr_choices or []],
            "label": _text(attributes.get("label")),
            "dialled": attributes.get("dialed") or None,
            "language": attributes.get("language"),
            "arrived_at": arrived,
            "waited": max(0.0, now - arrived) if arrived is not None else None,
        }

    def ivr_choice(self, choice: Any) -> dict[str, Any]:
        """An IVR step as stored (``ivr.runner.Choice.as_dict``), with ``display``: what
        the caller chose, in words ({zh, en})."""
        if not isinstance(choice, dict):
            return {"node": None, "kind": None, "pressed": None, "value": None,
                    "label": str(choice), "display": None}
        out = {k: choice.get(k) for k in ("node", "kind", "pressed", "value", "label")}
        kind, value = out["kind"], out["value"]
        display: dict[str, str | None] | None = None
        if kind == "language" and value in _LANGUAGES:
            display = _LANGUAGES[value]
        elif kind == "menu" and value in _MENU_OUTCOMES:
            display = _MENU_OUTCOMES[value]
        elif kind == "menu" and value:
            node = self.config.ivr.nodes.get(value)
            label = getattr(node, "label", None)
            display = ({"zh": label.get("zh"), "en": label.get("en")} if label is not None
                       else {"zh": value, "en": value})
        elif kind == "collect" and out["pressed"]:
            display = {"zh": f"{value}: {out['pressed']}", "en": f"{value}: {out['pressed']}"}
        elif kind == "closed":
            display = {"zh": "非工作时间", "en": "closed"}
        out["display"] = display
        return out

    def queue_name(self, queue_id: str | None) -> dict[str, str | None] | None:
        queue = self.config.queues.get(queue_id or "")
        if queue is None:
            return None
        return {"zh": queue.name.get("zh"), "en": queue.name.get("en")}

    # ------------------------------------------------------------------ history

    async def history(self, customer_id: int, *, exclude: str | None = None,
                      limit: int = HISTORY_LIMIT, queues: frozenset[str] | None = None,
                      masked: bool = True) -> list[dict[str, Any]]:
        """The customer's interactions on every channel, newest first.

        ``queues``: only entries of these (a supervisor's); ``masked``: phone numbers in
        the free text masked (a reader who may not see them)."""
        wanted = SCAN_LIMIT if queues is not None else limit + (1 if exclude else 0)
        entries = await self.store.customer_history(
            customer_id, wanted, messages_per_interaction=MESSAGES_PER_INTERACTION)
        kept = [e for e in entries if e.interaction.id != exclude
                and (queues is None or e.interaction.queue in queues)]
        return [self.history_entry(e, masked=masked) for e in kept[:limit]]

    def history_entry(self, entry: HistoryEntry, *, masked: bool = True) -> dict[str, Any]:
        i = entry.interaction
        text = mask_numbers_in if masked else _same
        return {
            "interaction_id": i.id,
            "channel": i.channel,
            "medium": i.medium,
            "direction": i.direction,
            "queue": i.queue,
            "queue_name": self.queue_name(i.queue),
            "agent_id": i.agent_id,
            "arrived_at": i.arrived_at,
            "answered_at": i.answered_at,
            "ended_at": i.ended_at,
            "outcome": i.outcome,
            "disposition": i.disposition,
            "disposition_label": self.disposition_label(i.queue, i.disposition),
            "notes": text(i.notes) if i.notes else i.notes,
            "summary": text(entry.summary) if entry.summary else entry.summary,
            "last_messages": [{"direction": m.direction, "body": text(m.body),
                               "at": m.created_at} for m in entry.last_messages],
        }

    def disposition_label(self, queue_id: str | None,
                          code: str | None) -> dict[str, str | None] | None:
        queue = self.config.queues.get(queue_id or "")
        if queue is None or code is None:
            return None
        for d in queue.dispositions:
            if d.code == code:
                return {"zh": d.label.get("zh"), "en": d.label.get("en")}
        return None

    # ------------------------------------------------------------------ search

    async def search(self, principal: Principal, query: str,
                     limit: int = 20) -> list[dict[str, Any]]:
        """Customers matching ``query`` (name, phone, WeChat or visitor id, an order number
        in their record or a wrap-up note) that this user may read (``check_access``).
        Readers who see numbers masked find a phone number only by the whole number."""
        ids = await self.store.search_customers(query, exact_numbers=not sees_numbers(
            principal), limit=SEARCH_SCAN)
        found: list[dict[str, Any]] = []
        for customer_id in ids:
            try:
                await self.check_access(principal, customer_id)
            except CustomerForbidden:
                continue
            card = self.customer_card(await self.store.get_customer(customer_id))
            if card is not None:
                found.append(card)
            if len(found) >= limit:
                break
        log.info("customers.searched", extra={"user": principal.username,
                                              "found": len(found)})
        return found

    # ------------------------------------------------------------------ access

    async def history_for(self, principal: Principal, customer_id: int) -> dict[str, Any]:
        """The customer's card and the history this user may read (see the module).

        ``CustomerForbidden`` for a customer who is not the user's (or does not exist:
        ids are a sequence, and a 404 would confirm which exist); ``LookupError`` for
        an unknown customer, to admins only.
        """
        queues = await self.check_access(principal, customer_id)
        customer = await self.store.get_customer(customer_id)
        if customer is None:
            raise LookupError("no such customer")
        return {"customer": self.customer_card(customer, masked=not sees_numbers(principal)),
                "history": await self.history(customer.id, queues=queues,
                                              masked=not sees_numbers(principal))}

    async def check_access(self, principal: Principal,
                           customer_id: int) -> frozenset[str] | None:
        """Raise ``CustomerForbidden`` unless this user may read the customer; return the
        queues whose entries of the history they see (None: all).

        Every route that takes a customer id asks this first."""
        queues = customer_queues(principal, self.config)
        if queues is None:
            return None
        agent_id = principal.agent_id or ""
        if agent_id and await self.served_by(customer_id, agent_id, self._held_by(agent_id)):
            return None  # their own customer (a supervisor taking calls too): as an agent
        if principal.role == "agent":
            log.info("customers.denied", extra={"user": principal.username,
                                                "customer": customer_id})
            raise CustomerForbidden("you may read the history of your own customers only")
        if not queues or not await self.interacted_in(customer_id, queues):
            log.info("customers.denied", extra={"user": principal.username,
                                                "customer": customer_id})
            raise CustomerForbidden("this customer has no call or chat in a queue you watch")
        return queues

    async def interacted_in(self, customer_id: int, queues: frozenset[str]) -> bool:
        """Whether this customer had an interaction (call or chat) in one of ``queues``."""
        entries = await self.store.customer_history(customer_id, SCAN_LIMIT,
                                                    messages_per_interaction=0)
        return any(e.interaction.queue in queues for e in entries)

    async def served_by(self, customer_id: int, agent_id: str,
                        current_tasks: Iterable[str] = ()) -> bool:
        """Whether this customer had an interaction offered or connected to the agent.

        ``current_tasks`` are the tasks offered to / held by the agent right now (an
        offered interaction has no ``agent_id`` in the store until it connects).
        """
        if not agent_id:
            return False
        customer = await self.store.get_customer(customer_id)
        if customer is None:
            return False
        for task_id in current_tasks:
            interaction = await self.store.get_interaction(task_id)
            if interaction is not None and interaction.customer_id == customer.id:
                return True
        entries = await self.store.customer_history(customer.id, SCAN_LIMIT,
                                                    messages_per_interaction=0)
        return any(e.interaction.agent_id == agent_id for e in entries)


def _same(text: str) -> str:
    return text


def _text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in ("zh", "en")} or None
    return value
