"""Supervisors listen to, whisper to or barge in on an agent's live call (ChanSpy)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from callcenter.ami.link import AmiEvent
from callcenter.voice import recipes
from callcenter.voice.base import VoiceDeps, VoiceError

log = logging.getLogger(__name__)

SPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


@dataclass
class SpySession:
    supervisor_id: str
    agent_id: str
    uid: str
    mode: str


class Supervisor:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        self._spies: dict[str, SpySession] = {}

    async def spy(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, str]:
        if mode not in SPY_OPTIONS:
            raise VoiceError(f"mode must be one of {', '.join(SPY_OPTIONS)}")
        deps = self.deps
        supervisor = deps.config().agent(supervisor_id)
        # The phone they signed in with (the browser's, say), else their desk extension.
        device = deps.agents.device_of(supervisor_id) or (supervisor and supervisor.extension)
        if supervisor is None or not device:
            raise VoiceError("the supervisor has no phone: sign in with one, or give them "
                             "an extension in agents.yaml")
        call = deps.book.of_agent(agent_id)
        if call is None or not call.agent_channel:
            raise VoiceError(f"{agent_id} is not on a call")
        options = SPY_OPTIONS[mode]
        current = self._spies.get(supervisor_id)
        if current is not None and current.agent_id == agent_id:
            current.mode = mode
            await deps.send(recipes.spy_mode(current.uid, options), "spy mode")
            return {"mode": mode, "agent_id": agent_id}
        uid = uuid.uuid4().hex
        self._spies[supervisor_id] = SpySession(supervisor_id, agent_id, uid, mode)
        await deps.link.action(recipes.originate_spy(
            endpoint=deps.endpoint(device), uid=uid,
            target_channel=call.agent_channel, options=options,
            caller_id=f'"{mode} {agent_id}" <spy>'))
        log.info("voice.spy", extra={"supervisor": supervisor_id, "agent": agent_id,
                                     "mode": mode})
        return {"mode": mode, "agent_id": agent_id}

    async def on_hangup(self, event: AmiEvent) -> None:
        uid = event.get("Uniqueid")
        for supervisor_id, spy in list(self._spies.items()):
            if spy.uid == uid:
                self._spies.pop(supervisor_id)
