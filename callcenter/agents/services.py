"""What an agent does at the console, as engine inputs and records.

An agent logs in to a device (a PJSIP endpoint: the desk phone's extension, or the
browser phone's ``<extension>-web``); the device is how voice offers reach them. Device
health comes from the voice adapter: an unregistered or unreachable device takes the
agent's voice capacity away (they keep taking chats) until it is back.

A ready agent whose phone stops being registered is set not ready with the reason
``phone_offline`` (the wallboard shows it; they are not counted as ready); when the phone
registers again and the agent is still not ready for that reason, they are ready again.
An agent who takes no chats cannot go ready while their phone is known to be offline.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import acd
from callcenter.bus import EventBus
from callcenter.config.models import Config
from callcenter.errors import FieldError
from callcenter.routing.mapping import agent_model
from callcenter.routing.services import RoutingService
from callcenter.storage import Interaction, QueueLogEvent, Store

log = logging.getLogger(__name__)


class AgentError(ValueError):
    """The request makes no sense for this agent now; the message says why."""


class NotYours(AgentError):
    """An offer or interaction of another agent."""


PHONE_OFFLINE = "phone_offline"  # the not-ready reason the engine sets when a phone drops
PENDING_WRAPUP_WINDOW = 4 * 3600.0
"""A wrap-up form not yet sent stays open this long after its contact left the agent."""


@dataclass
class Session:
    agent_id: str
    device: str | None
    device_ok: bool = True
    registered: bool | None = None  # the phone as Asterisk last said; None: not known yet
    set_away: bool = False  # not ready because the phone dropped (not the agent's choice)


class AgentService:
    def __init__(self, *, routing: RoutingService, store: Store, config: Callable[[], Config],
                 bus: EventBus) -> None:
        self.routing = routing
        self.store = store
        self.config = config
        self.bus = bus
        self._wrapup_lock = asyncio.Lock()
        self.sessions: dict[str, Session] = {}
        self._offers: dict[str, acd.Offer] = {}
        self._saving: asyncio.Task[None] | None = None  # the presence write under way
        self._pending: dict[str, dict[str, Any]] = {}  # agent -> presence not yet written
        # Set by the composition root: asks the voice side whether a device is reachable.
        self.device_probe: Callable[[str], None] | None = None
        # Set by the plugin (the notifier): an agent's phone registered or dropped.
        self.phone_changed: Callable[[str, bool], None] | None = None

    # ---- presence -------------------------------------------------------------

    def _model(self, agent_id: str) -> acd.Agent:
        config = self.config()
        agent = config.agent(agent_id)
        if agent is None:
            raise AgentError(f"no agent {agent_id!r} in agents.yaml")
        model = agent_model(config, agent)
        session = self.sessions.get(agent_id)
        if session is None or session.device is None or not session.device_ok:
            model = acd.Agent(id=model.id, skills=model.skills,
                              capacity={**model.capacity, "voice": 0}, queues=model.queues,
                              chat_while_voice=model.chat_while_voice,
                              voice_while_chat=model.voice_while_chat)
        return model

    def login(self, agent_id: str, device: str | None = None, ready: bool = False) -> dict:
        agent = self.config().agent(agent_id)
        if agent is None:
            raise AgentError(f"no agent {agent_id!r} in agents.yaml")
        if device is not None and device not in agent.devices():
            raise FieldError("device", f"device {device} is not one of {agent_id}'s phones "
                             f"({', '.join(agent.devices()) or 'none: no extension'})")
        for other in self.sessions.values():
            if device and other.device == device and other.agent_id != agent_id:
                raise AgentError(f"device {device} is in use by another agent")
        self.sessions[agent_id] = Session(agent_id, device)
        self._save(agent_id, "ready" if ready else "not_ready", None if ready else "login",
                   device=device)
        if device is not None and self.device_probe is not None:
            self.device_probe(device)
        self.routing.login(self._model(agent_id), ready=ready)
        return self.status(agent_id)

    def logout(self, agent_id: str) -> None:
        self.sessions.pop(agent_id, None)
        self._save(agent_id, "logged_out", None, device=None)
        self.routing.logout(agent_id)

    def set_state(self, agent_id: str, state: str, reason: str | None = None) -> dict:
        if state not in ("ready", "not_ready"):
            raise FieldError("state", "state must be ready or not_ready")
        session = self.sessions.get(agent_id)
        if session is None:
            raise AgentError(f"{agent_id} is not logged in")
        agent = self.config().agent(agent_id)
        if (state == "ready" and session.registered is False and agent is not None
                and not agent.takes_chat):
            raise AgentError(f"your phone ({session.device}) is not registered: start it, "
                             "or sign in without a phone")
        session.set_away = False
        self._presence(agent_id, state, reason)
        return self.status(agent_id)

    def away(self, agent_id: str, reason: str) -> bool:
        """The engine sets a ready agent not ready for ``reason`` (e.g. dialling out):
        True if it did (the agent was ready)."""
        view = self.routing.agent(agent_id)
        if view is None or view.presence.value != "ready":
            return False
        self._presence(agent_id, "not_ready", reason)
        return True

    def back(self, agent_id: str, reason: str) -> None:
        """Undo ``away``: ready again, unless the agent changed their state meanwhile."""
        view = self.routing.agent(agent_id)
        if view is not None and view.presence.value == "not_ready" and view.reason == reason:
            self._presence(agent_id, "ready", None)

    def _presence(self, agent_id: str, state: str, reason: str | None) -> None:
        self._save(agent_id, state, reason)
        self.routing.set_state(agent_id, state, reason)

    async def restore(self) -> list[str]:
        """Sign back in the agents a previous run had signed in, as they were.

        Their phones count as unavailable until Asterisk says otherwise (the voice
        side reads device states as soon as the link is up), so nobody is offered
        a call on a phone that is busy with a call the previous run connected.
        A form they still owe in a queue that requires it holds its slot again, as it
        did before (acd rule A6).
        """
        restored = []
        owed = await self.owed_forms()
        for saved in await self.store.logged_in_agents():
            agent = self.config().agent(saved.agent_id)
            if agent is None or saved.agent_id in self.sessions:
                continue
            device = saved.device if saved.device in agent.devices() else None
            session = self.sessions[saved.agent_id] = Session(saved.agent_id, device,
                                                              device_ok=False)
            ready = saved.presence == "ready"
            # Set away by the engine when the phone dropped: ready again once it registers.
            session.set_away = not ready and saved.reason == PHONE_OFFLINE
            forms = [acd.OwedWrapup(i.id, i.queue, i.channel)
                     for i in owed.get(saved.agent_id, ()) if i.queue is not None]
            self.routing.login(self._model(saved.agent_id), ready=ready, owed_wrapups=forms)
            if not ready and saved.reason and saved.reason != "login":
                self.routing.set_state(saved.agent_id, "not_ready", saved.reason)
            restored.append(saved.agent_id)
        log.info("agents.restored", extra={"count": len(restored)})
        return restored

    async def owed_forms(self, agent_id: str | None = None) -> dict[str, list[Interaction]]:
        """The contacts whose wrap-up form each agent (or only ``agent_id``) owes: theirs,
        or handed on by them, left less than ``PENDING_WRAPUP_WINDOW`` ago, their part
        not given. Three queries whatever the number of agents (a restart asks for all)."""
        now = self.routing.clock()
        since, until = now - PENDING_WRAPUP_WINDOW, now + 1
        sent = {(e.agent, e.interaction_id) for e in await self.store.events_between(
            since, until, event="DISPOSITION", agent=agent_id)}
        handed_on: dict[str | None, set[str]] = defaultdict(set)
        for e in await self.store.events_between(since, until, event="TRANSFER",
                                                 agent=agent_id):
            if e.agent is not None:
                handed_on[e.interaction_id].add(e.agent)
        owed: dict[str, list[Interaction]] = defaultdict(list)
        for i in await self.store.interactions_between(since, until):
            # one who handed the contact on owes their part, even if it is not theirs
            owers = handed_on.get(i.id, set()) - {i.agent_id}
            if (i.agent_id is not None and i.ended_at is not None and i.disposition is None
                    and i.notes is None and i.outcome in ("answered", "transferred")):
                owers.add(i.agent_id)
            for ower in owers:
                if (ower, i.id) not in sent and agent_id in (None, ower):
                    owed[ower].append(i)
        return owed

    async def saved(self) -> None:
        """Wait until every presence change so far is stored (shutdown, tests)."""
        while self._saving is not None and not self._saving.done():
            await asyncio.shield(self._saving)

    def _save(self, agent_id: str, presence: str, reason: str | None,
              **device: str | None) -> None:
        """Store the agent's presence for the next run. Changes made while a write is on
        its way go in the next one, together: a shift signing in, or a burst of phones
        coming back, is a few writes rather than hundreds in a row, so a crash loses at
        most the last moment (one at a time, a crash lost seconds of them)."""
        earlier = self._pending.get(agent_id, {})
        self._pending[agent_id] = {**earlier, "presence": presence, "reason": reason,
                                   "at": self.routing.clock(), **device}
        if self._saving is None or self._saving.done():
            self._saving = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                async with self.store.transaction():
                    for agent_id, change in batch.items():
                        await self.store.save_presence(agent_id, change.pop("presence"),
                                                       **change)
            except Exception:
                log.exception("agents.presence_not_saved", extra={"agents": sorted(batch)})

    def device_health(self, device: str, ok: bool, registered: bool | None = None) -> None:
        """From the voice adapter: the device is usable or not (``ok``), and whether it is
        registered (None: not said)."""
        for session in list(self.sessions.values()):
            if session.device != device:
                continue
            if session.device_ok != ok:
                session.device_ok = ok
                log.info("agents.device_health", extra={"agent": session.agent_id, "ok": ok})
                self.routing.update_agent(self._model(session.agent_id))
            if registered is not None and session.registered != registered:
                session.registered = registered
                self._phone(session)

    def _phone(self, session: Session) -> None:
        """The phone registered or dropped: presence follows (see the module's note)."""
        agent_id = session.agent_id
        view = self.routing.agent(agent_id)
        presence = view.presence.value if view else "logged_out"
        log.info("agents.phone", extra={"agent": agent_id, "registered": session.registered,
                                        "presence": presence})
        if not session.registered and presence == "ready":
            session.set_away = self.away(agent_id, PHONE_OFFLINE)
        elif session.registered and session.set_away:
            session.set_away = False
            self.back(agent_id, PHONE_OFFLINE)
        if self.phone_changed is not None:
            self.phone_changed(agent_id, bool(session.registered))

    def refresh(self) -> None:
        """Config reloaded: logged-in agents get their new skills and memberships."""
        for agent_id in list(self.sessions):
            if self.config().agent(agent_id) is None:
                self.logout(agent_id)
            else:
                self.routing.update_agent(self._model(agent_id))

    def device_of(self, agent_id: str) -> str | None:
        session = self.sessions.get(agent_id)
        return session.device if session else None

    def status(self, agent_id: str) -> dict[str, Any]:
        view = self.routing.agent(agent_id)
        session = self.sessions.get(agent_id)
        return {
            "agent_id": agent_id,
            "state": view.state.value if view else "logged_out",
            "reason": view.reason if view else None,
            "device": session.device if session else None,
            "device_ok": session.device_ok if session else None,
            "phone_registered": session.registered if session else None,
            "offers": list(view.offers) if view else [],
            "connected": list(view.connected) if view else [],
            "wrapping": list(view.wrapping) if view else [],
            "answered": view.answered if view else 0,
        }

    # ---- offers and wrap-up ---------------------------------------------------

    def remember_offer(self, offer: acd.Offer) -> None:
        self._offers[offer.offer_id] = offer

    def forget_offer(self, offer_id: str) -> None:
        self._offers.pop(offer_id, None)

    def offer(self, offer_id: str) -> acd.Offer | None:
        return self._offers.get(offer_id)

    def _own_offer(self, agent_id: str, offer_id: str) -> acd.Offer:
        offer = self._offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            raise AgentError("no such offer for this agent (it may have been withdrawn)")
        return offer

    def accept(self, agent_id: str, offer_id: str) -> None:
        """Accept a text offer from the console (voice is accepted by answering the phone)."""
        offer = self._own_offer(agent_id, offer_id)
        if offer.channel == acd.VOICE:
            raise AgentError("answer the phone to take a call")
        if not self.routing.accept(offer_id):
            raise AgentError("that offer is no longer open")

    def reject(self, agent_id: str, offer_id: str) -> None:
        self._own_offer(agent_id, offer_id)
        self.routing.reject(offer_id)

    async def finish_wrapup(self, agent_id: str, task_id: str, disposition: str | None,
                            notes: str | None) -> None:
        """The agent's wrap-up form: given once, while it is open (the wrap-up runs, or
        its contact left the agent less than ``PENDING_WRAPUP_WINDOW`` ago); corrections
        after that are a supervisor's (``correct_disposition``)."""
        async with self._wrapup_lock:  # two posts of one form: the second sees the first
            interaction = await self.store.get_interaction(task_id)
            if interaction is None:
                raise LookupError("no such interaction")
            mine = {e.event: e.at for e in await self._own_events(agent_id, task_id)}
            own = interaction.agent_id == agent_id
            if not own and "TRANSFER" not in mine:
                raise NotYours("that interaction is not yours")
            view = self.routing.agent(agent_id)
            if view is not None and task_id in view.connected:
                raise AgentError("the contact is still connected: end it first")
            if "DISPOSITION" in mine or (own and (interaction.disposition or interaction.notes)):
                raise AgentError("this wrap-up was given already; a supervisor can correct it")
            left_at = interaction.ended_at if own else mine["TRANSFER"]
            running = view is not None and task_id in view.wrapping
            if not running and (left_at is None
                                or left_at < self.routing.clock() - PENDING_WRAPUP_WINDOW):
                raise AgentError("the wrap-up of this contact is over")
            self._check_disposition(interaction.queue, disposition, any_without_codes=True)
            # The history keeps each agent's part; the contact's own disposition is its
            # last agent's (one who transferred it on gives only their part).
            await self.store.log_event(
                "DISPOSITION", interaction_id=task_id, queue=interaction.queue,
                agent=agent_id, data={"disposition": disposition, "notes": notes},
                at=self.routing.clock())
            if own:
                await self.store.update_interaction(task_id, disposition=disposition,
                                                    notes=notes)
        self.routing.finish_wrapup(agent_id, task_id)

    async def correct_disposition(self, editor: str, queues: frozenset[str] | None,
                                  task_id: str, disposition: str | None, notes: str | None,
                                  reason: str) -> dict[str, Any]:
        """A supervisor's correction (``queues``: those they watch; None: any), kept in
        the contact's history with what it replaced, who and why."""
        interaction = await self.store.get_interaction(task_id)
        if interaction is None:
            raise LookupError("no such interaction")
        if queues is not None and interaction.queue not in queues:
            raise NotYours("this contact is not in a queue you watch")
        if interaction.ended_at is None:
            raise AgentError("the contact is still in progress")
        self._check_disposition(interaction.queue, disposition, any_without_codes=False)
        await self.store.log_event(
            "DISPOSITION_EDIT", interaction_id=task_id, queue=interaction.queue,
            agent=interaction.agent_id, at=self.routing.clock(),
            data={"by": editor, "reason": reason,
                  "before": {"disposition": interaction.disposition,
                             "notes": interaction.notes},
                  "after": {"disposition": disposition, "notes": notes}})
        await self.store.update_interaction(task_id, disposition=disposition, notes=notes)
        log.info("wrapup.corrected", extra={"user": editor, "interaction": task_id})
        return {"task_id": task_id, "disposition": disposition, "notes": notes}

    def _check_disposition(self, queue_id: str | None, disposition: str | None, *,
                           any_without_codes: bool) -> None:
        """One of the queue's codes, and one at all where the queue requires it (422).
        ``any_without_codes``: a queue with no codes takes any (an agent's form does; a
        supervisor's correction may not invent one)."""
        queue = self.config().queues.get(queue_id or "")
        codes = [d.code for d in queue.dispositions] if queue else []
        if disposition is not None and disposition not in codes and (
                codes or not any_without_codes):
            raise FieldError("disposition", f"disposition must be one of {', '.join(codes)}"
                             if codes else "this queue has no dispositions")
        if disposition is None and queue is not None and queue.require_disposition:
            raise FieldError("disposition", "this queue requires a disposition")

    def extend_wrapup(self, agent_id: str, task_id: str, seconds: float) -> float:
        """More time for a running wrap-up; when it now ends."""
        view = self.routing.agent(agent_id)
        ends = view.wrap_ends if view is not None else {}
        if task_id not in ends:
            raise AgentError("no wrap-up of yours is running for this contact")
        if ends[task_id] is None:
            raise AgentError("this wrap-up lasts until you send its form")
        self.routing.extend_wrapup(agent_id, task_id, seconds)
        return ends[task_id] + seconds

    async def _own_events(self, agent_id: str, task_id: str) -> list[QueueLogEvent]:
        """What the agent did with this contact, as its history says."""
        await self.routing.flush()  # a TRANSFER may still be on its way to the store
        history = await self.store.events_between(0, math.inf, interaction_id=task_id)
        return [e for e in history if e.agent == agent_id]
