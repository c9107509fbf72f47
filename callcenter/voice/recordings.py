"""Recording a connected call with MixMonitor, and archiving the files when it ends."""

from __future__ import annotations

import asyncio
import logging
import shutil

from callcenter.ami.link import AmiEvent
from callcenter.voice import recipes
from callcenter.voice.base import VoiceDeps
from callcenter.voice.calls import VoiceCall

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, deps: VoiceDeps) -> None:
        self.deps = deps
        # caller uid -> (task, [(recording id, Asterisk path)]) until the call ends
        self._files: dict[str, tuple[str, list[tuple[int, str]]]] = {}

    async def on_bridge_enter(self, event: AmiEvent) -> None:
        """Both sides are in the bridge: record (once per call, transfers included)."""
        uid = event.get("Uniqueid")
        book = self.deps.book
        call = book.by_caller(uid) or book.by_leg(uid)
        if call is None or not call.connected or call.recordings or call.callback:
            return
        if event.get("BridgeNumChannels") != "2":
            return
        policy = self.deps.config().queues[call.queue].recording
        if policy.enabled:
            await self._record(call, split=policy.split_legs)

    async def _record(self, call: VoiceCall, split: bool) -> None:
        deps = self.deps
        base = f"{deps.paths.recordings_spool.rstrip('/')}/{call.task_id}"
        files = [("mixed", f"{base}.wav")]
        if split:
            files += [("caller", f"{base}-caller.wav"), ("agent", f"{base}-agent.wav")]
        action = recipes.record(call.caller_uid, f"{base}.wav",
                                f"{base}-caller.wav" if split else None,
                                f"{base}-agent.wav" if split else None)
        if not await deps.send([action], "record"):
            return
        now = deps.clock()
        stored = []
        for leg, path in files:
            recording = await deps.store.add_recording(
                call.task_id, str(deps.paths.on_host(path)), leg=leg, started_at=now,
                status="recording")
            stored.append((recording.id, path))
            call.recordings.append(recording.id)
        self._files[call.caller_uid] = (call.task_id, stored)

    def finished(self, call: VoiceCall) -> None:
        entry = self._files.pop(call.caller_uid, None)
        if entry is not None:
            self.deps.in_background(self._archive(*entry))

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
