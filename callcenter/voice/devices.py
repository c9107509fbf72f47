"""Agents' phones as Asterisk sees them: registered, and not busy with a call of their own.

An unregistered phone, or one busy on a call this engine did not place (a
personal call, or a call a previous run connected), takes the agent's voice
capacity away until it is free again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from callcenter.ami import AmiError
from callcenter.ami.link import AmiEvent
from callcenter.voice import recipes
from callcenter.voice.base import VoiceDeps

log = logging.getLogger(__name__)

_UNAVAILABLE_DEVICE_STATES = {"UNAVAILABLE", "INVALID", "UNKNOWN"}
DEVICE_LIST_TIMEOUT = 2.0


def registered(state: str) -> bool:
    """An endpoint's device state says whether a phone is registered (and reachable)."""
    return state not in _UNAVAILABLE_DEVICE_STATES


REPLACED_WITHIN = 5.0  # a contact removed this recently, then another created: replaced


def _where(uri: str) -> str:
    """The address a contact registered from (``sip:1001@10.0.0.5:5060;ob`` -> host:port)."""
    return uri.split("@", 1)[-1].split(";", 1)[0].removeprefix("sip:")


class Devices:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        self._changes: dict[str, int] = {}  # device -> state changes seen, to order reads
        self._contacts: dict[str, str] = {}  # agent's AOR -> its registered contact URI
        self._removed: dict[str, tuple[str, float]] = {}  # AOR -> (contact, when removed)

    async def on_contact_status(self, event: AmiEvent) -> None:
        """``max_contacts=1`` with ``remove_existing``: a second device registering as the
        agent's phone silently replaces the first. The agent is told (``agent.phone``).

        Asterisk 22 says NonQualified (not Created) for a new contact, then Reachable
        once qualified; the old contact's Removed may come before or after."""
        aor, uri, status = event.get("AOR"), event.get("URI"), event.get("ContactStatus")
        if not aor or not uri:
            return
        now = self.deps.clock()
        if status == "Removed":
            if self._contacts.get(aor) == uri:
                del self._contacts[aor]
            self._removed[aor] = (uri, now)
            return
        before = self._contacts.get(aor)
        if before == uri:
            return
        if before is None and aor in self._removed:
            old, at = self._removed.pop(aor)
            before = old if now - at <= REPLACED_WITHIN and old != uri else None
        self._contacts[aor] = uri
        if before is not None and _where(before) != _where(uri):
            self._replaced(self.deps.extension_of(aor), _where(before), _where(uri))

    def _replaced(self, extension: str, old: str, new: str) -> None:
        agent_id = next((a for a, s in self.deps.agents.sessions.items()
                         if s.device == extension), None)
        log.warning("voice.phone_replaced", extra={"extension": extension, "agent": agent_id,
                                                   "old": old, "new": new})
        if agent_id is not None:
            self.deps.offers.phone(agent_id, True, replaced_by=new)

    async def on_device_state(self, event: AmiEvent) -> None:
        device = event.get("Device")
        if device.startswith("PJSIP/"):
            self._changes[device] = self._changes.get(device, 0) + 1
            extension = self.deps.extension_of(device.removeprefix("PJSIP/"))
            state = event.get("State")
            self.deps.agents.device_health(extension, self.usable(extension, state),
                                           registered=registered(state))

    def usable(self, extension: str, state: str) -> bool:
        """Registered and not busy with a call of its own (ours don't count)."""
        if not registered(state):
            return False
        if state == "NOT_INUSE":
            return True
        agent_id = next((a for a, s in self.deps.agents.sessions.items()
                         if s.device == extension), None)
        if agent_id is None:
            return True
        return any((c.connected and c.agent_id == agent_id)
                   or any(r.agent_id == agent_id for r in c.rings.values())
                   for c in self.deps.book)

    def probe(self, extension: str) -> None:
        """Ask Asterisk now whether an agent's phone is reachable (answers come later)."""
        self.deps.in_background(self.sync([extension]))

    def resync(self) -> None:
        """Read every agent's phone state, in the background (after a (re)connect)."""
        self.deps.in_background(self.sync())

    async def sync(self, extensions: list[str] | None = None, *, tries: int = 5,
                   changed: Callable[[str, str, bool], None] | None = None) -> None:
        """Read the device states of logged-in agents' phones (all, or the ones named);
        ``changed(agent, extension, usable)`` hears of each phone this read changed (a
        reconcile: a state change event was missed).

        A state change event that arrives while the list is on its way is newer than
        the list: the list does not overwrite it. Asterisk just restarted leaves the
        first DeviceStateList unanswered (seen with 22): ask again, briefly.
        """
        before = dict(self._changes)
        for attempt in range(1, tries + 1):
            try:
                states = await self.deps.link.event_list(recipes.DEVICE_STATE_LIST,
                                                         timeout=DEVICE_LIST_TIMEOUT)
                break
            except AmiError as exc:
                log.warning("voice.device_states_unreadable", extra={"error": str(exc),
                                                                     "attempt": attempt})
        else:
            return
        by_device = {e.get("Device"): e.get("State") for e in states}
        wanted = extensions if extensions is not None else [
            s.device for s in self.deps.agents.sessions.values() if s.device]
        for extension in wanted:
            device = f"PJSIP/{self.deps.endpoint(extension)}"
            if self._changes.get(device) != before.get(device):
                continue
            state = by_device.get(device, "UNAVAILABLE")
            ok = self.usable(extension, state)
            was = {s.agent_id: s.device_ok for s in self.deps.agents.sessions.values()
                   if s.device == extension}
            self.deps.agents.device_health(extension, ok, registered=registered(state))
            for agent_id, old in was.items():
                if changed is not None and old != ok:
                    changed(agent_id, extension, ok)
