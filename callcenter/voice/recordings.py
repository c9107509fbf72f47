"""Recording a connected call or a dial-out (MixMonitor, started by the dialplan),
archiving the files."""

from __future__ import annotations

import asyncio
import logging
import shutil

from callcenter.config.models import RecordingPolicy
from callcenter.voice.base import VoiceDeps
from callcenter.voice.calls import VoiceCall

log = logging.getLogger(__name__)


class Recorder:
    """Each connection of a call to an agent is recorded (a transfer adds a second set
    of files to the same interaction); the files are archived when the call ends."""

    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        # caller uid -> [(task, [(recording id, Asterisk path)])] until the call ends
        self._files: dict[str, list[tuple[str, list[tuple[int, str]]]]] = {}

    async def plan(self, call: VoiceCall) -> tuple[str, bool] | None:
        """Where the connection the engine just accepted is recorded (Asterisk's path,
        without ``.wav``) and whether each direction gets its own file; None: not at all.

        The dialplan starts MixMonitor on the agent's leg with these (``recipes.verdict``);
        the rows are stored first, so a recording is never without its record.
        """
        policy = self.deps.config().queues[call.queue].recording
        if not policy.enabled or call.callback:
            return None
        return await self._plan(call.caller_uid, call.task_id, policy, call.recordings)

    async def plan_dialout(self, task_id: str) -> tuple[str, bool] | None:
        """Where a dial-out is recorded once the number answers (``cc-dialout-answer``),
        as callcenter.yaml's ``asterisk.outbound_recording`` says; None: not at all."""
        policy = self.deps.config().callcenter.asterisk.outbound_recording
        return await self._plan(task_id, task_id, policy, []) if policy.enabled else None

    async def _plan(self, key: str, task_id: str, policy: RecordingPolicy,
                    ids: list[int]) -> tuple[str, bool]:
        """The files' rows, stored before Asterisk is told to write them (``key``: what
        ends the recording: the caller's channel, or the dial-out)."""
        deps = self.deps
        sets = self._files.setdefault(key, [])
        name = task_id if not sets else f"{task_id}-{len(sets) + 1}"
        base = f"{deps.paths.recordings_spool.rstrip('/')}/{name}"
        files = [("mixed", f"{base}.wav")]
        if policy.split_legs:
            files += [("caller", f"{base}-caller.wav"), ("agent", f"{base}-agent.wav")]
        now = deps.clock()
        stored = []
        for leg, path in files:
            recording = await deps.store.add_recording(
                task_id, str(deps.paths.on_host(path)), leg=leg, started_at=now,
                status="recording")
            stored.append((recording.id, path))
            ids.append(recording.id)
        sets.append((task_id, stored))
        return base, policy.split_legs

    def finished(self, call: VoiceCall) -> None:
        self.finish(call.caller_uid)

    def finish(self, key: str) -> None:
        """The call that ``key`` names ended: archive its files."""
        for entry in self._files.pop(key, []):
            self.deps.in_background(self._archive(*entry))

    async def discard(self, key: str) -> None:
        """Nothing was recorded (a dial-out's number never answered): the rows go."""
        for _, files in self._files.pop(key, []):
            for recording_id, _ in files:
                await self.deps.store.delete_recording(recording_id)

    async def _archive(self, task_id: str, files: list[tuple[int, str]]) -> None:
        """After hangup MixMonitor flushes and closes its files; move them once they are still.

        Asterisk sends no event when a recording ends with the call (MixMonitorStop
        is only for StopMixMonitor), so a file that stopped growing is a finished one.
        """
        deps = self.deps
        sources = [deps.paths.on_host(path) for _, path in files]
        sizes: list[int] = []
        for _ in range(50):
            await asyncio.sleep(0.2)
            now_sizes = [p.stat().st_size if p.exists() else -1 for p in sources]
            if now_sizes == sizes:
                break
            sizes = now_sizes
        archive = deps.paths.recordings_archive
        archive.mkdir(parents=True, exist_ok=True)
        for (recording_id, _), source in zip(files, sources, strict=True):
            target = archive / source.name
            status, size = "missing", 0
            if source.exists():
                await asyncio.to_thread(shutil.move, source, target)
                status, size = "complete", target.stat().st_size
            else:
                log.error("voice.recording_missing", extra={"task": task_id})
            await deps.store.update_recording(recording_id, path=str(target), status=status,
                                              size=size, ended_at=deps.clock())
        deps.notifier.recording_complete(task_id)
